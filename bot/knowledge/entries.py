"""Keeping a business's knowledge base: entries added, changed and deleted, each with its
texts' vectors computed as it is saved (and again only when its texts change), so matching a
question costs one encoding, of the question; and candidates for new entries dismissed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain import Business, InvalidInput, KnowledgeEntry, NotFound
from bot.ports import Encoder, UnitOfWork

MAX_QUESTION = 300
MAX_ANSWER = 2000


class EntryKind(StrEnum):
    """A fact (hours, address, phone, parking, delivery areas, prices) or a question."""

    FACT = "fact"
    QUESTION = "question"


@dataclass(frozen=True, slots=True)
class EntryTexts:
    """An entry's words: a question (or a fact's title) and its answer, in each language."""

    question_he: str = ""
    answer_he: str = ""
    question_en: str = ""
    answer_en: str = ""

    def cleaned(self) -> EntryTexts:
        """Spaces trimmed; refused when no language has both a question and an answer, when a
        question is given without its answer (or the other way), or when one is too long."""
        texts = EntryTexts(
            question_he=" ".join(self.question_he.split()),
            answer_he=self.answer_he.strip(),
            question_en=" ".join(self.question_en.split()),
            answer_en=self.answer_en.strip(),
        )
        problems = []
        for language, question, answer in (
            ("he", texts.question_he, texts.answer_he),
            ("en", texts.question_en, texts.answer_en),
        ):
            if bool(question) != bool(answer):
                problems.append(f"the {language} question and answer go together")
            if len(question) > MAX_QUESTION:
                problems.append(f"the {language} question is over {MAX_QUESTION} characters")
            if len(answer) > MAX_ANSWER:
                problems.append(f"the {language} answer is over {MAX_ANSWER} characters")
        if not (texts.question_he or texts.question_en) and not problems:
            problems.append("an entry needs a question and an answer in Hebrew or English")
        if problems:
            raise InvalidInput("; ".join(problems), code="invalid_entry")
        return texts

    def passages(self) -> list[str]:
        """What the encoder reads: each language's question and answer, the languages given."""
        return [
            f"{q}\n{a}"
            for q, a in ((self.question_he, self.answer_he), (self.question_en, self.answer_en))
            if q
        ]


async def add_entry(
    uow: UnitOfWork,
    business: Business,
    kind: EntryKind,
    texts: EntryTexts,
    *,
    encoder: Encoder | None,
    now: datetime,
) -> KnowledgeEntry:
    texts = texts.cleaned()
    vectors = await _vectors(texts, encoder)
    return await uow.knowledge.add(
        business.id, kind=kind.value, texts=_four(texts), vectors=vectors, now=now
    )


async def change_entry(
    uow: UnitOfWork,
    business: Business,
    entry_id: int,
    kind: EntryKind,
    texts: EntryTexts,
    *,
    encoder: Encoder | None,
    now: datetime,
) -> KnowledgeEntry:
    """The entry with new words; its vectors are computed again only when the words changed
    (or it had none and the encoder is on)."""
    entry = await uow.knowledge.get(business.id, entry_id)
    if entry is None:
        raise NotFound(f"no knowledge entry {entry_id}", code="unknown_entry")
    texts = texts.cleaned()
    same = _four(texts) == (entry.question_he, entry.answer_he, entry.question_en, entry.answer_en)
    vectors = (
        list(entry.vectors)
        if same and (entry.vectors or encoder is None)
        else await _vectors(texts, encoder)
    )
    return await uow.knowledge.update(
        entry.id, kind=kind.value, texts=_four(texts), vectors=vectors, now=now
    )


async def delete_entry(uow: UnitOfWork, business: Business, entry_id: int) -> None:
    if not await uow.knowledge.delete(business.id, entry_id):
        raise NotFound(f"no knowledge entry {entry_id}", code="unknown_entry")


async def dismiss_candidate(uow: UnitOfWork, business: Business, message_id: int) -> None:
    """Take a customer's question off the candidates for new entries."""
    if not await uow.questions.dismiss(business.id, message_id):
        raise NotFound(f"no question in message {message_id}", code="unknown_candidate")


async def _vectors(texts: EntryTexts, encoder: Encoder | None) -> list[tuple[float, ...]]:
    if encoder is None:
        return []
    return await encoder.embed(texts.passages())


def _four(texts: EntryTexts) -> tuple[str, str, str, str]:
    return (texts.question_he, texts.answer_he, texts.question_en, texts.answer_en)
