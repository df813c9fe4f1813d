"""`kesher db`: the database schema."""

from __future__ import annotations

import asyncio

import typer
from rich.markup import escape

from app.cli.process import configured, console, errors
from app.secret_keys import secret_keys
from bot.domain import KesherError

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    from storage.schema import upgrade  # Alembic only for this command (see Runtime.start)

    settings = configured()
    try:
        keys = secret_keys(settings)
    except KesherError as error:
        errors.print(f"[red]{escape(error.message)}[/red]")
        raise typer.Exit(2) from None
    asyncio.run(upgrade(settings.database_url, secret_keys=keys))
    console.print("database is at the newest schema")
