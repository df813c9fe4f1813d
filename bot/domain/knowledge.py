"""The business's knowledge base: its entries, and customers' questions answered from it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class KnowledgeEntry:
    """One of a business's facts (hours, address, parking, prices) or questions with their
    answers, in Hebrew, English or both; `vectors` are its texts' meaning as passages (empty
    where the encoder was off when it was saved)."""

    id: int
    business_id: int
    kind: str
    question_he: str
    answer_he: str
    question_en: str
    answer_en: str
    created_at: datetime
    updated_at: datetime
    vectors: tuple[tuple[float, ...], ...] = ()

    def texts(self) -> tuple[str, ...]:
        """Each language's question and answer as one passage, the languages it has."""
        return tuple(
            f"{q}\n{a}".strip()
            for q, a in ((self.question_he, self.answer_he), (self.question_en, self.answer_en))
            if (q + a).strip()
        )

    def answer(self, language: str) -> str:
        """The answer in `language`, or in the other one when it has none."""
        first, second = (
            (self.answer_he, self.answer_en)
            if language == "he"
            else (self.answer_en, self.answer_he)
        )
        return first.strip() or second.strip()


class QuestionStatus(StrEnum):
    """Where a customer's question stands with the knowledge base: waiting for the worker,
    answered automatically, not answered (nothing matched, or the language model found no
    support), or passed over (a person took the conversation first)."""

    PENDING = "pending"
    ANSWERED = "answered"
    UNANSWERED = "unanswered"
    PASSED = "passed"


@dataclass(frozen=True, slots=True)
class KnowledgeQuestion:
    """A customer's message put to the knowledge base, and what became of it: the reply and
    the entries it used, its score, and whether the customer said it did not help."""

    id: int
    business_id: int
    customer_id: uuid.UUID
    message_id: int
    text: str
    status: QuestionStatus
    first: bool
    asked_at: datetime
    entries: tuple[int, ...] = ()
    score: float | None = None
    reply_id: int | None = None
    unhelpful: bool = False
    settled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WrittenAnswer:
    """A language model's answer to a question, and the entries it says it rests on."""

    text: str
    entries: tuple[int, ...]
