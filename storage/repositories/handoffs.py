"""The SQLAlchemy handoffs repository: conversations handed to a person."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from bot.domain import Handoff
from storage import records
from storage.repositories.repository import Repository
from storage.tables import EventRow, HandoffRow, MessageRow


class SqlHandoffs(Repository):
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
        return records.handoff(await self.store(row))

    async def get(self, business_id: int, handoff_id: int) -> Handoff | None:
        row = await self.session.get(HandoffRow, handoff_id)
        return records.handoff(row) if row is not None and row.business_id == business_id else None

    async def open_for(self, conversation_id: uuid.UUID) -> Handoff | None:
        row = (
            await self.session.execute(
                select(HandoffRow).where(
                    HandoffRow.conversation_id == conversation_id, HandoffRow.is_open.is_(True)
                )
            )
        ).scalar_one_or_none()
        return records.handoff(row) if row is not None else None

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
        return [records.handoff(r) for r in rows.scalars()]

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
        return [records.handoff(r) for r in rows.scalars()]

    async def due_soon(self, *, now: datetime, within: timedelta, limit: int) -> Sequence[Handoff]:
        rows = await self.session.execute(
            select(HandoffRow)
            .where(
                HandoffRow.is_open.is_(True),
                HandoffRow.first_reply_at.is_(None),
                HandoffRow.sla_due_at > now,
                HandoffRow.sla_due_at <= now + within,
            )
            .order_by(HandoffRow.sla_due_at)
            .limit(limit)
        )
        return [records.handoff(r) for r in rows.scalars()]

    async def noticed(self, *, since: datetime, until: datetime, limit: int) -> Sequence[Handoff]:
        rows = await self.session.execute(
            select(HandoffRow)
            .where(
                HandoffRow.is_open.is_(True),
                HandoffRow.sla_noticed_at >= since,
                HandoffRow.sla_noticed_at < until,
            )
            .order_by(HandoffRow.sla_noticed_at)
            .limit(limit)
        )
        return [records.handoff(r) for r in rows.scalars()]

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
        return [records.handoff(r) for r in rows.scalars()]

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
        """A marker that moves whenever a handoff or a message of the business changes, or
        anything is written on a customer's timeline (a conversation assigned, labelled,
        snoozed, resolved, ...)."""
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
        event = (
            await self.session.execute(
                select(func.max(EventRow.id)).where(EventRow.business_id == business_id)
            )
        ).scalar_one()
        return f"{handoffs[0]}/{handoffs[1]}/{message}/{event}"

    async def reassign_customer(self, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
        """Give every handoff of one customer to another (a merge); how many moved."""
        result = await self.session.execute(
            update(HandoffRow).where(HandoffRow.customer_id == from_id).values(customer_id=to_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def reassign_conversations(
        self, conversation_ids: Sequence[uuid.UUID], to_id: uuid.UUID
    ) -> int:
        """Give the handoffs of these conversations to another customer (a chat moved by a deep
        link); how many moved."""
        result = await self.session.execute(
            update(HandoffRow)
            .where(HandoffRow.conversation_id.in_(conversation_ids))
            .values(customer_id=to_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
