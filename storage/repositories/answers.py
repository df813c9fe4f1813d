"""The SQLAlchemy survey answers repository."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update

from bot.domain import Answer
from storage import records
from storage.repositories.repository import Repository
from storage.tables import AnswerRow, CheckinRow


class SqlAnswers(Repository):
    async def add(self, business_id: int, answer: Answer) -> None:
        await self.store(
            AnswerRow(
                business_id=business_id,
                customer_id=answer.customer_id,
                checkin_id=answer.checkin_id,
                flow=answer.flow,
                question=answer.question,
                value=answer.value,
                score=answer.score,
                score_kind=answer.score_kind,
                label=answer.label,
                answered_at=answer.answered_at,
            )
        )

    async def for_customer(self, customer_id: uuid.UUID, *, limit: int) -> Sequence[Answer]:
        rows = await self.session.scalars(
            select(AnswerRow)
            .where(AnswerRow.customer_id == customer_id)
            .order_by(AnswerRow.answered_at.desc(), AnswerRow.id.desc())
            .limit(limit)
        )
        return [records.answer(r) for r in reversed(rows.all())]

    async def page(
        self, business_id: int, *, after_id: int, limit: int
    ) -> Sequence[tuple[int, Answer]]:
        rows = await self.session.scalars(
            select(AnswerRow)
            .where(AnswerRow.business_id == business_id, AnswerRow.id > after_id)
            .order_by(AnswerRow.id)
            .limit(limit)
        )
        return [(r.id, records.answer(r)) for r in rows]

    async def reassign_customer(self, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
        """Give every survey answer of one customer to another (a merge); how many moved."""
        result = await self.session.execute(
            update(AnswerRow).where(AnswerRow.customer_id == from_id).values(customer_id=to_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def reassign_conversations(
        self, conversation_ids: Sequence[uuid.UUID], to_id: uuid.UUID
    ) -> int:
        """Give the answers to the check-ins of these conversations to another customer (a chat moved by a deep
        link); how many moved."""
        result = await self.session.execute(
            update(AnswerRow)
            .where(
                AnswerRow.checkin_id.in_(
                    select(CheckinRow.id).where(CheckinRow.conversation_id.in_(conversation_ids))
                )
            )
            .values(customer_id=to_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
