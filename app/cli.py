"""The `kesher` command: serve, worker, scheduler, db and business administration."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from taskiq.api import run_receiver_task, run_scheduler_task

from app.bootstrap import Runtime, build, ensure_demo
from app.settings import Settings, load_settings
from app.tasks import scheduler_for
from app.web.app import create_app
from bot.accounts.businesses import business_named, create_business, issue_key, set_consent_words
from bot.accounts.channels import (
    connect_telegram,
    connect_whatsapp,
    disconnect_telegram,
    disconnect_whatsapp,
    set_whatsapp_templates,
)
from bot.accounts.customers import csv_rows, decode_csv, import_customers
from bot.checkins.configuration import DefinitionError, apply_document
from bot.detection.batch import LANGUAGES, detect_lines
from bot.detection.shipped import default_detector
from bot.domain import AgentRole, KesherError
from bot.handoffs.agents import create_agent
from bot.telemetry import configure_logging
from storage.schema import upgrade

app = typer.Typer(help="Kesher: keep in touch with your customers.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
business_app = typer.Typer(help="Businesses (tenants).", no_args_is_help=True)
customers_app = typer.Typer(help="Customers of a business.", no_args_is_help=True)
schedules_app = typer.Typer(
    help="Check-in schedules, flows and contact rules.", no_args_is_help=True
)
telegram_app = typer.Typer(help="A business's Telegram bot.", no_args_is_help=True)
whatsapp_app = typer.Typer(
    help="A business's WhatsApp sender, through Twilio.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(telegram_app, name="telegram")
app.add_typer(whatsapp_app, name="whatsapp")
app.add_typer(business_app, name="business")
app.add_typer(customers_app, name="customers")
app.add_typer(schedules_app, name="schedules")
agent_app = typer.Typer(help="Agents who answer handoffs in the inbox.", no_args_is_help=True)
app.add_typer(agent_app, name="agent")
console = Console()
errors = Console(stderr=True)


def main() -> None:
    app()


def _settings() -> Settings:
    try:
        settings = load_settings()
    except KesherError as error:
        errors.print(f"[red]{error.message}[/red]")
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, as_json=settings.log_format == "json")
    return settings


def _run(work: Callable[[Runtime], Awaitable[None]], *, worker: bool = False) -> None:
    settings = _settings()

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
        with asyncio.Runner(loop_factory=_event_loop()) as runner:
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


def _event_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (uvicorn's standard extras bring it on Linux): its sockets
    and callbacks cost the web process and the workers much less CPU a round trip."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _need_redis(settings: Settings, role: str) -> None:
    if settings.redis_url is None:
        errors.print(
            f"[red]`kesher {role}` is a distributed role and needs KESHER_REDIS_URL; "
            "without it `kesher serve` runs everything in one process.[/red]"
        )
        raise typer.Exit(2)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="web role only (needs KESHER_REDIS_URL)")
    ] = False,
) -> None:
    """Run the web app, with the worker and the scheduler in the same process."""
    settings = _settings()
    if no_worker:
        _need_redis(settings, "serve --no-worker")

    async def work(runtime: Runtime) -> None:
        demo_key = await ensure_demo(runtime) if settings.demo else None
        background: list[asyncio.Task[Any]] = []
        if not no_worker:
            background.append(
                asyncio.create_task(run_scheduler_task(scheduler_for(runtime.broker)))
            )
            if not settings.embedded:
                background.append(asyncio.create_task(run_receiver_task(runtime.broker)))
        _banner(settings, host=host, port=port, demo_key=demo_key, no_worker=no_worker)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(runtime, manage_runtime=False),
                host=host,
                port=port,
                log_level=settings.log_level.lower(),
                proxy_headers=True,
            )
        )
        try:
            await server.serve()
        finally:
            for task in background:
                task.cancel()
            for task in background:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    _run(work, worker=not no_worker and not settings.embedded)


def _banner(
    settings: Settings, *, host: str, port: int, demo_key: str | None, no_worker: bool
) -> None:
    base = f"http://{'localhost' if host in ('0.0.0.0', '127.0.0.1') else host}:{port}"
    mode = "embedded (SQLite, in-process worker)" if settings.embedded else "distributed (Redis)"
    console.print(f"[bold]Kesher[/bold] on {base} — {mode}{', web role only' if no_worker else ''}")
    console.print(f"  sandbox chat:  {base}/sandbox?business=demo&lang=he  (English: lang=en)")
    console.print(f"  API docs:      {base}/docs")
    console.print(f"  health:        {base}/healthz")
    if demo_key:
        console.print(
            f"  demo API key:  [bold]{demo_key}[/bold]\n"
            "                 (shown once; `kesher business key --slug demo` makes a new one)"
        )


@app.command()
def worker() -> None:
    """Run a taskiq worker on Redis (distributed mode)."""
    _need_redis(_settings(), "worker")

    async def work(runtime: Runtime) -> None:
        await run_receiver_task(runtime.broker)

    _run(work, worker=True)


@app.command()
def scheduler() -> None:
    """Run the scheduler (exactly one per deployment, distributed mode)."""
    _need_redis(_settings(), "scheduler")

    async def work(runtime: Runtime) -> None:
        await run_scheduler_task(scheduler_for(runtime.broker))

    _run(work)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    settings = _settings()
    asyncio.run(upgrade(settings.database_url))
    console.print("database is at the newest schema")


@business_app.command("create")
def business_create(
    slug: Annotated[str, typer.Option(help="short name used in URLs, e.g. cafe-dizengoff")],
    name: Annotated[str, typer.Option(help="the name customers see")],
    sandbox: Annotated[bool, typer.Option("--sandbox", help="turn the sandbox channel on")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Create a business and print its admin API key (shown once)."""

    async def work(runtime: Runtime) -> None:
        services = runtime.services
        async with services.uow() as uow:
            business, api_key = await create_business(
                uow, slug, name=name, sandbox=sandbox, now=services.clock.now()
            )
            await uow.commit()
        if as_json:
            print(json.dumps({"slug": business.slug, "api_key": api_key}))
        else:
            console.print(f"created business [bold]{business.slug}[/bold] ({business.name})")
            console.print(f"API key (shown once): [bold]{api_key}[/bold]")

    _run(work)


@business_app.command("key")
def business_key(
    slug: Annotated[str, typer.Option(help="the business's slug")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Issue a new admin API key for a business (older keys keep working)."""

    async def work(runtime: Runtime) -> None:
        services = runtime.services
        business = await business_named(services.uow, slug)
        async with services.uow() as uow:
            api_key = await issue_key(uow, business, now=services.clock.now())
            await uow.commit()
        if as_json:
            print(json.dumps({"slug": slug, "api_key": api_key}))
        else:
            console.print(f"new API key for [bold]{slug}[/bold]: [bold]{api_key}[/bold]")

    _run(work)


@customers_app.command("import")
def customers_import(
    file: Annotated[
        Path, typer.Argument(help="UTF-8 CSV with a header row", exists=True, dir_okay=False)
    ],
    business: Annotated[str, typer.Option(help="the business's slug")],
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Import customers; bad rows are reported by line number and the good rows kept."""

    async def work(runtime: Runtime) -> None:
        services = runtime.services
        text = decode_csv(file.read_bytes())
        found = await business_named(services.uow, business)
        total = max(text.count("\n") - 1, 0)
        with Progress(console=errors, transient=as_json) as bar:
            task = bar.add_task("importing", total=total)
            report = await import_customers(
                services.uow,
                found,
                csv_rows(text),
                now=services.clock.now,
                progress=lambda n: bar.advance(task, n),
            )
        if as_json:
            print(json.dumps(dataclasses.asdict(report), ensure_ascii=False))
            return
        console.print(
            f"created {report.created}, updated {report.updated}, bad rows {len(report.errors)}"
        )
        for error in report.errors[:50]:
            console.print(f"  line {error.line}: {error.message}")
        if len(report.errors) > 50:
            console.print(f"  … and {len(report.errors) - 50} more (use --json for all)")

    _run(work)


@schedules_app.command("apply")
def schedules_apply(
    file: Annotated[Path, typer.Argument(help="YAML with rules, flows and schedules", exists=True)],
    business: Annotated[str, typer.Option(help="the business's slug")],
) -> None:
    """Save a YAML file of schedules, custom flows and contact rules, all or nothing."""
    try:
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        errors.print(f"[red]{file}: not readable YAML: {escape(str(error))}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None

    async def work(runtime: Runtime) -> None:
        services = runtime.services
        found = await business_named(services.uow, business)
        async with services.uow() as uow:
            saved = await apply_document(uow, found, document, now=services.clock.now())
            await uow.commit()
        console.print(f"saved {saved['flows']} flows and {saved['schedules']} schedules")

    _run(work)


@telegram_app.command("connect")
def telegram_connect(
    business: Annotated[str, typer.Option(help="the business's slug")],
    token: Annotated[str, typer.Option(help="the bot token from @BotFather")],
) -> None:
    """Store the bot token and a new webhook secret; point the bot's webhook at Kesher."""

    async def work(runtime: Runtime) -> None:
        found = await business_named(runtime.services.uow, business)
        account = await connect_telegram(
            runtime.services, found, token=token, public_base=runtime.settings.public_base()
        )
        console.print(
            f"connected @{account.settings.get('username')} to [bold]{found.slug}[/bold]; "
            f"webhook {account.settings.get('webhook_url')}"
        )

    _run(work)


@telegram_app.command("disconnect")
def telegram_disconnect(
    business: Annotated[str, typer.Option(help="the business's slug")],
) -> None:
    """Remove the bot's webhook and forget its token."""

    async def work(runtime: Runtime) -> None:
        found = await business_named(runtime.services.uow, business)
        account = await disconnect_telegram(runtime.services, found)
        console.print(f"disconnected Telegram from [bold]{found.slug}[/bold]")
        if account.last_error:
            errors.print(f"[yellow]Telegram said: {account.last_error}[/yellow]")

    _run(work)


@business_app.command("consent-words")
def business_consent_words(
    slug: Annotated[str, typer.Option(help="the business's slug")],
    opt_out: Annotated[
        list[str] | None, typer.Option(help="an extra opt-out word or phrase (repeatable)")
    ] = None,
    opt_in: Annotated[
        list[str] | None, typer.Option(help="an extra opt-in word or phrase (repeatable)")
    ] = None,
) -> None:
    """Set the business's own opt-out/opt-in words, on top of STOP, הסר, START, התחל, ..."""

    async def work(runtime: Runtime) -> None:
        found = await business_named(runtime.services.uow, slug)
        async with runtime.services.uow() as uow:
            out, back = await set_consent_words(
                uow, found, opt_out=opt_out or [], opt_in=opt_in or []
            )
            await uow.commit()
        console.print(f"opt-out: {', '.join(out) or '-'}")
        console.print(f"opt-in:  {', '.join(back) or '-'}")

    _run(work)


@whatsapp_app.command("templates")
def whatsapp_templates(
    business: Annotated[str, typer.Option(help="the business's slug")],
    file: Annotated[
        Path | None,
        typer.Option(help="YAML: kind → language → Content SID or {sid, variables}"),
    ] = None,
    template: Annotated[
        list[str] | None,
        typer.Option(help="KIND:LANGUAGE=HX... (repeatable), instead of or on top of --file"),
    ] = None,
) -> None:
    """Set the approved Content templates used outside WhatsApp's 24-hour window."""
    raw: dict[str, Any] = {}
    if file is not None:
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            errors.print(f"[red]cannot read {file}: {error}[/red]")
            raise typer.Exit(2) from None
        if not isinstance(loaded, dict):
            errors.print(f"[red]{file}: templates must be a mapping of message kind to languages")
            raise typer.Exit(2)
        raw = loaded
    for given in template or []:
        where, _, sid = given.partition("=")
        kind, _, language = where.partition(":")
        raw.setdefault(kind.strip(), {})[language.strip()] = sid.strip()
    if not raw:
        errors.print("[red]give --file or at least one --template KIND:LANGUAGE=HX...[/red]")
        raise typer.Exit(2)

    async def work(runtime: Runtime) -> None:
        found = await business_named(runtime.services.uow, business)
        account = await set_whatsapp_templates(runtime.services, found, raw)
        for kind, languages in account.settings["templates"].items():
            for language, chosen in languages.items():
                console.print(f"{kind:15} {language}  {chosen['sid']}  {chosen['variables']}")

    _run(work)


@whatsapp_app.command("disconnect")
def whatsapp_disconnect(
    business: Annotated[str, typer.Option(help="the business's slug")],
) -> None:
    """Forget the Twilio credentials; webhooks for this business are refused until reconnected."""

    async def work(runtime: Runtime) -> None:
        found = await business_named(runtime.services.uow, business)
        await disconnect_whatsapp(runtime.services, found)
        console.print(f"disconnected WhatsApp from [bold]{found.slug}[/bold]")

    _run(work)


@app.command()
def detect(
    lang: Annotated[
        str, typer.Option("--lang", help="auto (by script, per message), he or en")
    ] = "auto",
    sensitivity: Annotated[
        str, typer.Option(help="sensitive, balanced or conservative")
    ] = "balanced",
) -> None:
    """Score JSON lines {"id", "text"} from stdin for frustration, offline; JSON lines out."""
    if lang not in LANGUAGES:
        errors.print(f"[red]--lang must be one of {', '.join(LANGUAGES)}[/red]")
        raise typer.Exit(2)
    try:
        detector = default_detector(sensitivity)
    except ValueError:
        errors.print("[red]--sensitivity must be sensitive, balanced or conservative[/red]")
        raise typer.Exit(2) from None
    for line in detect_lines(sys.stdin, detector=detector, language=lang):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


@whatsapp_app.command("connect")
def whatsapp_connect(
    business: Annotated[str, typer.Option(help="the business's slug")],
    account_sid: Annotated[str, typer.Option(help="the Twilio Account SID (AC...)")],
    auth_token: Annotated[str, typer.Option(help="the Twilio Auth Token")],
    sender: Annotated[str, typer.Option(help="the WhatsApp sender, whatsapp:+972...")],
    mps: Annotated[
        int | None,
        typer.Option(
            help="the sender's messages a second, 1-400 (default: the one set before, else 80)"
        ),
    ] = None,
) -> None:
    """Store the Twilio credentials and sender; print the two webhook URLs to paste into Twilio."""

    async def work(runtime: Runtime) -> None:
        found = await business_named(runtime.services.uow, business)
        account = await connect_whatsapp(
            runtime.services,
            found,
            account_sid=account_sid,
            auth_token=auth_token,
            sender=sender,
            public_base=runtime.settings.public_base(),
            mps=mps,
        )
        console.print(
            f"connected {account.settings.get('sender')} to [bold]{found.slug}[/bold]"
            f" at {account.settings.get('mps')} messages a second"
        )
        console.print("paste into Twilio (method POST):")
        console.print(f"  A message comes in:   {account.settings.get('webhook_url')}")
        console.print(f"  Status callback URL:  {account.settings.get('status_url')}")

    _run(work)


@agent_app.command("create")
def agent_create(
    business: Annotated[str, typer.Option(help="the business's slug")],
    email: Annotated[str, typer.Option(help="the agent's email, their login")],
    name: Annotated[str, typer.Option(help="the name customers and colleagues see")],
    role: Annotated[AgentRole, typer.Option(help="admins also get late-handoff alerts")] = (
        AgentRole.AGENT
    ),
    language: Annotated[str | None, typer.Option(help="inbox language, he or en")] = None,
    capacity: Annotated[int, typer.Option(help="open handoffs at once")] = 5,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin")
    ] = False,
) -> None:
    """Create an inbox login (the password is asked for, or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if language not in (None, "he", "en"):
        errors.print("[red]language: must be he or en[/red]")
        raise typer.Exit(2)

    async def work(runtime: Runtime) -> None:
        found = await business_named(runtime.services.uow, business)
        async with runtime.services.uow() as uow:
            agent = await create_agent(
                uow,
                found,
                email=email,
                name=name,
                password=password,
                role=role,
                language=language,
                capacity=capacity,
                now=runtime.services.clock.now(),
            )
            await uow.commit()
        console.print(
            f"created {agent.role.value} [bold]{escape(agent.email)}[/bold] for {found.slug}; "
            f"sign in at {runtime.settings.public_base()}/inbox"
        )

    _run(work)
