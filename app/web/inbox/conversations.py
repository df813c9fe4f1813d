"""The inbox's conversations: a queue view per status with the agent's filters, unread counts
and search; one conversation with its thread, and reply, assign, label, snooze and resolve."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.web.pages import Signed, SignedIn, context, form_fields, render
from bot.conversations import actions
from bot.conversations.authors import authors
from bot.domain import (
    ChannelName,
    ConversationStatus,
    KesherError,
    QueueFilter,
)
from bot.handoffs import reach
from bot.outbound.replies import queue_sends

router = APIRouter(prefix="/inbox", include_in_schema=False)

PAGE = 50
SEARCH_MAX = 100
WHO = ("all", "mine", "unassigned")


@dataclass(frozen=True, slots=True)
class View:
    """The queue view an agent asked for, as the page's links and form carry it."""

    status: ConversationStatus
    who: str
    channel: ChannelName | None
    label: str
    q: str

    def filter(self, agent_id: int) -> QueueFilter:
        return QueueFilter(
            status=self.status,
            assignee=agent_id if self.who == "mine" else None,
            unassigned=self.who == "unassigned",
            channel=self.channel,
            label=self.label.casefold().lstrip("#") or None,
            search=self.q or None,
        )

    def query(self, **changed: str) -> str:
        """The view's query string, with some of it changed (a tab's link)."""
        values = {
            "status": self.status.value,
            "who": self.who,
            "channel": self.channel.value if self.channel else "",
            "label": self.label,
            "q": self.q,
            **changed,
        }
        return urlencode({k: v for k, v in values.items() if v and v != "all"})


def _view(
    status: str = "open", who: str = "all", channel: str = "", label: str = "", q: str = ""
) -> View:
    """What the page asked for; a value the page never offers falls back to the default."""
    known = {s.value for s in ConversationStatus}
    channels = {c.value for c in ChannelName}
    return View(
        status=ConversationStatus(status if status in known else "open"),
        who=who if who in WHO else "all",
        channel=ChannelName(channel) if channel in channels else None,
        label=label.strip()[:32],
        q=q.strip()[:SEARCH_MAX],
    )


@router.get("/conversations", response_class=HTMLResponse)
async def conversations(
    request: Request,
    signed: Signed,
    status: str = "open",
    who: str = "all",
    channel: str = "",
    label: str = "",
    q: str = "",
    c: uuid.UUID | None = None,
) -> HTMLResponse:
    view = _view(status, who, channel, label, q)
    async with signed.services.uow() as uow:
        rows = await uow.conversations.queue(
            signed.business.id, view.filter(signed.agent.id), limit=PAGE
        )
        counts = await uow.conversations.counts(signed.business.id)
        names = await uow.agents.names(signed.business.id)
    return render(
        request,
        "inbox/conversations.html",
        context(
            signed,
            view=view,
            rows=rows,
            counts=counts,
            names=names,
            statuses=list(ConversationStatus),
            channels=[c.value for c in ChannelName],
            selected=c,
            page_size=PAGE,
        ),
    )


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
async def conversation(
    request: Request, signed: Signed, conversation_id: uuid.UUID
) -> HTMLResponse:
    async with signed.services.uow() as uow:
        await actions.read(uow, signed.business, conversation_id)
        await uow.commit()
    return await _page(request, signed, conversation_id)


async def _page(
    request: Request,
    signed: SignedIn,
    conversation_id: uuid.UUID,
    *,
    error: str | None = None,
    kept: Mapping[str, str] | None = None,
) -> HTMLResponse:
    now = signed.services.clock.now()
    async with signed.services.uow() as uow:
        conversation = await actions.conversation_of(uow, signed.business, conversation_id)
        customer = await uow.customers.get(signed.business.id, conversation.customer_id)
        identity = await uow.identities.get(conversation.identity_id)
        messages = await uow.messages.for_customer(conversation.customer_id, limit=200)
        handoff = await uow.handoffs.open_for(conversation.id)
        team = [a for a in await uow.agents.list(signed.business.id) if a.active]
        written = await authors(uow, signed.business.id, conversation.customer_id, messages)
    zone = ZoneInfo(signed.business.timezone)
    return render(
        request,
        "inbox/thread.html",
        context(
            signed,
            conversation=conversation,
            customer=customer,
            who=customer.name if customer and customer.name else identity.address,
            channel=identity.channel.value,
            messages=messages,
            authors=written,
            handoff=handoff,
            team=team,
            window=reach.window_open(signed.services, identity, now=now),
            error=error,
            kept=kept or {},
            key=secrets.token_hex(8),
            snooze_hour=(now + timedelta(hours=1)).astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
            snooze_tomorrow=_tomorrow_morning(now, zone).strftime("%Y-%m-%dT%H:%M"),
        ),
    )


def _tomorrow_morning(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    return datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone).replace(
        hour=9
    )


def _agent_id(chosen: str) -> int | None:
    """The agent picked (empty: nobody); what is no agent's id is 0, which no agent has."""
    if not chosen:
        return None
    return int(chosen) if chosen.isdecimal() and int(chosen) < 2**31 else 0


def _until(raw: str, zone: ZoneInfo) -> datetime | None:
    """A snooze time as the page's datetime-local field sends it, in the business's zone."""
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=zone) if raw else None
    except ValueError:
        return None


async def _act(
    request: Request, signed: SignedIn, conversation_id: uuid.UUID, form: dict[str, str]
) -> Response:
    """Do the form's action, then show the conversation again (with any refusal)."""
    services, now = signed.services, signed.services.clock.now()
    action = request.url.path.rsplit("/", 1)[-1]
    outbox_ids: list[int] = []
    try:
        async with services.uow() as uow:
            if action == "reply":
                _, outbox_ids = await actions.reply(
                    uow,
                    services,
                    signed.business,
                    conversation_id,
                    signed.agent,
                    form.get("text", ""),
                    now=now,
                    key=form.get("key") or None,
                )
            elif action == "assign":
                await actions.assign(
                    uow,
                    signed.business,
                    conversation_id,
                    _agent_id(form.get("agent", "")),
                    now=now,
                    by=signed.agent,
                )
            elif action == "labels":
                await actions.label(
                    uow,
                    signed.business,
                    conversation_id,
                    form.get("labels", ""),
                    now=now,
                    by=signed.agent,
                )
            elif action == "status":
                await actions.set_status(
                    uow,
                    signed.business,
                    conversation_id,
                    form.get("status", ""),
                    now=now,
                    until=_until(form.get("until", ""), ZoneInfo(signed.business.timezone)),
                    by=signed.agent,
                )
            await uow.commit()
    except KesherError as refused:
        return await _page(
            request,
            signed,
            conversation_id,
            error=refused.message,
            kept={action: form.get("text", form.get("labels", ""))},
        )
    await queue_sends(outbox_ids, services)
    page = await _page(request, signed, conversation_id)
    # The list beside it shows the change too (a resolved conversation leaves the open tab).
    page.headers["HX-Trigger"] = "conversations-changed"
    return page


@router.post("/conversations/{conversation_id}/reply", response_class=HTMLResponse)
@router.post("/conversations/{conversation_id}/assign", response_class=HTMLResponse)
@router.post("/conversations/{conversation_id}/labels", response_class=HTMLResponse)
@router.post("/conversations/{conversation_id}/status", response_class=HTMLResponse)
async def act(request: Request, signed: Signed, conversation_id: uuid.UUID) -> Response:
    return await _act(request, signed, conversation_id, await form_fields(request))
