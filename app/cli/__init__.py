"""The `kesher` command: serve, worker, scheduler, db, secrets and business administration."""

from __future__ import annotations

import typer

from app.cli.agents import agent_app
from app.cli.business import business_app
from app.cli.channels import telegram_app, whatsapp_app
from app.cli.customers import customers_app
from app.cli.database import db_app
from app.cli.detection import detect
from app.cli.health import health
from app.cli.roles import scheduler, serve, worker
from app.cli.schedules import schedules_app
from app.cli.secrets import secrets_app
from app.cli.style import conventional

conventional()
app = typer.Typer(help="Kesher: keep in touch with your customers.", no_args_is_help=True)
for command in (serve, worker, scheduler, detect, health):
    app.command()(command)
app.add_typer(db_app, name="db")
app.add_typer(telegram_app, name="telegram")
app.add_typer(whatsapp_app, name="whatsapp")
app.add_typer(business_app, name="business")
app.add_typer(customers_app, name="customers")
app.add_typer(customers_app, name="customer", hidden=True)
app.add_typer(schedules_app, name="schedules")
app.add_typer(agent_app, name="agent")
app.add_typer(secrets_app, name="secrets")


def main() -> None:
    app()
