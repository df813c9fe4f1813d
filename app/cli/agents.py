"""`kesher agent`: inbox logins for the agents who answer handoffs."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.markup import escape

from app.bootstrap import Runtime
from app.cli.process import console, errors, run
from bot.accounts.businesses import business_named
from bot.domain import AgentRole
from bot.handoffs.agents import create_agent, reset_password

agent_app = typer.Typer(help="Agents who answer handoffs in the inbox.", no_args_is_help=True)


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
                passwords=runtime.services.passwords,
                now=runtime.services.clock.now(),
            )
            await uow.commit()
        console.print(
            f"created {agent.role.value} [bold]{escape(agent.email)}[/bold] for {found.slug}; "
            f"sign in at {runtime.settings.public_base()}/inbox"
        )

    run(work)


@agent_app.command("list")
def agent_list(
    business: Annotated[str, typer.Option(help="the business's slug")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List the business's agents: email, name, role, and whether they are online."""

    async def work(runtime: Runtime) -> None:
        found = await business_named(runtime.services.uow, business)
        async with runtime.services.uow() as uow:
            agents = await uow.agents.list(found.id)
        rows = [
            {"email": a.email, "name": a.name, "role": a.role.value, "online": a.online}
            for a in agents
        ]
        if as_json:
            print(json.dumps(rows, ensure_ascii=False))
            return
        for row in rows:
            online = "  online" if row["online"] else ""
            console.print(
                f"{escape(str(row['email']))}\t{escape(str(row['name']))}\t{row['role']}{online}",
                highlight=False,
            )

    run(work)


@agent_app.command("password")
def agent_password(
    business: Annotated[str, typer.Option(help="the business's slug")],
    email: Annotated[str, typer.Option(help="the agent's email")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the new password from stdin")
    ] = False,
) -> None:
    """Set a new password for an agent (an admin's reset); they are signed out everywhere."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)

    async def work(runtime: Runtime) -> None:
        found = await business_named(runtime.services.uow, business)
        async with runtime.services.uow() as uow:
            agent = await reset_password(
                uow, found, email, password, passwords=runtime.services.passwords
            )
            await uow.commit()
        console.print(f"new password set for [bold]{escape(agent.email)}[/bold]; signed out")

    run(work)
