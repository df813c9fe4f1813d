"""What every command runs in: the settings (a bad one ends the command with its message),
the runtime built, started and stopped around the command's work, and its errors printed."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable

import typer
from rich.console import Console
from rich.markup import escape

from app.bootstrap import Runtime, build
from app.settings import Settings, load_settings
from bot.checkins.configuration import DefinitionError
from bot.domain import KesherError
from bot.telemetry import configure_logging

console = Console()
errors = Console(stderr=True)


def configured() -> Settings:
    """The settings, logging set up by them; a bad one ends the command (exit 2) naming it."""
    try:
        settings = load_settings()
    except KesherError as error:
        errors.print(f"[red]{error.message}[/red]")
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, as_json=settings.log_format == "json")
    return settings


def run(work: Callable[[Runtime], Awaitable[None]], *, worker: bool = False) -> None:
    """The work on a started runtime, stopped after it; a refusal is printed (exit 1)."""
    settings = configured()

    async def go() -> None:
        runtime = build(settings)
        await runtime.start(worker=worker)
        # What start-up made lives as long as the process: out of the collector's sight, a full
        # collection no longer walks it and stalls the event loop (up to 0.3 s in a worker,
        # time in which paced sends fall due together and leave in a burst).
        gc.freeze()
        try:
            await work(runtime)
        finally:
            await runtime.stop()

    try:
        with asyncio.Runner(loop_factory=event_loop()) as runner:
            runner.run(go())
    except DefinitionError as error:
        for problem in error.problems:
            errors.print(f"[red]{escape(problem)}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    except KesherError as error:
        errors.print(f"[red]{escape(error.message)}[/red]")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass


def event_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (uvicorn's standard extras bring it on Linux): its sockets
    and callbacks cost the web process and the workers much less CPU a round trip."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def need_redis(settings: Settings, role: str) -> None:
    if settings.redis_url is None:
        errors.print(
            f"[red]`kesher {role}` is a distributed role and needs KESHER_REDIS_URL; "
            "without it `kesher serve` runs everything in one process.[/red]"
        )
        raise typer.Exit(2)
