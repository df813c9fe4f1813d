"""Repositories of the people who take over: agents with their sessions, and handoffs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.domain import (
    Agent,
    AgentRole,
    Handoff,
    SignInAttempt,
)


class AgentRepository(Protocol):
    async def add(
        self,
        business_id: int,
        *,
        email: str,
        name: str,
        role: AgentRole,
        language: str,
        password_hash: str,
        capacity: int,
        created_at: datetime,
    ) -> Agent: ...

    async def get(self, agent_id: int) -> Agent | None:
        """The agent, disabled or not; None once deleted."""
        ...

    async def credentials(self, business_id: int, email: str) -> tuple[Agent, str] | None:
        """The business's agent with this email and their password hash, if they may sign in
        (neither disabled nor deleted)."""
        ...

    async def email_taken(self, business_id: int, email: str) -> bool:
        """Whether an agent of the business (disabled included) has this email as their login."""
        ...

    async def list(self, business_id: int) -> Sequence[Agent]:
        """The business's team, disabled agents included, deleted ones not."""
        ...

    async def names(self, business_id: int) -> Mapping[int, str]:
        """Every agent's name by id, deleted ones included: who wrote what stays known."""
        ...

    async def of_role(self, role: AgentRole) -> Sequence[Agent]:
        """Every business's active agents of `role`, by business."""
        ...

    async def set_disabled(self, agent_id: int, at: datetime | None) -> None:
        """Disable the agent from `at` (offline, no sign-in), or enable them again (None)."""
        ...

    async def remove(self, agent_id: int, *, at: datetime) -> None:
        """Delete the agent: only their name is kept, for their history; their email is free
        for a new login."""
        ...

    async def set_password(self, agent_id: int, password_hash: str) -> None: ...

    async def take_attempt(
        self, login_hash: str, *, now: datetime, limit: int, lockout: timedelta
    ) -> SignInAttempt:
        """Count a sign-in attempt against the login before its password is checked, in one
        atomic step: refused while the login is locked; the `limit`-th failure in a row locks
        it for `lockout`; a lock that ended, or a quiet `lockout`, starts the count again."""
        ...

    async def clear_attempts(self, login_hash: str) -> None:
        """The login signed in (or its password was reset): its count starts again."""
        ...

    async def forget_attempts(self, *, before: datetime, limit: int) -> int:
        """Drop up to `limit` counts untouched and unlocked since `before`; how many."""
        ...

    async def set_online(self, agent_id: int, online: bool, *, at: datetime) -> None: ...

    async def lapsed(self, *, now: datetime, limit: int) -> Sequence[Agent]:
        """Online agents who signed in to the inbox and whose every session has expired (an
        agent put online through the API, with no session, is not one)."""
        ...

    async def set_profile(self, agent_id: int, *, capacity: int, role: AgentRole) -> None: ...

    async def set_language(self, agent_id: int, language: str) -> None: ...

    async def set_telegram_chat(self, agent_id: int, chat: str | None) -> None:
        """Link (or unlink) the agent's own Telegram chat; any pending link is used up."""
        ...

    async def set_alerts(self, agent_id: int, alerts: Mapping[str, Any]) -> None:
        """Keep the agent's alert preferences (`flows.staff_alerts`)."""
        ...

    async def set_telegram_link(
        self, agent_id: int, token_hash: str, *, expires_at: datetime
    ) -> None: ...

    async def by_telegram_link(
        self, business_id: int, token_hash: str, *, now: datetime
    ) -> Agent | None:
        """The agent of the business whose unexpired Telegram link this is."""
        ...

    async def holding(self, business_id: int) -> Mapping[int, int]: ...

    async def add_session(
        self,
        token_hash: str,
        *,
        agent_id: int,
        csrf: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> None: ...

    async def session_for(self, token_hash: str, *, now: datetime) -> tuple[Agent, str] | None: ...

    async def drop_session(self, token_hash: str) -> None: ...

    async def drop_sessions(self, agent_id: int, *, keep: str | None = None) -> None:
        """Sign the agent out everywhere (but the session whose token hash is `keep`)."""
        ...


class HandoffRepository(Protocol):
    async def add(
        self,
        business_id: int,
        *,
        customer_id: uuid.UUID,
        conversation_id: uuid.UUID,
        state: str,
        trigger: str,
        reason: str,
        details: dict[str, Any],
        requested_at: datetime,
        sla_due_at: datetime,
    ) -> Handoff: ...

    async def get(self, business_id: int, handoff_id: int) -> Handoff | None: ...

    async def open_for(self, conversation_id: uuid.UUID) -> Handoff | None: ...

    async def save(self, handoff: Handoff, *, at: datetime) -> None: ...

    async def list(
        self,
        business_id: int,
        *,
        open_only: bool = True,
        agent_id: int | None = None,
        customer_id: uuid.UUID | None = None,
        limit: int = 200,
    ) -> Sequence[Handoff]: ...

    async def overdue(self, *, now: datetime, limit: int) -> Sequence[Handoff]: ...

    async def due_soon(self, *, now: datetime, within: timedelta, limit: int) -> Sequence[Handoff]:
        """Open handoffs with no reply from a person whose SLA ends after `now` and within
        `within` of it."""
        ...

    async def noticed(self, *, since: datetime, until: datetime, limit: int) -> Sequence[Handoff]:
        """Open handoffs that passed their SLA (and were noticed) between `since` and `until`."""
        ...

    async def note_announcement(
        self, handoff_id: int, *, summary: str | None, announced_at: datetime | None
    ) -> None:
        """Keep the language model's summary in the handoff's details; with `announced_at`,
        the agents were told and the tick stops retrying."""
        ...

    async def unannounced(self, *, before: datetime, limit: int) -> Sequence[Handoff]:
        """Open handoffs requested before `before` whose agents were not yet told."""
        ...

    async def last_assigned_agent(self, business_id: int) -> int | None: ...

    async def changes(self, business_id: int) -> str:
        """A marker that moves whenever the inbox has something new to show: a handoff, a
        message, or anything on a customer's timeline (a conversation relabelled, reassigned,
        snoozed, resolved)."""
        ...

    async def reassign_customer(self, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
        """Give every handoff of one customer to another (a merge); how many moved."""
        ...

    async def reassign_conversations(
        self, conversation_ids: Sequence[uuid.UUID], to_id: uuid.UUID
    ) -> int:
        """Give the handoffs of these conversations to another customer (a chat moved by a deep
        link); how many moved."""
        ...
