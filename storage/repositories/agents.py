"""The SQLAlchemy agents repository: the people who answer, and their inbox sessions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, literal, select, true, update

from bot.domain import Agent, AgentRole
from storage import records
from storage.repositories.repository import Repository
from storage.tables import AgentRow, AgentSessionRow, HandoffRow, UtcDateTime

# A deleted agent's row stays for the name on their history, and is no one's login or team.
_KEPT = AgentRow.deleted_at.is_(None)
_ACTIVE = _KEPT & AgentRow.disabled_at.is_(None)
# The address a deleted agent's row keeps, so their own may be given to a new login.
DELETED_EMAIL = "deleted-{id}@deleted.invalid"


class SqlAgents(Repository):
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
        return records.agent(await self.store(row))

    async def get(self, agent_id: int) -> Agent | None:
        row = await self.session.get(AgentRow, agent_id)
        return records.agent(row) if row is not None and row.deleted_at is None else None

    async def credentials(self, email: str) -> tuple[Agent, str] | None:
        row = (
            await self.session.execute(select(AgentRow).where(AgentRow.email == email, _ACTIVE))
        ).scalar_one_or_none()
        return (records.agent(row), row.password_hash) if row is not None else None

    async def email_taken(self, email: str) -> bool:
        found = await self.session.scalar(select(AgentRow.id).where(AgentRow.email == email))
        return found is not None

    async def list(self, business_id: int) -> Sequence[Agent]:
        rows = await self.session.execute(
            select(AgentRow).where(AgentRow.business_id == business_id, _KEPT).order_by(AgentRow.id)
        )
        return [records.agent(r) for r in rows.scalars()]

    async def names(self, business_id: int) -> Mapping[int, str]:
        rows = await self.session.execute(
            select(AgentRow.id, AgentRow.name).where(AgentRow.business_id == business_id)
        )
        return {agent_id: name for agent_id, name in rows.all()}

    async def of_role(self, role: AgentRole) -> Sequence[Agent]:
        rows = await self.session.execute(
            select(AgentRow)
            .where(AgentRow.role == role.value, _ACTIVE)
            .order_by(AgentRow.business_id, AgentRow.id)
        )
        return [records.agent(r) for r in rows.scalars()]

    async def set_disabled(self, agent_id: int, at: datetime | None) -> None:
        if at is None:
            await self._set(agent_id, disabled_at=None, failed_logins=0, locked_until=None)
        else:
            await self._set(agent_id, disabled_at=at, online=False)

    async def remove(self, agent_id: int, *, at: datetime) -> None:
        await self._set(
            agent_id,
            deleted_at=at,
            disabled_at=func.coalesce(AgentRow.disabled_at, literal(at, UtcDateTime())),
            online=False,
            email=DELETED_EMAIL.format(id=agent_id),
            password_hash="",
            telegram_chat=None,
            telegram_link_hash=None,
            telegram_link_expires_at=None,
            alerts=None,
        )

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
        return [records.agent(r) for r in rows.scalars()]

    async def set_profile(self, agent_id: int, *, capacity: int, role: AgentRole) -> None:
        await self._set(agent_id, capacity=capacity, role=role.value)

    async def set_language(self, agent_id: int, language: str) -> None:
        await self._set(agent_id, language=language)

    async def set_telegram_chat(self, agent_id: int, chat: str | None) -> None:
        await self._set(
            agent_id, telegram_chat=chat, telegram_link_hash=None, telegram_link_expires_at=None
        )

    async def set_alerts(self, agent_id: int, alerts: Mapping[str, Any]) -> None:
        await self._set(agent_id, alerts=dict(alerts))

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
                    _ACTIVE,
                )
            )
        ).scalar_one_or_none()
        return records.agent(row) if row is not None else None

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
                .where(
                    AgentSessionRow.token_hash == token_hash,
                    AgentSessionRow.expires_at > now,
                    _ACTIVE,
                )
            )
        ).one_or_none()
        return (records.agent(found[0]), found[1]) if found is not None else None

    async def drop_session(self, token_hash: str) -> None:
        await self.session.execute(
            delete(AgentSessionRow).where(AgentSessionRow.token_hash == token_hash)
        )

    async def drop_sessions(self, agent_id: int, *, keep: str | None = None) -> None:
        others = AgentSessionRow.token_hash != keep if keep is not None else true()
        await self.session.execute(
            delete(AgentSessionRow).where(AgentSessionRow.agent_id == agent_id, others)
        )

    async def _set(self, agent_id: int, **values: Any) -> None:
        await self.session.execute(update(AgentRow).where(AgentRow.id == agent_id).values(**values))
