"""`kesher schedules`: check-in schedules, custom flows and contact rules saved from YAML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.markup import escape

from app.bootstrap import Runtime
from app.cli.process import console, errors, run
from bot.accounts.businesses import business_named
from bot.checkins.configuration import apply_document

schedules_app = typer.Typer(
    help="Check-in schedules, flows and contact rules.", no_args_is_help=True
)


@schedules_app.command("apply")
def schedules_apply(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="YAML with rules, flows and schedules", exists=True),
    ],
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

    run(work)


@schedules_app.command("list")
def schedules_list(
    business: Annotated[str, typer.Option(help="the business's slug")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List the business's schedules: name, flow, when, and whether each is active."""

    async def work(runtime: Runtime) -> None:
        found = await business_named(runtime.services.uow, business)
        async with runtime.services.uow() as uow:
            schedules = await uow.schedules.list(found.id)
        rows = [
            {
                "name": s.name,
                "flow": s.flow,
                "when": s.definition.get("when"),
                "active": s.active,
            }
            for s in schedules
        ]
        if as_json:
            print(json.dumps(rows, ensure_ascii=False, default=str))
            return
        for row in rows:
            paused = "" if row["active"] else "  (paused)"
            when = escape(json.dumps(row["when"], ensure_ascii=False, default=str))
            console.print(
                f"{escape(str(row['name']))}\t{row['flow']}\t{when}{paused}", highlight=False
            )

    run(work)
