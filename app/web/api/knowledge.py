"""The REST API for the knowledge base: a business's facts and questions with answers, added,
changed and deleted; and the customers' questions that are candidates for new entries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from app.web.deps import AdminBusiness, ServicesDep
from app.web.text_json import TextJsonRoute
from bot.domain import KnowledgeEntry, KnowledgeQuestion, NotFound
from bot.knowledge.entries import (
    MAX_ANSWER,
    MAX_QUESTION,
    EntryKind,
    EntryTexts,
    add_entry,
    change_entry,
    delete_entry,
    dismiss_candidate,
)

router = APIRouter(prefix="/api/v1/{business}", tags=["knowledge"], route_class=TextJsonRoute)

EntryId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the entry's id")]
MessageId = Annotated[
    int, Path(ge=1, le=2**63 - 1, description="the id of the message the question was asked in")
]


class EntryIn(BaseModel):
    """A fact (its title as the question) or a question, with its answer, in Hebrew, English or
    both; a language's question and answer go together."""

    kind: EntryKind = EntryKind.QUESTION
    question_he: str = Field(default="", max_length=MAX_QUESTION)
    answer_he: str = Field(default="", max_length=MAX_ANSWER)
    question_en: str = Field(default="", max_length=MAX_QUESTION)
    answer_en: str = Field(default="", max_length=MAX_ANSWER)

    def texts(self) -> EntryTexts:
        return EntryTexts(self.question_he, self.answer_he, self.question_en, self.answer_en)


class EntryOut(BaseModel):
    id: int
    kind: str
    question_he: str
    answer_he: str
    question_en: str
    answer_en: str
    encoded: bool = Field(description="whether its vectors were computed (the encoder was on)")
    created_at: datetime
    updated_at: datetime


class CandidateOut(BaseModel):
    message_id: int
    customer_id: str
    text: str
    reason: str = Field(description="'unanswered', or 'unhelpful' (a thumbs-down)")
    entries: list[int] = Field(description="the entries an unhelpful answer came from")
    asked_at: datetime


def _entry_out(entry: KnowledgeEntry) -> EntryOut:
    return EntryOut(
        id=entry.id,
        kind=entry.kind,
        question_he=entry.question_he,
        answer_he=entry.answer_he,
        question_en=entry.question_en,
        answer_en=entry.answer_en,
        encoded=bool(entry.vectors),
        created_at=entry.created_at,
        updated_at=entry.updated_at,
    )


def candidate_out(question: KnowledgeQuestion) -> CandidateOut:
    return CandidateOut(
        message_id=question.message_id,
        customer_id=str(question.customer_id),
        text=question.text,
        reason="unhelpful" if question.unhelpful else "unanswered",
        entries=list(question.entries),
        asked_at=question.asked_at,
    )


@router.get("/knowledge", response_model=list[EntryOut])
async def list_entries(services: ServicesDep, business: AdminBusiness) -> list[EntryOut]:
    async with services.uow() as uow:
        return [_entry_out(e) for e in await uow.knowledge.list(business.id)]


@router.post("/knowledge", response_model=EntryOut, status_code=201)
async def create_entry(services: ServicesDep, business: AdminBusiness, entry: EntryIn) -> EntryOut:
    """Add an entry; its vectors are computed now, so matching a question costs one encoding."""
    async with services.uow() as uow:
        saved = await add_entry(
            uow,
            business,
            entry.kind,
            entry.texts(),
            encoder=services.encoder,
            now=services.clock.now(),
        )
        await uow.commit()
    return _entry_out(saved)


@router.get("/knowledge/candidates", response_model=list[CandidateOut])
async def list_candidates(
    services: ServicesDep,
    business: AdminBusiness,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CandidateOut]:
    """Customers' questions no entry answered, and automatic answers they said did not help,
    newest first: candidates for new entries."""
    async with services.uow() as uow:
        found = await uow.questions.candidates(business.id, limit=limit)
    return [candidate_out(q) for q in found]


@router.delete("/knowledge/candidates/{message_id}", status_code=204)
async def remove_candidate(
    services: ServicesDep, business: AdminBusiness, message_id: MessageId
) -> Response:
    """Take a question off the candidates (an entry now answers it, or none is needed)."""
    async with services.uow() as uow:
        await dismiss_candidate(uow, business, message_id)
        await uow.commit()
    return Response(status_code=204)


@router.get("/knowledge/{entry_id}", response_model=EntryOut)
async def get_entry(services: ServicesDep, business: AdminBusiness, entry_id: EntryId) -> EntryOut:
    async with services.uow() as uow:
        entry = await uow.knowledge.get(business.id, entry_id)
    if entry is None:
        raise NotFound(f"no knowledge entry {entry_id}", code="unknown_entry")
    return _entry_out(entry)


@router.put("/knowledge/{entry_id}", response_model=EntryOut)
async def put_entry(
    services: ServicesDep, business: AdminBusiness, entry_id: EntryId, entry: EntryIn
) -> EntryOut:
    """Replace an entry's words; its vectors are computed again when they changed."""
    async with services.uow() as uow:
        saved = await change_entry(
            uow,
            business,
            entry_id,
            entry.kind,
            entry.texts(),
            encoder=services.encoder,
            now=services.clock.now(),
        )
        await uow.commit()
    return _entry_out(saved)


@router.delete("/knowledge/{entry_id}", status_code=204)
async def remove_entry(
    services: ServicesDep, business: AdminBusiness, entry_id: EntryId
) -> Response:
    async with services.uow() as uow:
        await delete_entry(uow, business, entry_id)
        await uow.commit()
    return Response(status_code=204)
