"""The SQLAlchemy events repository: what happened to a customer, only ever appended (and moved
whole to the survivor when two records merge)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, update

from bot.domain import Event, EventKind, NewEvent
from storage import records
from storage.repositories.repository import Repository
from storage.tables import EventRow

# The kinds of event that count as a complaint against the business.
COMPLAINTS = (EventKind.FRUSTRATION_DETECTED, EventKind.HANDOFF_REQUESTED)

_EVENTS = cast(Table, EventRow.__table__)
_EVENT_INSERT = insert(_EVENTS).returning(_EVENTS.c.id)


class SqlEvents(Repository):
    async def add(
        self,
        business_id: int,
        customer_id: uuid.UUID,
        *,
        kind: str,
        occurred_at: datetime,
        data: Mapping[str, Any] | None = None,
    ) -> Event:
        # A plain INSERT: an event is only ever appended, so the ORM's flush has nothing to do.
        stored = dict(data or {})
        event_id = await self.session.scalar(
            _EVENT_INSERT,
            {
                "business_id": business_id,
                "customer_id": customer_id,
                "kind": kind,
                "occurred_at": occurred_at,
                "data": stored,
            },
        )
        assert event_id is not None
        return Event(
            id=event_id, customer_id=customer_id, kind=kind, occurred_at=occurred_at, data=stored
        )

    async def add_many(
        self, business_id: int, events: Sequence[NewEvent], *, occurred_at: datetime
    ) -> None:
        if not events:
            return
        await self.session.execute(
            insert(EventRow),
            [
                {
                    "business_id": business_id,
                    "customer_id": e.customer_id,
                    "kind": e.kind,
                    "occurred_at": occurred_at,
                    "data": dict(e.data),
                }
                for e in events
            ],
        )

    async def for_customer(self, customer_id: uuid.UUID, *, limit: int) -> Sequence[Event]:
        rows = await self.session.scalars(
            select(EventRow)
            .where(EventRow.customer_id == customer_id)
            .order_by(EventRow.occurred_at.desc(), EventRow.id.desc())
            .limit(limit)
        )
        return [records.event(r) for r in reversed(rows.all())]

    async def reassign_customer(self, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
        """Give every event of one customer to another (a merge); how many moved."""
        result = await self.session.execute(
            update(EventRow).where(EventRow.customer_id == from_id).values(customer_id=to_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
