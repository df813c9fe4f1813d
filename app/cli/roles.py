"""The process roles: `kesher serve` (the web app, with the worker and the scheduler unless
told not to), `kesher worker` and `kesher scheduler` (distributed mode, on Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Annotated, Any

import typer
from taskiq.api import run_receiver_task, run_scheduler_task

from app.bootstrap import Runtime, ensure_demo
from app.cli.health import beating
from app.cli.process import configured, console, errors, need_redis, run
from app.settings import Settings
from app.tasks import scheduler_for
from bot.handoffs.first_admin import SetupLinks, businesses_without_admin

# Businesses without an admin whose setup links the banner prints; the rest are counted.
SETUP_LINKS_SHOWN = 5


def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="web role only (needs KESHER_REDIS_URL)")
    ] = False,
) -> None:
    """Run the web app, with the worker and the scheduler in the same process."""
    # The web stack (uvicorn, the pages and their templates) is imported by this command only:
    # every other `kesher` command starts without it.
    import uvicorn

    from app.web.app import create_app

    settings = configured()
    if no_worker:
        need_redis(settings, "serve --no-worker")
    # The port first: when it is taken nothing is made (no demo business, no key shown and lost).
    listening = bind(host, port)

    async def work(runtime: Runtime) -> None:
        demo_key = await ensure_demo(runtime) if settings.demo else None
        app = create_app(runtime, manage_runtime=False)
        setups = await issue_setup_links(runtime, app.state.setup_links)
        background: list[asyncio.Task[Any]] = []
        if not no_worker:
            background.append(
                asyncio.create_task(run_scheduler_task(scheduler_for(runtime.broker)))
            )
            if not settings.embedded:
                background.append(asyncio.create_task(run_receiver_task(runtime.broker)))
        _banner(
            settings, host=host, port=port, demo_key=demo_key, setups=setups, no_worker=no_worker
        )
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level=settings.log_level.lower(),
                proxy_headers=True,
                # Kesher's own access log (app/web/access_log.py) leaves out query strings.
                access_log=False,
            )
        )
        try:
            async with beating("serve"):
                await server.serve(sockets=[listening])
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    run(work, worker=not no_worker and not settings.embedded)


def bind(host: str, port: int) -> socket.socket:
    """A socket listening on host:port for uvicorn; a taken port ends the command (exit 1)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listening = socket.socket(family, socket.SOCK_STREAM)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
    except OSError as error:
        errors.print(
            f"[red]cannot listen on {host}:{port}: {error.strerror or error}. Is Kesher (or another "
            "program) already running there? Choose another with --port.[/red]"
        )
        raise typer.Exit(1) from None
    listening.set_inheritable(True)
    return listening


async def issue_setup_links(runtime: Runtime, links: SetupLinks) -> dict[str, str]:
    """A one-time setup token for each business that has no admin yet, by slug."""
    now = runtime.services.clock.now()
    async with runtime.services.uow() as uow:
        waiting = await businesses_without_admin(uow)
    return {b.slug: links.issue(b, now=now) for b in waiting}


def _banner(
    settings: Settings,
    *,
    host: str,
    port: int,
    demo_key: str | None,
    setups: dict[str, str],
    no_worker: bool,
) -> None:
    base = f"http://{'localhost' if host in ('0.0.0.0', '127.0.0.1') else host}:{port}"
    mode = "embedded (SQLite, in-process worker)" if settings.embedded else "distributed (Redis)"
    console.print(f"[bold]Kesher[/bold] on {base} — {mode}{', web role only' if no_worker else ''}")
    if settings.demo:
        console.print(
            f"  sandbox chat:  {base}/sandbox?business=demo&lang=he  (English: lang=en)",
            soft_wrap=True,
        )
    console.print(f"  agent inbox:   {base}/inbox")
    console.print(f"  console:       {base}/console")
    console.print(f"  API docs:      {base}/docs")
    console.print(f"  health:        {base}/healthz")
    if demo_key:
        console.print(
            f"  demo API key:  [bold]{demo_key}[/bold]\n"
            "                 (shown once; `kesher business key --business demo` makes a new one)"
        )
    shown = sorted(setups.items())[:SETUP_LINKS_SHOWN]
    for slug, token in shown:
        console.print(
            f"  first admin of {slug}: open [bold]{base}/console/setup?token={token}[/bold]\n"
            "                 (once, within an hour; a restart prints a new link)",
            soft_wrap=True,
        )
    if len(setups) > len(shown):
        console.print(
            f"  {len(setups) - len(shown)} more businesses have no admin: "
            "`kesher agent create --role admin --business SLUG`"
        )


def worker() -> None:
    """Run a taskiq worker on Redis (distributed mode)."""
    need_redis(configured(), "worker")

    async def work(runtime: Runtime) -> None:
        async with beating("worker"):
            await run_receiver_task(runtime.broker)

    run(work, worker=True)


def scheduler() -> None:
    """Run the scheduler (exactly one per deployment, distributed mode)."""
    need_redis(configured(), "scheduler")

    async def work(runtime: Runtime) -> None:
        async with beating("scheduler"):
            await run_scheduler_task(scheduler_for(runtime.broker))

    run(work)
