"""The REST API for every conversation in the team's queue: list it with the inbox's filters
(page by page on a cursor), read one with its messages, and reply to, assign, label, snooze,
resolve or reopen it, as an agent does in the inbox."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query
from pydantic import AwareDatetime, BaseModel, Field

from app.web.api.agents import MAX_ID, agent_in_business
from app.web.deps import AdminBusiness, ServicesDep
from app.web.text_json import TextJsonRoute
from bot.conversations import actions
from bot.domain import (
    Agent,
    Business,
    ChannelName,
    Conversation,
    ConversationStatus,
    InvalidInput,
    Message,
    QueueFilter,
)
from bot.outbound.replies import queue_sends
from bot.ports import UnitOfWork
from bot.services import Services

router = APIRouter(prefix="/api/v1/{business}", tags=["conversations"], route_class=TextJsonRoute)

PAGE_MAX = 100
THREAD = 200
AgentId = Annotated[int, Field(ge=1, le=MAX_ID)]
Label = Annotated[str, Field(pattern=r"^#?[\w-]{1,32}$", examples=["vip"])]


class MessageOut(BaseModel):
    id: int
    direction: str = Field(description="in (from the customer) or out")
    text: str
    status: str
    at: datetime


class ConversationOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    customer_name: str | None
    address: str = Field(description="the channel address the customer writes from")
    channel: ChannelName
    mode: str = Field(description="bot, or human during a handoff")
    status: ConversationStatus | None = Field(
        description="open, pending (waiting on the customer), snoozed or resolved; null while "
        "no person is needed"
    )
    status_at: datetime | None
    snoozed_until: datetime | None
    assignee_id: int | None
    labels: list[str]
    unread: int = Field(description="customer messages no agent has read")
    last_message_at: datetime | None
    last_text: str | None = Field(None, description="the customer's last words")


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next: str | None = Field(description="the cursor of the next page; null on the last")


class ConversationDetail(ConversationOut):
    handoff_id: int | None = Field(description="the open handoff, which a reply goes through")
    messages: list[MessageOut] = Field(description=f"the latest {THREAD}, oldest first")


class Acting(BaseModel):
    agent: AgentId | None = Field(
        None, description="the agent acting, counted in their performance; null: nobody named"
    )


class ReplyIn(BaseModel):
    agent: AgentId = Field(description="the agent who answers")
    text: Annotated[str, Field(min_length=1, max_length=4000)]
    key: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="an idempotency key: the same key twice sends once"
    )


class AssignIn(Acting):
    assignee: AgentId | None = Field(description="the agent it is given to; null: nobody")


class LabelsIn(Acting):
    labels: Annotated[list[Label], Field(max_length=10)] = Field(
        description="the whole set, replacing the old: letters (any script), digits, '-' or '_', "
        "up to 32 each"
    )


class SnoozeIn(Acting):
    until: AwareDatetime = Field(description="when it opens again; with a timezone, to come")


def _cursor(row: ConversationOut) -> str:
    assert row.last_message_at is not None
    raw = json.dumps([row.last_message_at.isoformat(), str(row.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        at, conversation_id = json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
        parsed = datetime.fromisoformat(at), uuid.UUID(conversation_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor: not a cursor this list gave", code="invalid_cursor") from None
    if parsed[0].tzinfo is None:
        raise InvalidInput("cursor: not a cursor this list gave", code="invalid_cursor")
    return parsed


def _out(
    conversation: Conversation,
    *,
    name: str | None,
    address: str,
    channel: ChannelName,
    last_text: str | None = None,
) -> ConversationOut:
    return ConversationOut(
        id=conversation.id,
        customer_id=conversation.customer_id,
        customer_name=name,
        address=address,
        channel=channel,
        mode=conversation.mode.value,
        status=conversation.status,
        status_at=conversation.status_at,
        snoozed_until=conversation.snoozed_until,
        assignee_id=conversation.assignee_id,
        labels=list(conversation.labels),
        unread=conversation.unread,
        last_message_at=conversation.last_message_at,
        last_text=last_text,
    )


def _message_out(message: Message) -> MessageOut:
    return MessageOut(
        id=message.id,
        direction=message.direction.value,
        text=message.text,
        status=message.status.value,
        at=message.created_at,
    )


async def _detail(
    uow: UnitOfWork, business: Business, conversation_id: uuid.UUID
) -> ConversationDetail:
    conversation = await actions.conversation_of(uow, business, conversation_id)
    customer = await uow.customers.get(business.id, conversation.customer_id)
    identity = await uow.identities.get(conversation.identity_id)
    handoff = await uow.handoffs.open_for(conversation.id)
    messages = await uow.messages.for_conversation(conversation.id, limit=THREAD)
    summary = _out(
        conversation,
        name=customer.name if customer else None,
        address=identity.address,
        channel=identity.channel,
    )
    return ConversationDetail(
        **summary.model_dump(),
        handoff_id=handoff.id if handoff else None,
        messages=[_message_out(m) for m in messages],
    )


async def _acting(uow: UnitOfWork, business: Business, agent_id: int | None) -> Agent | None:
    return await agent_in_business(uow, business.id, agent_id) if agent_id else None


@router.get("/conversations", response_model=ConversationPage)
async def list_conversations(
    services: ServicesDep,
    business: AdminBusiness,
    status: ConversationStatus = ConversationStatus.OPEN,
    assignee: Annotated[int | None, Query(ge=1, le=MAX_ID, description="one agent's")] = None,
    unassigned: bool = False,
    channel: ChannelName | None = None,
    label: Annotated[str | None, Query(pattern=r"^#?[\w-]{1,32}$")] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="the customer's name, address or words"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next` of the page before")
    ] = None,
) -> ConversationPage:
    """One status's conversations, the latest message first, with the inbox's filters."""
    chosen = QueueFilter(
        status=status,
        assignee=assignee,
        unassigned=unassigned,
        channel=channel,
        label=label.casefold().lstrip("#") if label else None,
        search=(q.strip() or None) if q else None,
    )
    after = _after(cursor) if cursor else None
    async with services.uow() as uow:
        rows = await uow.conversations.queue(business.id, chosen, limit=limit + 1, after=after)
    items = [
        _out(
            r.conversation,
            name=r.customer_name,
            address=r.address,
            channel=r.channel,
            last_text=r.last_text,
        )
        for r in rows[:limit]
    ]
    more = len(rows) > limit and items[-1].last_message_at is not None
    return ConversationPage(items=items, next=_cursor(items[-1]) if more else None)


@router.get("/conversations/{conversation_id}", response_model=ConversationDetail)
async def get_conversation(
    services: ServicesDep, business: AdminBusiness, conversation_id: uuid.UUID
) -> ConversationDetail:
    """The conversation with its latest messages."""
    async with services.uow() as uow:
        return await _detail(uow, business, conversation_id)


@router.post("/conversations/{conversation_id}/reply", status_code=202)
async def reply(
    services: ServicesDep, business: AdminBusiness, conversation_id: uuid.UUID, body: ReplyIn
) -> MessageOut:
    """The agent's answer on the customer's channel (queued; 202). The conversation is theirs
    if it was nobody's, and waits on the customer; with an open handoff, the handoff answers."""
    async with services.uow() as uow:
        agent = await agent_in_business(uow, business.id, body.agent)
        message, outbox_ids = await actions.reply(
            uow,
            services,
            business,
            conversation_id,
            agent,
            body.text,
            now=services.clock.now(),
            key=body.key,
        )
        await uow.commit()
    await queue_sends(outbox_ids, services)
    return _message_out(message)


async def _changed(
    services: Services, business: Business, conversation_id: uuid.UUID
) -> ConversationDetail:
    async with services.uow() as uow:
        return await _detail(uow, business, conversation_id)


@router.post("/conversations/{conversation_id}/assign", response_model=ConversationDetail)
async def assign(
    services: ServicesDep, business: AdminBusiness, conversation_id: uuid.UUID, body: AssignIn
) -> ConversationDetail:
    async with services.uow() as uow:
        by = await _acting(uow, business, body.agent)
        await actions.assign(
            uow, business, conversation_id, body.assignee, now=services.clock.now(), by=by
        )
        await uow.commit()
    return await _changed(services, business, conversation_id)


@router.put("/conversations/{conversation_id}/labels", response_model=ConversationDetail)
async def label(
    services: ServicesDep, business: AdminBusiness, conversation_id: uuid.UUID, body: LabelsIn
) -> ConversationDetail:
    """Replace the conversation's labels (an empty list clears them)."""
    async with services.uow() as uow:
        by = await _acting(uow, business, body.agent)
        await actions.label(
            uow, business, conversation_id, ",".join(body.labels), now=services.clock.now(), by=by
        )
        await uow.commit()
    return await _changed(services, business, conversation_id)


async def _set_status(
    services: Services,
    business: Business,
    conversation_id: uuid.UUID,
    status: ConversationStatus,
    acting: Acting | None,
    *,
    until: datetime | None = None,
) -> ConversationDetail:
    async with services.uow() as uow:
        by = await _acting(uow, business, acting.agent if acting else None)
        await actions.set_status(
            uow,
            business,
            conversation_id,
            status.value,
            now=services.clock.now(),
            until=until,
            by=by,
        )
        await uow.commit()
    return await _changed(services, business, conversation_id)


@router.post("/conversations/{conversation_id}/snooze", response_model=ConversationDetail)
async def snooze(
    services: ServicesDep, business: AdminBusiness, conversation_id: uuid.UUID, body: SnoozeIn
) -> ConversationDetail:
    """Set it aside until a time: it opens again then, or when the customer writes."""
    return await _set_status(
        services, business, conversation_id, ConversationStatus.SNOOZED, body, until=body.until
    )


@router.post("/conversations/{conversation_id}/resolve", response_model=ConversationDetail)
async def resolve(
    services: ServicesDep,
    business: AdminBusiness,
    conversation_id: uuid.UUID,
    body: Annotated[Acting | None, Body()] = None,
) -> ConversationDetail:
    """Done (a conversation with an open handoff is resolved by resolving the handoff: 400)."""
    return await _set_status(services, business, conversation_id, ConversationStatus.RESOLVED, body)


@router.post("/conversations/{conversation_id}/reopen", response_model=ConversationDetail)
async def reopen(
    services: ServicesDep,
    business: AdminBusiness,
    conversation_id: uuid.UUID,
    body: Annotated[Acting | None, Body()] = None,
) -> ConversationDetail:
    """Open in the queue again."""
    return await _set_status(services, business, conversation_id, ConversationStatus.OPEN, body)
