"""The SQLAlchemy repository of questions put to the knowledge base, and what became of each."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update

from bot.domain import KnowledgeQuestion, QuestionStatus
from storage import records
from storage.repositories.repository import Repository
from storage.tables import KnowledgeQuestionRow, MessageRow


class SqlQuestions(Repository):
    async def add(
        self,
        business_id: int,
        *,
        customer_id: uuid.UUID,
        message_id: int,
        text: str,
        first: bool,
        asked_at: datetime,
    ) -> KnowledgeQuestion:
        row = KnowledgeQuestionRow(
            business_id=business_id,
            customer_id=customer_id,
            message_id=message_id,
            text=text,
            status=QuestionStatus.PENDING.value,
            first=first,
            entries={},
            unhelpful=False,
            dismissed=False,
            asked_at=asked_at,
        )
        return records.knowledge_question(await self.store(row))

    async def for_message(self, message_id: int) -> KnowledgeQuestion | None:
        row = await self.session.scalar(
            select(KnowledgeQuestionRow).where(KnowledgeQuestionRow.message_id == message_id)
        )
        return records.knowledge_question(row) if row else None

    async def settle(
        self,
        question_id: int,
        status: QuestionStatus,
        *,
        entries: Sequence[int],
        score: float | None,
        reply_id: int | None,
        at: datetime,
    ) -> bool:
        result = await self.session.execute(
            update(KnowledgeQuestionRow)
            .where(
                KnowledgeQuestionRow.id == question_id,
                KnowledgeQuestionRow.status == QuestionStatus.PENDING.value,
            )
            .values(
                status=status.value,
                entries={"ids": list(entries)},
                score=score,
                reply_id=reply_id,
                settled_at=at,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def last_answered(
        self, customer_id: uuid.UUID, *, since: datetime
    ) -> KnowledgeQuestion | None:
        row = await self.session.scalar(
            select(KnowledgeQuestionRow)
            .where(
                KnowledgeQuestionRow.customer_id == customer_id,
                KnowledgeQuestionRow.status == QuestionStatus.ANSWERED.value,
                KnowledgeQuestionRow.asked_at >= since,
            )
            .order_by(KnowledgeQuestionRow.asked_at.desc(), KnowledgeQuestionRow.id.desc())
            .limit(1)
        )
        return records.knowledge_question(row) if row else None

    async def mark_unhelpful(self, question_id: int) -> None:
        await self.session.execute(
            update(KnowledgeQuestionRow)
            .where(KnowledgeQuestionRow.id == question_id)
            .values(unhelpful=True)
        )

    async def candidates(self, business_id: int, *, limit: int) -> Sequence[KnowledgeQuestion]:
        rows = await self.session.scalars(
            select(KnowledgeQuestionRow)
            .where(
                KnowledgeQuestionRow.business_id == business_id,
                KnowledgeQuestionRow.dismissed.is_(False),
                or_(
                    KnowledgeQuestionRow.status == QuestionStatus.UNANSWERED.value,
                    KnowledgeQuestionRow.unhelpful.is_(True),
                ),
            )
            .order_by(KnowledgeQuestionRow.asked_at.desc(), KnowledgeQuestionRow.id.desc())
            .limit(limit)
        )
        return [records.knowledge_question(r) for r in rows]

    async def dismiss(self, business_id: int, message_id: int) -> bool:
        result = await self.session.execute(
            update(KnowledgeQuestionRow)
            .where(
                KnowledgeQuestionRow.business_id == business_id,
                KnowledgeQuestionRow.message_id == message_id,
            )
            .values(dismissed=True)
        )
        return bool(getattr(result, "rowcount", 0))

    async def stale(self, *, asked_before: datetime, limit: int) -> Sequence[KnowledgeQuestion]:
        rows = await self.session.scalars(
            select(KnowledgeQuestionRow)
            .where(
                KnowledgeQuestionRow.status == QuestionStatus.PENDING.value,
                KnowledgeQuestionRow.asked_at < asked_before,
            )
            .order_by(KnowledgeQuestionRow.asked_at)
            .limit(limit)
        )
        return [records.knowledge_question(r) for r in rows]

    async def reassign_customer(self, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
        """Give the questions one customer put to the knowledge base to another (a merge)."""
        result = await self.session.execute(
            update(KnowledgeQuestionRow)
            .where(KnowledgeQuestionRow.customer_id == from_id)
            .values(customer_id=to_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def reassign_conversations(
        self, conversation_ids: Sequence[uuid.UUID], to_id: uuid.UUID
    ) -> int:
        """Give the questions asked in the messages of these conversations to another customer (a chat moved by a deep
        link); how many moved."""
        result = await self.session.execute(
            update(KnowledgeQuestionRow)
            .where(
                KnowledgeQuestionRow.message_id.in_(
                    select(MessageRow.id).where(MessageRow.conversation_id.in_(conversation_ids))
                )
            )
            .values(customer_id=to_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
