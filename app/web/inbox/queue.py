"""The inbox page and its queue of handoffs (shown first, above every other conversation),
refreshed live over server-sent events whenever a handoff, a message or a conversation of
the business changes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sse_starlette.sse import EventSourceResponse

from app.web.pages import Signed, SignedIn, context, render
from bot.domain import Agent, Business, Handoff
from bot.handoffs import service as handoffs
from bot.handoffs.alerts import WARN_BEFORE, preferences
from bot.ports import UnitOfWork
from flows.staff_alerts import Medium

router = APIRouter(prefix="/inbox", include_in_schema=False)

STREAM_EVERY = 1.0


@router.get("", response_class=HTMLResponse)
async def inbox(
    request: Request, signed: Signed, h: int | None = None, c: uuid.UUID | None = None
) -> HTMLResponse:
    async with signed.services.uow() as uow:
        me = await uow.agents.get(signed.agent.id)
    return render(
        request,
        "inbox/index.html",
        context(signed, chosen=c, **page_context(signed, me, selected=h)),
    )


def page_context(signed: SignedIn, me: Agent | None, *, selected: int | None) -> dict[str, Any]:
    """What the inbox page shows around the queue and the conversation."""
    return {
        "selected": selected,
        "online": bool(me and me.online),
        "linked": bool(me and me.telegram_chat),
        # The events the agent wants browser notifications of while the inbox is open.
        "notify": [
            e.value
            for e, media in preferences(me or signed.agent).media.items()
            if Medium.BROWSER in media
        ],
    }


@dataclass(frozen=True, slots=True)
class Row:
    handoff: Handoff
    customer: str
    agent: str | None
    waited: int
    late: bool
    soon: bool
    """No answer yet and the SLA ends within the warning's time."""


async def _rows(uow: UnitOfWork, signed: SignedIn) -> list[Row]:
    now = signed.services.clock.now()
    names = await uow.agents.names(signed.business.id)
    rows = []
    for handoff in handoffs.visible(await uow.handoffs.list(signed.business.id), signed.agent):
        rows.append(
            Row(
                handoff=handoff,
                customer=await _who(uow, signed.business, handoff),
                agent=names.get(handoff.agent_id) if handoff.agent_id else None,
                waited=int((now - handoff.requested_at).total_seconds() // 60),
                late=handoff.first_reply_at is None and now >= handoff.sla_due_at,
                soon=handoff.first_reply_at is None
                and handoff.sla_due_at - WARN_BEFORE <= now < handoff.sla_due_at,
            )
        )
    return rows


async def _who(uow: UnitOfWork, business: Business, handoff: Handoff) -> str:
    """The customer's name, else the address they wrote from (a phone number, a chat)."""
    customer = await uow.customers.get(business.id, handoff.customer_id)
    if customer is not None and customer.name:
        return customer.name
    conversation = await uow.conversations.get(handoff.conversation_id)
    return (await uow.identities.get(conversation.identity_id)).address


@router.get("/queue", response_class=HTMLResponse)
async def queue(request: Request, signed: Signed, h: int | None = None) -> HTMLResponse:
    async with signed.services.uow() as uow:
        rows = await _rows(uow, signed)
    return render(request, "inbox/queue.html", context(signed, rows=rows, selected=h))


@router.get("/stream")
async def stream(request: Request, signed: Signed) -> EventSourceResponse:
    """'changed' whenever a handoff, a message or a conversation of the agent's business
    changes (a colleague relabelling, reassigning, snoozing or resolving one too)."""

    async def changes() -> AsyncIterator[dict[str, str]]:
        seen = None
        while not await request.is_disconnected():
            async with signed.services.uow() as uow:
                marker = await uow.handoffs.changes(signed.business.id)
            if marker != seen:
                seen = marker
                yield {"event": "changed", "data": marker}
            await asyncio.sleep(STREAM_EVERY)

    return EventSourceResponse(changes(), ping=15)
