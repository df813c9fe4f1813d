"""The SQLAlchemy agents repository: the people who answer, their inbox sessions, and the
sign-in attempts counted against each login."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, literal, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.domain import Agent, AgentRole, SignInAttempt
from storage import records
from storage.columns import UtcDateTime
from storage.repositories.repository import Repository
from storage.tables import AgentRow, AgentSessionRow, HandoffRow, SignInAttemptRow

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
            created_at=created_at,
        )
        return records.agent(await self.store(row))

    async def get(self, agent_id: int) -> Agent | None:
        row = await self.session.get(AgentRow, agent_id)
        return records.agent(row) if row is not None and row.deleted_at is None else None

    async def credentials(self, business_id: int, email: str) -> tuple[Agent, str] | None:
        row = (
            await self.session.execute(
                select(AgentRow).where(
                    AgentRow.business_id == business_id, AgentRow.email == email, _ACTIVE
                )
            )
        ).scalar_one_or_none()
        return (records.agent(row), row.password_hash) if row is not None else None

    async def email_taken(self, business_id: int, email: str) -> bool:
        found = await self.session.scalar(
            select(AgentRow.id).where(AgentRow.business_id == business_id, AgentRow.email == email)
        )
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
            await self._set(agent_id, disabled_at=None)
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

    async def take_attempt(
        self, login_hash: str, *, now: datetime, limit: int, lockout: timedelta
    ) -> SignInAttempt:
        # One statement, so concurrent attempts each get a number of their own: the row is
        # locked from the read of its count to the write of the next.
        attempts = SignInAttemptRow.__table__.c
        fresh = attempts.locked_until.is_not(None) | (attempts.last_at <= now - lockout)
        number = case((fresh, literal(1)), else_=attempts.failures + 1)
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        statement = dialect.insert(SignInAttemptRow).values(
            login_hash=login_hash,
            failures=1,
            locked_until=now + lockout if limit <= 1 else None,
            last_at=now,
        )
        taken = (
            await self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=["login_hash"],
                    set_={
                        "failures": number,
                        "locked_until": case((number >= limit, now + lockout), else_=None),
                        "last_at": now,
                    },
                    where=attempts.locked_until.is_(None) | (attempts.locked_until <= now),
                ).returning(SignInAttemptRow.failures, SignInAttemptRow.locked_until)
            )
        ).one_or_none()
        if taken is not None:
            return SignInAttempt(allowed=True, number=taken[0], locked_until=taken[1])
        locked = await self.session.get(SignInAttemptRow, login_hash, populate_existing=True)
        assert locked is not None
        return SignInAttempt(
            allowed=False, number=locked.failures, locked_until=locked.locked_until
        )

    async def clear_attempts(self, login_hash: str) -> None:
        await self.session.execute(
            delete(SignInAttemptRow).where(SignInAttemptRow.login_hash == login_hash)
        )

    async def forget_attempts(self, *, before: datetime, limit: int) -> int:
        old = (
            select(SignInAttemptRow.login_hash)
            .where(
                SignInAttemptRow.last_at < before,
                SignInAttemptRow.locked_until.is_(None) | (SignInAttemptRow.locked_until < before),
            )
            .limit(limit)
        )
        gone = await self.session.execute(
            delete(SignInAttemptRow).where(SignInAttemptRow.login_hash.in_(old))
        )
        return int(gone.rowcount or 0)  # type: ignore[attr-defined]

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
