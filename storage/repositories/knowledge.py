"""The SQLAlchemy knowledge base repository: a business's facts and questions with answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select

from bot.domain import KnowledgeEntry
from storage import records
from storage.repositories.repository import Repository
from storage.tables import KnowledgeEntryRow


class SqlKnowledge(Repository):
    async def add(
        self,
        business_id: int,
        *,
        kind: str,
        texts: tuple[str, str, str, str],
        vectors: Sequence[tuple[float, ...]],
        now: datetime,
    ) -> KnowledgeEntry:
        row = KnowledgeEntryRow(business_id=business_id, created_at=now)
        _fill(row, kind, texts, vectors, now)
        return records.knowledge_entry(await self.store(row))

    async def update(
        self,
        entry_id: int,
        *,
        kind: str,
        texts: tuple[str, str, str, str],
        vectors: Sequence[tuple[float, ...]],
        now: datetime,
    ) -> KnowledgeEntry:
        row = await self.session.get_one(KnowledgeEntryRow, entry_id)
        _fill(row, kind, texts, vectors, now)
        await self.session.flush()
        return records.knowledge_entry(row)

    async def get(self, business_id: int, entry_id: int) -> KnowledgeEntry | None:
        row = await self.session.get(KnowledgeEntryRow, entry_id)
        return records.knowledge_entry(row) if row and row.business_id == business_id else None

    async def list(self, business_id: int) -> Sequence[KnowledgeEntry]:
        rows = await self.session.scalars(
            select(KnowledgeEntryRow)
            .where(KnowledgeEntryRow.business_id == business_id)
            .order_by(KnowledgeEntryRow.id)
        )
        return [records.knowledge_entry(r) for r in rows]

    async def any(self, business_id: int) -> bool:
        found = await self.session.scalar(
            select(KnowledgeEntryRow.id)
            .where(KnowledgeEntryRow.business_id == business_id)
            .limit(1)
        )
        return found is not None

    async def delete(self, business_id: int, entry_id: int) -> bool:
        result = await self.session.execute(
            delete(KnowledgeEntryRow).where(
                KnowledgeEntryRow.id == entry_id, KnowledgeEntryRow.business_id == business_id
            )
        )
        return bool(getattr(result, "rowcount", 0))


def _fill(
    row: KnowledgeEntryRow,
    kind: str,
    texts: tuple[str, str, str, str],
    vectors: Sequence[tuple[float, ...]],
    now: datetime,
) -> None:
    row.kind = kind
    row.question_he, row.answer_he, row.question_en, row.answer_en = texts
    row.vectors = {"vectors": [list(v) for v in vectors]}
    row.updated_at = now
