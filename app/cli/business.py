"""`kesher business`: businesses (tenants) created, their API keys and consent words."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape

from app.bootstrap import Runtime
from app.cli.process import console, run
from bot.accounts.businesses import business_named, create_business, issue_key, set_consent_words

business_app = typer.Typer(help="Businesses (tenants).", no_args_is_help=True)


@business_app.command("create")
def business_create(
    slug: Annotated[
        str, typer.Option(metavar="SLUG", help="short name used in URLs, e.g. cafe-dizengoff")
    ],
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

    run(work)


BUSINESS = typer.Option("--business", "--slug", metavar="SLUG", help="the business's slug")


@business_app.command("list")
def business_list(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List every business: slug, name and whether the sandbox is on."""

    async def work(runtime: Runtime) -> None:
        async with runtime.services.uow() as uow:
            found = await uow.businesses.all()
        rows = [{"slug": b.slug, "name": b.name, "sandbox": b.sandbox_enabled} for b in found]
        if as_json:
            print(json.dumps(rows, ensure_ascii=False))
            return
        for row in rows:
            sandbox = "  (sandbox)" if row["sandbox"] else ""
            console.print(f"{row['slug']}\t{escape(str(row['name']))}{sandbox}", highlight=False)

    run(work)


@business_app.command("key")
def business_key(
    slug: Annotated[str, BUSINESS],
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

    run(work)


@business_app.command("consent-words")
def business_consent_words(
    slug: Annotated[str, BUSINESS],
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

    run(work)
