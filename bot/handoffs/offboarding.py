"""Offboarding an agent: disabled (signed out everywhere at once, their handoffs given to
colleagues or back to the queue, their conversations back to the queue), enabled again, or
deleted (their row keeps only the name, so their messages and notes still say who wrote them);
and a new password an admin sets. Each is written in the audit log with who did it.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain import Agent, AgentRole, Business, InvalidInput, NotFound
from bot.handoffs import service as handoffs
from bot.handoffs.agents import reset_password
from bot.ports import PasswordHasher, UnitOfWork

# The audit log's actions.
DISABLED = "agent_disabled"
ENABLED = "agent_enabled"
DELETED = "agent_deleted"
PASSWORD_RESET = "agent_password_reset"


async def agent_of(uow: UnitOfWork, business: Business, agent_id: int) -> Agent:
    """One of the business's agents (disabled or not); NotFound for anyone else's, or deleted."""
    agent = await uow.agents.get(agent_id)
    if agent is None or agent.business_id != business.id:
        raise NotFound(f"no agent {agent_id}", code="agent_not_found")
    return agent


async def disable_agent(
    uow: UnitOfWork,
    business: Business,
    agent_id: int,
    *,
    actor: str,
    now: datetime,
    by: Agent | None = None,
) -> Agent:
    """The agent can no longer sign in, and is signed out at once; what they held goes on."""
    agent = await agent_of(uow, business, agent_id)
    if not agent.active:
        return agent
    await _may_offboard(uow, business, agent, by=by, doing="disable")
    await uow.agents.set_disabled(agent.id, now)
    await _let_go(uow, business, agent, now=now)
    await _audit(uow, business, agent, action=DISABLED, actor=actor, now=now)
    return await agent_of(uow, business, agent.id)


async def enable_agent(
    uow: UnitOfWork, business: Business, agent_id: int, *, actor: str, now: datetime
) -> Agent:
    """A disabled agent may sign in again, with the password they had (or one reset)."""
    agent = await agent_of(uow, business, agent_id)
    if agent.active:
        return agent
    await uow.agents.set_disabled(agent.id, None)
    await _audit(uow, business, agent, action=ENABLED, actor=actor, now=now)
    return await agent_of(uow, business, agent.id)


async def delete_agent(
    uow: UnitOfWork,
    business: Business,
    agent_id: int,
    *,
    actor: str,
    now: datetime,
    by: Agent | None = None,
) -> None:
    """Disable the agent for good: their login, Telegram link and alert settings go, their
    email is free for a new login, their name stays on what they wrote and resolved."""
    agent = await agent_of(uow, business, agent_id)
    if agent.active:
        await _may_offboard(uow, business, agent, by=by, doing="delete")
        await _let_go(uow, business, agent, now=now)
    await uow.agents.remove(agent.id, at=now)
    await _audit(uow, business, agent, action=DELETED, actor=actor, now=now)


async def reset_agent_password(
    uow: UnitOfWork,
    business: Business,
    agent_id: int,
    password: str,
    *,
    actor: str,
    now: datetime,
    passwords: PasswordHasher,
) -> Agent:
    """An admin's new password for the agent; they are signed out everywhere."""
    agent = await agent_of(uow, business, agent_id)
    changed = await reset_password(uow, business, agent.email, password, passwords=passwords)
    await _audit(uow, business, agent, action=PASSWORD_RESET, actor=actor, now=now)
    return changed


async def _may_offboard(
    uow: UnitOfWork, business: Business, agent: Agent, *, by: Agent | None, doing: str
) -> None:
    if by is not None and by.id == agent.id:
        raise InvalidInput(
            f"you cannot {doing} your own login; ask another admin", code="own_login"
        )
    if agent.role is AgentRole.ADMIN:
        admins = [
            a for a in await uow.agents.list(business.id) if a.role is AgentRole.ADMIN and a.active
        ]
        if len(admins) == 1:
            raise InvalidInput(
                f"the business needs at least one admin; make another admin before you {doing}"
                " this one",
                code="last_admin",
            )


async def _let_go(uow: UnitOfWork, business: Business, agent: Agent, *, now: datetime) -> None:
    """Signed out everywhere, offline (their handoffs to colleagues or the queue), their
    conversations unassigned."""
    await uow.agents.drop_sessions(agent.id)
    await handoffs.set_online(uow, business, agent, False, now=now)
    await uow.conversations.unassign_all(agent.id)


async def _audit(
    uow: UnitOfWork, business: Business, agent: Agent, *, action: str, actor: str, now: datetime
) -> None:
    await uow.audit.add(
        business.id,
        at=now,
        actor=actor,
        action=action,
        subject=f"agent:{agent.id}",
        details={"name": agent.name},
    )
