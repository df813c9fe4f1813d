"""The SQLAlchemy conversations repository: a customer's exchanges on one identity."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, insert, or_, select, union, update
from sqlalchemy.orm import aliased

from bot.domain import (
    ChannelName,
    Conversation,
    ConversationMode,
    ConversationStatus,
    Direction,
    NewConversation,
    QueuedConversation,
    QueueFilter,
    WokenConversation,
)
from storage import records
from storage.repositories.repository import Repository
from storage.tables import ConversationRow, CustomerRow, IdentityRow, MessageRow


class SqlConversations(Repository):
    async def add(
        self, business_id: int, *, customer_id: uuid.UUID, identity_id: int, started_at: datetime
    ) -> Conversation:
        row = ConversationRow(
            id=uuid.uuid4(),
            business_id=business_id,
            customer_id=customer_id,
            identity_id=identity_id,
            mode=ConversationMode.BOT.value,
            is_open=True,
            started_at=started_at,
            last_message_at=started_at,
        )
        return records.conversation(await self.store(row))

    async def add_many(
        self, business_id: int, openings: Sequence[NewConversation], *, started_at: datetime
    ) -> Sequence[Conversation]:
        if not openings:
            return []
        # The ids are made here, so the insert needs no RETURNING.
        opened = [
            Conversation(
                id=uuid.uuid4(),
                customer_id=o.customer_id,
                identity_id=o.identity_id,
                mode=ConversationMode.BOT,
                open=True,
                started_at=started_at,
                last_message_at=started_at,
            )
            for o in openings
        ]
        await self.session.execute(
            insert(ConversationRow),
            [
                {
                    "id": c.id,
                    "business_id": business_id,
                    "customer_id": c.customer_id,
                    "identity_id": c.identity_id,
                    "mode": c.mode.value,
                    "is_open": True,
                    "started_at": started_at,
                    "last_message_at": started_at,
                }
                for c in opened
            ],
        )
        return opened

    async def open_for(self, identity_id: int) -> Conversation | None:
        row = await self.session.scalar(
            select(ConversationRow)
            .where(ConversationRow.identity_id == identity_id, ConversationRow.is_open.is_(True))
            .order_by(ConversationRow.started_at.desc())
            .limit(1)
        )
        return records.conversation(row) if row else None

    async def find(self, business_id: int, conversation_id: uuid.UUID) -> Conversation | None:
        row = await self.session.scalar(
            select(ConversationRow).where(
                ConversationRow.id == conversation_id, ConversationRow.business_id == business_id
            )
        )
        return records.conversation(row) if row else None

    async def get(self, conversation_id: uuid.UUID) -> Conversation:
        return records.conversation(await self.session.get_one(ConversationRow, conversation_id))

    async def set_last_message(self, conversation_id: uuid.UUID, *, at: datetime) -> None:
        await self.session.execute(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(last_message_at=at)
        )

    async def set_mode(self, conversation_id: uuid.UUID, mode: ConversationMode) -> None:
        await self.session.execute(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(mode=mode.value)
        )

    async def close(self, conversation_id: uuid.UUID, *, at: datetime) -> None:
        await self.session.execute(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(is_open=False, closed_at=at)
        )

    async def set_standing(
        self,
        conversation_id: uuid.UUID,
        status: ConversationStatus | None,
        *,
        at: datetime,
        auto_answered: bool = False,
        snoozed_until: datetime | None = None,
    ) -> None:
        await self.session.execute(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(
                status=status.value if status else None,
                status_at=at,
                auto_answered=auto_answered,
                snoozed_until=snoozed_until,
            )
        )

    async def add_unread(self, conversation_id: uuid.UUID) -> None:
        await self.session.execute(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(unread=ConversationRow.unread + 1)
        )

    async def mark_read(self, conversation_id: uuid.UUID) -> None:
        await self.session.execute(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id, ConversationRow.unread != 0)
            .values(unread=0)
        )

    async def assign(self, conversation_id: uuid.UUID, agent_id: int | None) -> None:
        await self.session.execute(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(assignee_id=agent_id)
        )

    async def unassign_all(self, agent_id: int) -> int:
        result = await self.session.execute(
            update(ConversationRow)
            .where(
                ConversationRow.assignee_id == agent_id,
                or_(
                    ConversationRow.status.is_(None),
                    ConversationRow.status != ConversationStatus.RESOLVED.value,
                ),
            )
            .values(assignee_id=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def set_labels(self, conversation_id: uuid.UUID, labels: Sequence[str]) -> None:
        await self.session.execute(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(labels=records.stored_labels(labels))
        )

    async def wake(self, *, now: datetime) -> Sequence[WokenConversation]:
        rows = await self.session.execute(
            update(ConversationRow)
            .where(
                ConversationRow.status == ConversationStatus.SNOOZED.value,
                ConversationRow.snoozed_until <= now,
            )
            .values(status=ConversationStatus.OPEN.value, status_at=now, snoozed_until=None)
            .returning(ConversationRow.id, ConversationRow.business_id, ConversationRow.customer_id)
        )
        return [WokenConversation(i, b, c) for i, b, c in rows]

    async def ahead_of(self, business_id: int, *, waiting_since: datetime) -> int:
        count = await self.session.scalar(
            select(func.count()).where(
                ConversationRow.business_id == business_id,
                ConversationRow.status == ConversationStatus.OPEN.value,
                ConversationRow.status_at < waiting_since,
            )
        )
        return int(count or 0)

    async def queue(
        self,
        business_id: int,
        chosen: QueueFilter,
        *,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None = None,
    ) -> Sequence[QueuedConversation]:
        rows = await self.session.execute(
            queue_statement(business_id, chosen, limit=limit, after=after)
        )
        return [
            QueuedConversation(
                conversation=records.conversation(row),
                customer_name=name,
                address=address,
                channel=ChannelName(channel),
                last_text=text,
            )
            for row, name, address, channel, text in rows
        ]

    async def counts(
        self, business_id: int, *, assignee: int | None = None
    ) -> Mapping[ConversationStatus, tuple[int, int]]:
        conditions = [
            ConversationRow.business_id == business_id,
            ConversationRow.status.is_not(None),
        ]
        if assignee is not None:
            conditions.append(ConversationRow.assignee_id == assignee)
        rows = await self.session.execute(
            select(
                ConversationRow.status,
                func.count(),
                func.count().filter(ConversationRow.unread > 0),
            )
            .where(*conditions)
            .group_by(ConversationRow.status)
        )
        return {ConversationStatus(str(s)): (int(n), int(u)) for s, n, u in rows}

    async def reassign_customer(self, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
        """Give every conversation of one customer to another (a merge); how many moved."""
        result = await self.session.execute(
            update(ConversationRow)
            .where(ConversationRow.customer_id == from_id)
            .values(customer_id=to_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def reassign_identity(self, identity_id: int, to_id: uuid.UUID) -> list[uuid.UUID]:
        """Give every conversation on one channel identity to another customer (a chat moved
        by a deep link); their ids."""
        ids = list(
            await self.session.scalars(
                select(ConversationRow.id).where(ConversationRow.identity_id == identity_id)
            )
        )
        if ids:
            await self.session.execute(
                update(ConversationRow).where(ConversationRow.id.in_(ids)).values(customer_id=to_id)
            )
        return ids


def queue_statement(
    business_id: int,
    chosen: QueueFilter,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> Select[ConversationRow, str | None, str, str, str | None]:
    """The query behind a queue view (public for the benchmark's EXPLAIN)."""
    last_text = (
        select(MessageRow.text)
        .where(
            MessageRow.conversation_id == ConversationRow.id,
            MessageRow.direction == Direction.IN.value,
        )
        .order_by(MessageRow.id.desc())
        .limit(1)
        .correlate(ConversationRow)
        .scalar_subquery()
    )
    return (
        select(
            ConversationRow,
            CustomerRow.name,
            IdentityRow.address,
            IdentityRow.channel,
            last_text,
        )
        .join(CustomerRow, CustomerRow.id == ConversationRow.customer_id)
        .join(IdentityRow, IdentityRow.id == ConversationRow.identity_id)
        .where(*_chosen(business_id, chosen), *_after(after))
        .order_by(ConversationRow.last_message_at.desc(), ConversationRow.id)
        .limit(limit)
    )


def _after(after: tuple[datetime, uuid.UUID] | None) -> list[ColumnElement[bool]]:
    """The rows past the last one seen, in the list's order (latest message first, then id)."""
    if after is None:
        return []
    at, conversation_id = after
    return [
        (ConversationRow.last_message_at < at)
        | ((ConversationRow.last_message_at == at) & (ConversationRow.id > conversation_id))
    ]


def _chosen(business_id: int, chosen: QueueFilter) -> list[ColumnElement[bool]]:
    """The WHERE of a queue view: one business and status, and the agent's filters."""
    conditions: list[ColumnElement[bool]] = [
        ConversationRow.business_id == business_id,
        ConversationRow.status == chosen.status.value,
    ]
    if chosen.assignee is not None:
        conditions.append(ConversationRow.assignee_id == chosen.assignee)
    if chosen.unassigned:
        conditions.append(ConversationRow.assignee_id.is_(None))
    if chosen.channel is not None:
        conditions.append(IdentityRow.channel == chosen.channel.value)
    if chosen.label:
        conditions.append(ConversationRow.labels.contains(f",{chosen.label},", autoescape=True))
    if chosen.search:
        conditions.append(_found(business_id, chosen.search))
    return conditions


def _found(business_id: int, term: str) -> ColumnElement[bool]:
    """The conversations whose customer's name, address or any message holds `term`: one
    set of ids from the three, each read on its own (on PostgreSQL from its trigram index),
    so the matches are found first and only they are looked up in the queue."""
    by_name, by_address = aliased(ConversationRow), aliased(ConversationRow)
    found = union(
        select(MessageRow.conversation_id).where(
            MessageRow.business_id == business_id,
            MessageRow.text.icontains(term, autoescape=True),
        ),
        select(by_name.id)
        .join(CustomerRow, CustomerRow.id == by_name.customer_id)
        .where(
            CustomerRow.business_id == business_id,
            CustomerRow.name.icontains(term, autoescape=True),
        ),
        select(by_address.id)
        .join(IdentityRow, IdentityRow.id == by_address.identity_id)
        .where(
            IdentityRow.business_id == business_id,
            IdentityRow.address.icontains(term, autoescape=True),
        ),
    )
    return ConversationRow.id.in_(found)
