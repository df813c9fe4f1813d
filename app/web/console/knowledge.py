"""The console's knowledge base page: the business's facts and questions with answers, in
Hebrew and English, added, changed and deleted; and the customers' questions that no entry
answered (or whose automatic answer did not help), as candidates for new ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.web.console.admins import Admin
from app.web.pages import SignedIn, context, form_fields, render, words
from bot.domain import KesherError
from bot.knowledge.entries import (
    EntryKind,
    EntryTexts,
    add_entry,
    change_entry,
    delete_entry,
    dismiss_candidate,
)
from flows.text import detect_language

router = APIRouter(prefix="/console", include_in_schema=False)

CANDIDATES_SHOWN = 50
MAX_ID = 2**31 - 1
MAX_MESSAGE_ID = 2**63 - 1
FIELDS = ("question_he", "answer_he", "question_en", "answer_en")


@router.get("/knowledge", response_class=HTMLResponse)
async def knowledge(
    request: Request, signed: Admin, ask: str = "", candidate: str = ""
) -> HTMLResponse:
    """The entries, a form for a new one (`ask` fills its question from a candidate, which the
    entry then answers), and the candidates."""
    language = detect_language(ask) or "he"
    typed = {f"question_{language}": ask[:300], "candidate": candidate} if ask else None
    return await _page(request, signed, typed=typed)


async def _page(
    request: Request,
    signed: SignedIn,
    *,
    error: str | None = None,
    typed: Mapping[str, str] | None = None,
    editing: int | None = None,
) -> HTMLResponse:
    async with signed.services.uow() as uow:
        entries = await uow.knowledge.list(signed.business.id)
        candidates = await uow.questions.candidates(signed.business.id, limit=CANDIDATES_SHOWN)
    more: dict[str, Any] = {
        "entries": entries,
        "candidates": candidates,
        "error": error,
        "typed": typed or {},
        "editing": editing,
    }
    return render(request, "console/knowledge.html", context(signed, **more))


def _entry_from(form: Mapping[str, str]) -> tuple[EntryKind, EntryTexts]:
    kind = EntryKind.FACT if form.get("kind") == EntryKind.FACT.value else EntryKind.QUESTION
    return kind, EntryTexts(*(form.get(name, "") for name in FIELDS))


@router.post("/knowledge")
async def add(request: Request, signed: Admin) -> Response:
    form = await form_fields(request)
    kind, texts = _entry_from(form)
    services = signed.services
    candidate = _id_or_none(form.get("candidate", ""), largest=MAX_MESSAGE_ID)
    try:
        async with services.uow() as uow:
            await add_entry(
                uow,
                signed.business,
                kind,
                texts,
                encoder=services.encoder,
                now=services.clock.now(),
            )
            if candidate is not None:  # the question the new entry was made from
                await uow.questions.dismiss(signed.business.id, candidate)
            await uow.commit()
    except KesherError:
        return await _page(request, signed, error=_refusal(signed), typed=form)
    return RedirectResponse("/console/knowledge", status_code=303)


@router.post("/knowledge/{entry_id}")
async def change(request: Request, signed: Admin, entry_id: str) -> Response:
    form = await form_fields(request)
    kind, texts = _entry_from(form)
    services = signed.services
    try:
        async with services.uow() as uow:
            await change_entry(
                uow,
                signed.business,
                _id(entry_id),
                kind,
                texts,
                encoder=services.encoder,
                now=services.clock.now(),
            )
            await uow.commit()
    except KesherError:
        return await _page(
            request, signed, error=_refusal(signed), typed=form, editing=_id_or_none(entry_id)
        )
    return RedirectResponse("/console/knowledge", status_code=303)


@router.post("/knowledge/{entry_id}/delete")
async def delete(request: Request, signed: Admin, entry_id: str) -> Response:
    """Delete once the box is ticked."""
    form = await form_fields(request)
    services = signed.services
    if form.get("confirm") != "on":
        return await _page(request, signed, error=words(signed.agent.language)["kb_delete_sure"])
    try:
        async with services.uow() as uow:
            await delete_entry(uow, signed.business, _id(entry_id))
            await uow.commit()
    except KesherError:
        return await _page(request, signed, error=_refusal(signed))
    return RedirectResponse("/console/knowledge", status_code=303)


@router.post("/knowledge/candidates/{message_id}/dismiss")
async def dismiss(request: Request, signed: Admin, message_id: str) -> Response:
    """Take a question off the candidates."""
    services = signed.services
    try:
        found = _id_or_none(message_id, largest=MAX_MESSAGE_ID)
        if found is None:
            raise KesherError(f"no question in message {message_id}", code="unknown_candidate")
        async with services.uow() as uow:
            await dismiss_candidate(uow, signed.business, found)
            await uow.commit()
    except KesherError:
        return await _page(request, signed, error=words(signed.agent.language)["kb_no_candidate"])
    return RedirectResponse("/console/knowledge#candidates", status_code=303)


def _id(entry_id: str) -> int:
    found = _id_or_none(entry_id)
    if found is None:
        raise KesherError(f"no knowledge entry {entry_id}", code="unknown_entry")
    return found


def _id_or_none(number: str, *, largest: int = MAX_ID) -> int | None:
    return int(number) if number.isdecimal() and 0 < int(number) <= largest else None


def _refusal(signed: SignedIn) -> str:
    """What the page says of a refused entry, in the admin's language."""
    said: str = words(signed.agent.language)["kb_invalid"]
    return said
