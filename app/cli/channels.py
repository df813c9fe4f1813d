"""`kesher telegram` and `kesher whatsapp`: a business's channels connected, disconnected, and
WhatsApp's approved templates set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from app.bootstrap import Runtime
from app.cli.process import console, errors, run
from bot.accounts.businesses import business_named
from bot.accounts.channels import (
    connect_telegram,
    connect_whatsapp,
    disconnect_telegram,
    disconnect_whatsapp,
    set_whatsapp_templates,
)

telegram_app = typer.Typer(help="A business's Telegram bot.", no_args_is_help=True)
whatsapp_app = typer.Typer(
    help="A business's WhatsApp sender, through Twilio.", no_args_is_help=True
)


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

    run(work)


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

    run(work)


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

    run(work)


@whatsapp_app.command("disconnect")
def whatsapp_disconnect(
    business: Annotated[str, typer.Option(help="the business's slug")],
) -> None:
    """Forget the Twilio credentials; webhooks for this business are refused until reconnected."""

    async def work(runtime: Runtime) -> None:
        found = await business_named(runtime.services.uow, business)
        await disconnect_whatsapp(runtime.services, found)
        console.print(f"disconnected WhatsApp from [bold]{found.slug}[/bold]")

    run(work)


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

    run(work)
