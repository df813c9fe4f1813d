"""SQLAlchemy repositories for agents, their inbox sessions, and handoffs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from bot.domain import Agent, AgentRole, Handoff
from storage.repositories.outbox import _Repository
from storage.tables import AgentRow, AgentSessionRow, HandoffRow, MessageRow


def _agent(row: AgentRow) -> Agent:
    return Agent(
        id=row.id,
        business_id=row.business_id,
        email=row.email,
        name=row.name,
        role=AgentRole(row.role),
        language=row.language,
        capacity=row.capacity,
        online=row.online,
        telegram_chat=row.telegram_chat,
        failed_logins=row.failed_logins,
        locked_until=row.locked_until,
    )


def _handoff(row: HandoffRow) -> Handoff:
    return Handoff(
        id=row.id,
        business_id=row.business_id,
        customer_id=row.customer_id,
        conversation_id=row.conversation_id,
        state=row.state,
        trigger=row.trigger,
        reason=row.reason,
        requested_at=row.requested_at,
        sla_due_at=row.sla_due_at,
        agent_id=row.agent_id,
        assigned_at=row.assigned_at,
        first_reply_at=row.first_reply_at,
        sla_noticed_at=row.sla_noticed_at,
        resolved_at=row.resolved_at,
        announced_at=row.announced_at,
        details=dict(row.details or {}),
    )


class SqlAgents(_Repository):
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
    ) -> Agent:
        row = AgentRow(
            business_id=business_id,
            email=email,
            name=name,
            role=role.value,
            language=language,
            password_hash=password_hash,
            capacity=capacity,
            online=False,
            failed_logins=0,
            created_at=created_at,
        )
        return _agent(await self._added(row))

    async def get(self, agent_id: int) -> Agent | None:
        row = await self.session.get(AgentRow, agent_id)
        return _agent(row) if row is not None else None

    async def credentials(self, email: str) -> tuple[Agent, str] | None:
        row = (
            await self.session.execute(select(AgentRow).where(AgentRow.email == email))
        ).scalar_one_or_none()
        return (_agent(row), row.password_hash) if row is not None else None

    async def list(self, business_id: int) -> Sequence[Agent]:
        rows = await self.session.execute(
            select(AgentRow).where(AgentRow.business_id == business_id).order_by(AgentRow.id)
        )
        return [_agent(r) for r in rows.scalars()]

    async def of_role(self, role: AgentRole) -> Sequence[Agent]:
        rows = await self.session.execute(
            select(AgentRow)
            .where(AgentRow.role == role.value)
            .order_by(AgentRow.business_id, AgentRow.id)
        )
        return [_agent(r) for r in rows.scalars()]

    async def set_password(self, agent_id: int, password_hash: str) -> None:
        await self._set(agent_id, password_hash=password_hash)

    async def record_login(
        self, agent_id: int, *, failed_logins: int, locked_until: datetime | None
    ) -> None:
        await self._set(agent_id, failed_logins=failed_logins, locked_until=locked_until)

    async def set_online(self, agent_id: int, online: bool, *, at: datetime) -> None:
        await self._set(agent_id, online=online, last_seen_at=at)

    async def lapsed(self, *, now: datetime, limit: int) -> Sequence[Agent]:
        sessions = select(AgentSessionRow.token_hash).where(AgentSessionRow.agent_id == AgentRow.id)
        rows = await self.session.execute(
            select(AgentRow)
            .where(
                AgentRow.online.is_(True),
                sessions.exists(),
                ~sessions.where(AgentSessionRow.expires_at > now).exists(),
            )
            .order_by(AgentRow.id)
            .limit(limit)
        )
        return [_agent(r) for r in rows.scalars()]

    async def set_profile(self, agent_id: int, *, capacity: int, role: AgentRole) -> None:
        await self._set(agent_id, capacity=capacity, role=role.value)

    async def set_language(self, agent_id: int, language: str) -> None:
        await self._set(agent_id, language=language)

    async def set_telegram_chat(self, agent_id: int, chat: str | None) -> None:
        await self._set(
            agent_id, telegram_chat=chat, telegram_link_hash=None, telegram_link_expires_at=None
        )

    async def set_telegram_link(
        self, agent_id: int, token_hash: str, *, expires_at: datetime
    ) -> None:
        await self._set(
            agent_id, telegram_link_hash=token_hash, telegram_link_expires_at=expires_at
        )

    async def by_telegram_link(
        self, business_id: int, token_hash: str, *, now: datetime
    ) -> Agent | None:
        row = (
            await self.session.execute(
                select(AgentRow).where(
                    AgentRow.business_id == business_id,
                    AgentRow.telegram_link_hash == token_hash,
                    AgentRow.telegram_link_expires_at > now,
                )
            )
        ).scalar_one_or_none()
        return _agent(row) if row is not None else None

    async def holding(self, business_id: int) -> Mapping[int, int]:
        """How many open handoffs each agent of the business holds (agents with none left out)."""
        rows = await self.session.execute(
            select(HandoffRow.agent_id, func.count())
            .where(
                HandoffRow.business_id == business_id,
                HandoffRow.is_open.is_(True),
                HandoffRow.agent_id.is_not(None),
            )
            .group_by(HandoffRow.agent_id)
        )
        return {agent: n for agent, n in rows.all() if agent is not None}

    async def add_session(
        self,
        token_hash: str,
        *,
        agent_id: int,
        csrf: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        self.session.add(
            AgentSessionRow(
                token_hash=token_hash,
                agent_id=agent_id,
                csrf=csrf,
                created_at=created_at,
                expires_at=expires_at,
            )
        )
        await self.session.flush()

    async def session_for(self, token_hash: str, *, now: datetime) -> tuple[Agent, str] | None:
        """The signed-in agent and the session's CSRF token, unless it expired."""
        found = (
            await self.session.execute(
                select(AgentRow, AgentSessionRow.csrf)
                .join(AgentSessionRow, AgentSessionRow.agent_id == AgentRow.id)
                .where(AgentSessionRow.token_hash == token_hash, AgentSessionRow.expires_at > now)
            )
        ).one_or_none()
        return (_agent(found[0]), found[1]) if found is not None else None

    async def drop_session(self, token_hash: str) -> None:
        await self.session.execute(
            delete(AgentSessionRow).where(AgentSessionRow.token_hash == token_hash)
        )

    async def _set(self, agent_id: int, **values: Any) -> None:
        await self.session.execute(update(AgentRow).where(AgentRow.id == agent_id).values(**values))


class SqlHandoffs(_Repository):
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
    ) -> Handoff:
        row = HandoffRow(
            business_id=business_id,
            customer_id=customer_id,
            conversation_id=conversation_id,
            state=state,
            is_open=True,
            trigger=trigger,
            reason=reason,
            details=details,
            requested_at=requested_at,
            sla_due_at=sla_due_at,
            updated_at=requested_at,
        )
        return _handoff(await self._added(row))

    async def get(self, business_id: int, handoff_id: int) -> Handoff | None:
        row = await self.session.get(HandoffRow, handoff_id)
        return _handoff(row) if row is not None and row.business_id == business_id else None

    async def open_for(self, conversation_id: uuid.UUID) -> Handoff | None:
        row = (
            await self.session.execute(
                select(HandoffRow).where(
                    HandoffRow.conversation_id == conversation_id, HandoffRow.is_open.is_(True)
                )
            )
        ).scalar_one_or_none()
        return _handoff(row) if row is not None else None

    async def save(self, handoff: Handoff, *, at: datetime) -> None:
        await self.session.execute(
            update(HandoffRow)
            .where(HandoffRow.id == handoff.id)
            .values(
                state=handoff.state,
                is_open=handoff.open,
                agent_id=handoff.agent_id,
                assigned_at=handoff.assigned_at,
                first_reply_at=handoff.first_reply_at,
                sla_noticed_at=handoff.sla_noticed_at,
                resolved_at=handoff.resolved_at,
                updated_at=at,
            )
        )

    async def list(
        self,
        business_id: int,
        *,
        open_only: bool = True,
        agent_id: int | None = None,
        customer_id: uuid.UUID | None = None,
        limit: int = 200,
    ) -> Sequence[Handoff]:
        query = select(HandoffRow).where(HandoffRow.business_id == business_id)
        if open_only:
            query = query.where(HandoffRow.is_open.is_(True))
        if agent_id is not None:
            query = query.where(HandoffRow.agent_id == agent_id)
        if customer_id is not None:
            query = query.where(HandoffRow.customer_id == customer_id)
        order = HandoffRow.requested_at.asc() if open_only else HandoffRow.requested_at.desc()
        rows = await self.session.execute(query.order_by(order, HandoffRow.id).limit(limit))
        return [_handoff(r) for r in rows.scalars()]

    async def overdue(self, *, now: datetime, limit: int) -> Sequence[Handoff]:
        """Open handoffs past their SLA with no reply from a person and no update sent yet."""
        rows = await self.session.execute(
            select(HandoffRow)
            .where(
                HandoffRow.is_open.is_(True),
                HandoffRow.first_reply_at.is_(None),
                HandoffRow.sla_noticed_at.is_(None),
                HandoffRow.sla_due_at <= now,
            )
            .order_by(HandoffRow.sla_due_at)
            .limit(limit)
        )
        return [_handoff(r) for r in rows.scalars()]

    async def note_announcement(
        self, handoff_id: int, *, summary: str | None, announced_at: datetime | None
    ) -> None:
        row = await self.session.get(HandoffRow, handoff_id)
        if row is None:
            return
        if summary:
            row.details = {**(row.details or {}), "summary": summary}
        if announced_at is not None:
            row.announced_at = announced_at
            row.updated_at = announced_at
        await self.session.flush()

    async def unannounced(self, *, before: datetime, limit: int) -> Sequence[Handoff]:
        rows = await self.session.execute(
            select(HandoffRow)
            .where(
                HandoffRow.is_open.is_(True),
                HandoffRow.announced_at.is_(None),
                HandoffRow.requested_at < before,
            )
            .order_by(HandoffRow.requested_at)
            .limit(limit)
        )
        return [_handoff(r) for r in rows.scalars()]

    async def last_assigned_agent(self, business_id: int) -> int | None:
        return (
            await self.session.execute(
                select(HandoffRow.agent_id)
                .where(HandoffRow.business_id == business_id, HandoffRow.assigned_at.is_not(None))
                .order_by(HandoffRow.assigned_at.desc(), HandoffRow.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def changes(self, business_id: int) -> str:
        """A marker that moves whenever a handoff or a message of the business changes."""
        handoffs = (
            await self.session.execute(
                select(func.max(HandoffRow.updated_at), func.count()).where(
                    HandoffRow.business_id == business_id
                )
            )
        ).one()
        message = (
            await self.session.execute(
                select(func.max(MessageRow.id)).where(MessageRow.business_id == business_id)
            )
        ).scalar_one()
        return f"{handoffs[0]}/{handoffs[1]}/{message}"
