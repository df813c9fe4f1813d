"""The SQLAlchemy conversations repository: a customer's exchanges on one identity."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select, update

from bot.domain import Conversation, ConversationMode, NewConversation
from storage import records
from storage.repositories.repository import Repository
from storage.tables import ConversationRow


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
