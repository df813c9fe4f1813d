"""`kesher customers`: a business's customers imported from CSV."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from app.bootstrap import Runtime
from app.cli.process import console, errors, run
from bot.accounts.businesses import business_named
from bot.accounts.customers import csv_rows, decode_csv, import_customers

customers_app = typer.Typer(help="Customers of a business.", no_args_is_help=True)


@customers_app.command("import")
def customers_import(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help="UTF-8 CSV with a header row", exists=True, dir_okay=False
        ),
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

    run(work)
