"""The inbox's conversation page: one customer's whole record around the handoff, and the
agent's reply, note, claim, transfer and resolve."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from app.web.inbox.queue import page_context
from app.web.pages import Signed, SignedIn, context, form_fields, render
from bot.conversations.authors import authors
from bot.domain import EventKind, Handoff, KesherError, NotFound
from bot.handoffs import reach
from bot.handoffs import service as handoffs
from bot.outbound.replies import queue_sends
from bot.outbound.whatsapp_templates import approved_kinds, stored_templates
from bot.ports import UnitOfWork

router = APIRouter(prefix="/inbox", include_in_schema=False)

# A handoff's id is an integer column; a larger number is no handoff.
HandoffId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _mine(uow: UnitOfWork, signed: SignedIn, handoff_id: int) -> Handoff:
    # Scoped to the agent's own business: another business's handoff is simply not found.
    handoff = await uow.handoffs.get(signed.business.id, handoff_id)
    if handoff is None:
        raise NotFound(f"no handoff {handoff_id}", code="handoff_not_found")
    return handoff


@router.get("/handoffs/{handoff_id}", response_class=HTMLResponse)
async def conversation(
    request: Request, signed: Signed, handoff_id: HandoffId, error: str | None = None
) -> HTMLResponse:
    return await _conversation_page(request, signed, handoff_id, error=error)


async def _conversation_page(
    request: Request,
    signed: SignedIn,
    handoff_id: int,
    *,
    error: str | None = None,
    kept: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The handoff's conversation; `kept` is the text a refused reply or note held, by form.

    htmx asks for the fragment; a browser opening the link itself (an alert's link) gets the
    whole inbox page with the conversation in it."""
    whole = not request.headers.get("hx-request")
    now = signed.services.clock.now()
    async with signed.services.uow() as uow:
        handoff = await _mine(uow, signed, handoff_id)
        customer = await uow.customers.get(signed.business.id, handoff.customer_id)
        messages = await uow.messages.for_customer(handoff.customer_id, limit=200)
        events = await uow.events.for_customer(handoff.customer_id, limit=200)
        answers = await uow.answers.for_customer(handoff.customer_id, limit=20)
        past = await uow.handoffs.list(
            signed.business.id, open_only=False, customer_id=handoff.customer_id, limit=20
        )
        summary = await handoffs.summary(uow, handoff)
        conversation = await uow.conversations.get(handoff.conversation_id)
        identity = await uow.identities.get(conversation.identity_id)
        approved = stored_templates(await uow.accounts.get(signed.business.id, identity.channel))
        team = await uow.agents.list(signed.business.id)
        written = await authors(uow, signed.business.id, handoff.customer_id, messages)
    me = next((a for a in team if a.id == signed.agent.id), signed.agent)
    language = customer.language if customer else signed.business.language
    return render(
        request,
        "inbox/conversation.html",
        context(
            signed,
            handoff=handoff,
            customer=customer,
            who=customer.name if customer and customer.name else identity.address,
            messages=messages,
            notes=[e for e in events if e.kind == EventKind.NOTE],
            authors=written,
            answers=answers,
            past=[p for p in past if p.id != handoff.id],
            summary=summary,
            window=handoff.resolved_at is not None
            or reach.window_open(signed.services, identity, now=now),
            channel=identity.channel.value,
            templates=approved_kinds(approved, language),
            team=[a for a in team if a.id != handoff.agent_id and a.active],
            canned=signed.business.canned_replies,
            error=error,
            kept=kept or {},
            key=secrets.token_hex(8),
            whole=whole,
            **(page_context(signed, me, selected=handoff.id) if whole else {}),
        ),
    )


async def _act(
    request: Request, signed: SignedIn, handoff_id: int, form: dict[str, str]
) -> Response:
    """Do the form's action on the handoff, then show the conversation again (with any error)."""
    services, now = signed.services, signed.services.clock.now()
    action = request.url.path.rsplit("/", 1)[-1]
    outbox_ids: list[int] = []
    try:
        async with services.uow() as uow:
            await _mine(uow, signed, handoff_id)
            if action == "reply":
                _, outbox_ids = await handoffs.reply(
                    uow,
                    services,
                    signed.business,
                    handoff_id,
                    signed.agent,
                    form.get("text", ""),
                    now=now,
                    template=form.get("template") or None,
                    key=form.get("key") or None,
                )
            elif action == "note":
                await handoffs.note(
                    uow, signed.business, handoff_id, signed.agent, form.get("text", ""), now=now
                )
            elif action == "claim":
                await handoffs.claim(uow, signed.business, handoff_id, signed.agent, now=now)
            elif action == "transfer":
                chosen = form.get("agent", "")
                target = int(chosen) if chosen.isdecimal() else 0
                await handoffs.transfer(uow, signed.business, handoff_id, target, now=now)
            elif action == "resolve":
                await handoffs.resolve(
                    uow, signed.business, handoff_id, agent=signed.agent, now=now
                )
            await uow.commit()
    except KesherError as refused:
        # The agent's words come back in their box, to be mended rather than typed again.
        return await _conversation_page(
            request, signed, handoff_id, error=refused.message, kept={action: form.get("text", "")}
        )
    await queue_sends(outbox_ids, services)
    return await _conversation_page(request, signed, handoff_id)


@router.post("/handoffs/{handoff_id}/reply", response_class=HTMLResponse)
@router.post("/handoffs/{handoff_id}/note", response_class=HTMLResponse)
@router.post("/handoffs/{handoff_id}/claim", response_class=HTMLResponse)
@router.post("/handoffs/{handoff_id}/transfer", response_class=HTMLResponse)
@router.post("/handoffs/{handoff_id}/resolve", response_class=HTMLResponse)
async def act(request: Request, signed: Signed, handoff_id: HandoffId) -> Response:
    return await _act(request, signed, handoff_id, await form_fields(request))
