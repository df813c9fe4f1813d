"""`kesher customers` (or `kesher customer`): a business's customers imported from CSV, found by
phone, name or reference, and two records of one person merged."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress

from app.bootstrap import Runtime
from app.cli.business import BUSINESS
from app.cli.process import console, errors, run
from bot.accounts.businesses import business_named
from bot.accounts.customers import csv_rows, decode_csv, import_customers, search_customers
from bot.accounts.merge import likely_duplicates, merge_customers
from bot.domain import Customer

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


def _row(customer: Customer) -> dict[str, Any]:
    return {
        "id": str(customer.id),
        "name": customer.name,
        "phone": customer.phone,
        "external_id": customer.external_id,
        "opted_out": customer.opted_out,
    }


def _line(customer: Customer) -> str:
    return (
        f"{customer.id}  {escape(customer.name or '-')}  {customer.phone or '-'}"
        f"  {escape(customer.external_id or '-')}"
    )


@customers_app.command("find")
def customers_find(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="a phone, name, id or external id")],
    business: Annotated[str, BUSINESS],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Find customers by a phone in any form (054-…, +972…), a part of the name, their id or
    your external id; newest first."""

    async def work(runtime: Runtime) -> None:
        found = await business_named(runtime.services.uow, business)
        async with runtime.services.uow() as uow:
            customers = await search_customers(uow, found, text, limit=50)
        if as_json:
            print(json.dumps([_row(c) for c in customers], ensure_ascii=False))
            return
        for customer in customers:
            console.print(_line(customer))
        if not customers:
            errors.print("no customer found")

    run(work)


@customers_app.command("duplicates")
def customers_duplicates(
    business: Annotated[str, BUSINESS],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Customers who may be one person (the same phone, e-mail, or external id in another
    form), for you to confirm with `merge`; Kesher never merges them on its own."""

    async def work(runtime: Runtime) -> None:
        found = await business_named(runtime.services.uow, business)
        async with runtime.services.uow() as uow:
            groups = await likely_duplicates(uow, found, limit=200)
        if as_json:
            rows = [
                {"reason": g.reason, "value": g.value, "customers": [_row(c) for c in g.customers]}
                for g in groups
            ]
            print(json.dumps(rows, ensure_ascii=False))
            return
        for group in groups:
            console.print(f"[bold]{group.reason}[/bold] {escape(group.value)}")
            for customer in group.customers:
                console.print(f"  {_line(customer)}")

    run(work)


@customers_app.command("merge")
def customers_merge(
    survivor: Annotated[str, typer.Argument(metavar="SURVIVOR", help="the id of the one kept")],
    other: Annotated[str, typer.Argument(metavar="OTHER", help="the id of the one that goes")],
    business: Annotated[str, BUSINESS],
    preview: Annotated[
        bool, typer.Option("--preview", help="say what would happen; change nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Merge OTHER into SURVIVOR: identities, messages, conversations, events and notes,
    answers, check-ins and handoffs move to SURVIVOR in one transaction; OTHER is deleted and
    the audit log keeps the merge."""
    ids = []
    for given in (survivor, other):
        try:
            ids.append(uuid.UUID(given))
        except ValueError:
            errors.print(f"[red]'{escape(given)}' is not a customer id[/red]")
            raise typer.Exit(2) from None

    async def work(runtime: Runtime) -> None:
        services = runtime.services
        found = await business_named(services.uow, business)
        async with services.uow() as uow:
            done = await merge_customers(
                uow, found, ids[0], ids[1], actor="cli", now=services.clock.now(), preview=preview
            )
            if not preview:
                await uow.commit()
        if as_json:
            print(
                json.dumps(
                    {
                        "survivor": _row(done.survivor),
                        "merged_id": str(done.other.id),
                        "moved": dict(done.moved),
                        "preview": done.preview,
                    },
                    ensure_ascii=False,
                )
            )
            return
        verb = "would move" if preview else "moved"
        console.print(f"{verb} to {_line(done.survivor)}: {_counts(done.moved)}")
        if preview:
            console.print("nothing changed (without --preview the merge is done)")
        else:
            console.print(f"customer {done.other.id} merged and deleted; the audit log keeps it")

    run(work)


def _counts(moved: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in moved.items())
