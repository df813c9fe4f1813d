"""Repositories of the knowledge base: a business's entries, and the questions put to them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.domain import KnowledgeEntry, KnowledgeQuestion, QuestionStatus


class KnowledgeRepository(Protocol):
    async def add(
        self,
        business_id: int,
        *,
        kind: str,
        texts: tuple[str, str, str, str],
        vectors: Sequence[tuple[float, ...]],
        now: datetime,
    ) -> KnowledgeEntry:
        """A new entry; `texts` are the Hebrew question and answer, then the English ones."""
        ...

    async def update(
        self,
        entry_id: int,
        *,
        kind: str,
        texts: tuple[str, str, str, str],
        vectors: Sequence[tuple[float, ...]],
        now: datetime,
    ) -> KnowledgeEntry: ...

    async def get(self, business_id: int, entry_id: int) -> KnowledgeEntry | None: ...

    async def list(self, business_id: int) -> Sequence[KnowledgeEntry]:
        """The business's entries, oldest first."""
        ...

    async def any(self, business_id: int) -> bool:
        """Whether the business has an entry at all."""
        ...

    async def delete(self, business_id: int, entry_id: int) -> bool: ...


class QuestionRepository(Protocol):
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
        """A question waiting for the worker (pending)."""
        ...

    async def for_message(self, message_id: int) -> KnowledgeQuestion | None: ...

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
        """Move a pending question to `status` (checked in the same statement); False when it
        was settled already."""
        ...

    async def last_answered(
        self, customer_id: uuid.UUID, *, since: datetime
    ) -> KnowledgeQuestion | None:
        """The customer's latest automatically answered question since a time."""
        ...

    async def mark_unhelpful(self, question_id: int) -> None: ...

    async def candidates(self, business_id: int, *, limit: int) -> Sequence[KnowledgeQuestion]:
        """Questions for new entries: unanswered ones and answers the customer said did not
        help, newest first, less those dismissed."""
        ...

    async def dismiss(self, business_id: int, message_id: int) -> bool:
        """Take the question asked in `message_id` off the candidates; False when the business
        has no such question."""
        ...

    async def stale(self, *, asked_before: datetime, limit: int) -> Sequence[KnowledgeQuestion]:
        """Pending questions asked before a time (their job was lost), oldest first."""
        ...

    async def reassign_customer(self, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
        """Give the questions one customer put to the knowledge base to another (a merge)."""
        ...

    async def reassign_conversations(
        self, conversation_ids: Sequence[uuid.UUID], to_id: uuid.UUID
    ) -> int:
        """Give the questions asked in the messages of these conversations to another customer (a chat moved by a deep
        link); how many moved."""
        ...
