"""The SQLAlchemy messages repository: what was said, its delivery status and its scores."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select, update

from bot.domain import (
    ChannelName,
    Choice,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    NewMessage,
    SentReceipt,
)
from storage import records
from storage.repositories.repository import Repository
from storage.tables import ConversationRow, MessageRow


class SqlMessages(Repository):
    async def add(
        self,
        business_id: int,
        *,
        conversation: Conversation,
        direction: Direction,
        channel: ChannelName,
        text: str,
        status: DeliveryStatus,
        created_at: datetime,
        choices: Sequence[Choice] = (),
        channel_message_id: str | None = None,
        reply_to_id: int | None = None,
        frustration: float | None = None,
        frustration_reasons: Sequence[str] = (),
    ) -> Message:
        row = MessageRow(
            business_id=business_id,
            conversation_id=conversation.id,
            customer_id=conversation.customer_id,
            direction=direction.value,
            channel=channel.value,
            text=text,
            choices=[{"id": c.id, "label": c.label} for c in choices],
            status=status.value,
            channel_message_id=channel_message_id,
            reply_to_id=reply_to_id,
            created_at=created_at,
            status_at=created_at,
            frustration=frustration,
            frustration_reasons=list(frustration_reasons) if frustration is not None else None,
        )
        return records.message(await self.store(row))

    async def add_many(
        self,
        business_id: int,
        messages: Sequence[NewMessage],
        *,
        direction: Direction,
        status: DeliveryStatus,
        created_at: datetime,
    ) -> Sequence[int]:
        if not messages:
            return []
        ids = await self.session.scalars(
            insert(MessageRow).returning(MessageRow.id, sort_by_parameter_order=True),
            [
                {
                    "business_id": business_id,
                    "conversation_id": m.conversation_id,
                    "customer_id": m.customer_id,
                    "direction": direction.value,
                    "channel": m.channel.value,
                    "text": m.text,
                    "choices": [{"id": c.id, "label": c.label} for c in m.choices],
                    "status": status.value,
                    "channel_message_id": None,
                    "reply_to_id": None,
                    "created_at": created_at,
                    "status_at": created_at,
                }
                for m in messages
            ],
        )
        return list(ids)

    async def get(self, message_id: int) -> Message:
        return records.message(await self.session.get_one(MessageRow, message_id))

    async def find_inbound(self, identity_id: int, channel_message_id: str) -> Message | None:
        row = await self.session.scalar(
            select(MessageRow)
            .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
            .where(
                ConversationRow.identity_id == identity_id,
                MessageRow.direction == Direction.IN.value,
                MessageRow.channel_message_id == channel_message_id,
            )
            .order_by(MessageRow.id.desc())
            .limit(1)
        )
        return records.message(row) if row else None

    async def find_sent(
        self, business_id: int, channel: ChannelName, channel_message_id: str
    ) -> Message | None:
        row = await self.session.scalar(
            select(MessageRow).where(
                MessageRow.business_id == business_id,
                MessageRow.channel == channel.value,
                MessageRow.direction == Direction.OUT.value,
                MessageRow.channel_message_id == channel_message_id,
            )
        )
        return records.message(row) if row else None

    async def record_edit(self, message_id: int, *, text: str, at: datetime) -> None:
        await self.session.execute(
            update(MessageRow)
            .where(MessageRow.id == message_id)
            .values(edited_text=text, edited_at=at)
        )

    async def replies_to(self, message_id: int) -> Sequence[Message]:
        rows = await self.session.scalars(
            select(MessageRow).where(MessageRow.reply_to_id == message_id).order_by(MessageRow.id)
        )
        return [records.message(r) for r in rows]

    async def from_customer(
        self, conversation_id: uuid.UUID, *, since: datetime, before_id: int | None, limit: int
    ) -> Sequence[Message]:
        query = select(MessageRow).where(
            MessageRow.conversation_id == conversation_id,
            MessageRow.direction == Direction.IN.value,
            MessageRow.created_at >= since,
        )
        if before_id is not None:
            query = query.where(MessageRow.id < before_id)
        rows = await self.session.scalars(query.order_by(MessageRow.id.desc()).limit(limit))
        return [records.message(r) for r in reversed(rows.all())]

    async def set_frustration(self, message_id: int, score: float, reasons: Sequence[str]) -> None:
        await self.session.execute(
            update(MessageRow)
            .where(MessageRow.id == message_id)
            .values(frustration=score, frustration_reasons=list(reasons))
        )

    async def for_customer(self, customer_id: uuid.UUID, *, limit: int) -> Sequence[Message]:
        rows = await self.session.scalars(
            select(MessageRow)
            .where(MessageRow.customer_id == customer_id)
            .order_by(MessageRow.id.desc())
            .limit(limit)
        )
        return [records.message(r) for r in reversed(rows.all())]

    async def for_conversation(
        self, conversation_id: uuid.UUID, *, limit: int
    ) -> Sequence[Message]:
        rows = await self.session.scalars(
            select(MessageRow)
            .where(MessageRow.conversation_id == conversation_id)
            .order_by(MessageRow.id.desc())
            .limit(limit)
        )
        return [records.message(r) for r in reversed(rows.all())]

    async def page(self, business_id: int, *, after_id: int, limit: int) -> Sequence[Message]:
        rows = await self.session.scalars(
            select(MessageRow)
            .where(MessageRow.business_id == business_id, MessageRow.id > after_id)
            .order_by(MessageRow.id)
            .limit(limit)
        )
        return [records.message(r) for r in rows]

    async def transcript(self, identity_id: int, *, limit: int) -> Sequence[Message]:
        left = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ)
        rows = await self.session.scalars(
            select(MessageRow)
            .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
            .where(
                ConversationRow.identity_id == identity_id,
                or_(
                    MessageRow.direction == Direction.IN.value,
                    MessageRow.status.in_([s.value for s in left]),
                ),
            )
            .order_by(MessageRow.id.desc())
            .limit(limit)
        )
        return [records.message(r) for r in reversed(rows.all())]

    async def set_status(
        self,
        message_id: int,
        status: DeliveryStatus,
        *,
        at: datetime,
        channel_message_id: str | None = None,
        only_from: Collection[DeliveryStatus] | None = None,
    ) -> bool:
        values: dict[str, Any] = {"status": status.value, "status_at": at}
        if channel_message_id is not None:
            values["channel_message_id"] = channel_message_id
        changing = update(MessageRow).where(MessageRow.id == message_id)
        if only_from is not None:
            changing = changing.where(MessageRow.status.in_([s.value for s in only_from]))
        result = await self.session.execute(changing.values(**values))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_sent(self, receipts: Mapping[int, SentReceipt], *, at: datetime) -> None:
        if not receipts:
            return
        # An ORM bulk UPDATE by primary key: one executemany for the lot.
        await self.session.execute(
            update(MessageRow),
            [
                {
                    "id": message_id,
                    "status": receipt.status.value,
                    "status_at": at,
                    "channel_message_id": receipt.channel_message_id,
                }
                for message_id, receipt in receipts.items()
            ],
        )

    async def reassign_customer(self, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
        """Give every message of one customer to another (a merge); how many moved."""
        result = await self.session.execute(
            update(MessageRow).where(MessageRow.customer_id == from_id).values(customer_id=to_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def reassign_conversations(
        self, conversation_ids: Sequence[uuid.UUID], to_id: uuid.UUID
    ) -> int:
        """Give the messages of these conversations to another customer (a chat moved by a deep
        link); how many moved."""
        result = await self.session.execute(
            update(MessageRow)
            .where(MessageRow.conversation_id.in_(conversation_ids))
            .values(customer_id=to_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
