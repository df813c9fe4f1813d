"""`kesher db`: the database schema."""

from __future__ import annotations

import asyncio

import typer

from app.cli.process import configured, console

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    from storage.schema import upgrade  # Alembic only for this command (see Runtime.start)

    settings = configured()
    asyncio.run(upgrade(settings.database_url))
    console.print("database is at the newest schema")
