"""`kesher agent`: inbox logins for the agents who answer handoffs: made, listed, a password
reset, disabled, enabled again, deleted."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated

import typer
from rich.markup import escape

from app.bootstrap import Runtime
from app.cli.process import console, errors, run
from bot.accounts.businesses import business_named
from bot.domain import Agent, AgentRole, Business, NotFound
from bot.handoffs.agents import create_agent, reset_password
from bot.handoffs.offboarding import delete_agent, disable_agent, enable_agent
from bot.ports import UnitOfWork

# Who did it, in the audit log.
CLI_ACTOR = "cli"

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
    """List the business's agents: email, name, role, and whether online or disabled."""

    async def work(runtime: Runtime) -> None:
        found = await business_named(runtime.services.uow, business)
        async with runtime.services.uow() as uow:
            agents = await uow.agents.list(found.id)
        rows = [
            {
                "email": a.email,
                "name": a.name,
                "role": a.role.value,
                "online": a.online,
                "disabled": not a.active,
            }
            for a in agents
        ]
        if as_json:
            print(json.dumps(rows, ensure_ascii=False))
            return
        for row in rows:
            state = "  disabled" if row["disabled"] else "  online" if row["online"] else ""
            console.print(
                f"{escape(str(row['email']))}\t{escape(str(row['name']))}\t{row['role']}{state}",
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


async def _agent_named(uow: UnitOfWork, business: Business, email: str) -> Agent:
    wanted = email.strip().lower()
    found = next((a for a in await uow.agents.list(business.id) if a.email == wanted), None)
    if found is None:
        raise NotFound(f"no agent {email!r} in {business.slug}", code="agent_not_found")
    return found


def _offboard(business: str, email: str, step: Callable[..., Awaitable[object]], said: str) -> None:
    """Disable, enable or delete the business's agent with this email; `said` names them."""

    async def work(runtime: Runtime) -> None:
        found = await business_named(runtime.services.uow, business)
        async with runtime.services.uow() as uow:
            agent = await _agent_named(uow, found, email)
            await step(uow, found, agent.id, actor=CLI_ACTOR, now=runtime.services.clock.now())
            await uow.commit()
        console.print(said.format(escape(agent.email)))

    run(work)


@agent_app.command("disable")
def agent_disable(
    business: Annotated[str, typer.Option(help="the business's slug")],
    email: Annotated[str, typer.Option(help="the agent's email")],
) -> None:
    """Disable an agent: signed out at once, no sign-in; their handoffs go to colleagues or
    the queue, their conversations back to the queue."""
    _offboard(business, email, disable_agent, "disabled [bold]{}[/bold]; signed out everywhere")


@agent_app.command("enable")
def agent_enable(
    business: Annotated[str, typer.Option(help="the business's slug")],
    email: Annotated[str, typer.Option(help="the agent's email")],
) -> None:
    """Let a disabled agent sign in again."""
    _offboard(business, email, enable_agent, "enabled [bold]{}[/bold]")


@agent_app.command("delete")
def agent_delete(
    business: Annotated[str, typer.Option(help="the business's slug")],
    email: Annotated[str, typer.Option(help="the agent's email")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask to confirm")] = False,
) -> None:
    """Delete an agent for good: their login goes, their name stays on what they wrote."""
    if not yes and not typer.confirm(f"delete the agent {email} of {business} for good?"):
        raise typer.Exit(1)

    _offboard(
        business, email, delete_agent, "deleted [bold]{}[/bold]; their history keeps the name"
    )
