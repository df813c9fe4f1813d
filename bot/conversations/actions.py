"""What an agent does with any conversation in the queue: read, reply, assign, label, snooze,
resolve or reopen it. A conversation with an open handoff is answered through the handoff,
which keeps its own rules (who owns it, its SLA).

Every change is written in the caller's transaction; replies go out through the outbox.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from bot.conversations import timeline
from bot.domain import (
    Agent,
    Business,
    Conversation,
    ConversationStatus,
    EventKind,
    InvalidInput,
    Message,
    NotFound,
)
from bot.handoffs import reach
from bot.handoffs import service as handoffs
from bot.outbound.replies import add_replies
from bot.ports import UnitOfWork
from bot.services import Services
from flows.inbox import StatusError, parse_labels, set_by_agent
from flows.outcome import Said


async def conversation_of(
    uow: UnitOfWork, business: Business, conversation_id: uuid.UUID
) -> Conversation:
    """The business's conversation; another business's is simply not found."""
    conversation = await uow.conversations.find(business.id, conversation_id)
    if conversation is None:
        raise NotFound(f"no conversation {conversation_id}", code="conversation_not_found")
    return conversation


async def assign(
    uow: UnitOfWork,
    business: Business,
    conversation_id: uuid.UUID,
    agent_id: int | None,
    *,
    now: datetime,
    by: Agent | None = None,
) -> None:
    """Give the conversation to one of the business's agents, or to nobody (None); `by` is
    the agent who did it (None: through the API)."""
    conversation = await conversation_of(uow, business, conversation_id)
    if agent_id is not None:
        agent = await uow.agents.get(agent_id)
        if agent is None or agent.business_id != business.id:
            raise NotFound(f"no agent {agent_id}", code="agent_not_found")
        if not agent.active:
            raise InvalidInput(f"agent {agent_id} is disabled", code="agent_disabled")
    await uow.conversations.assign(conversation.id, agent_id)
    await timeline.assigned(
        uow, business.id, conversation, agent_id, now=now, agent_id=by.id if by else None
    )


async def label(
    uow: UnitOfWork,
    business: Business,
    conversation_id: uuid.UUID,
    text: str,
    *,
    now: datetime,
    by: Agent | None = None,
) -> tuple[str, ...]:
    """Set the conversation's labels from what the agent typed ('vip, refund')."""
    conversation = await conversation_of(uow, business, conversation_id)
    try:
        labels = parse_labels(text)
    except StatusError as error:
        raise InvalidInput(str(error), code="invalid_labels") from None
    await uow.conversations.set_labels(conversation.id, labels)
    await timeline.labelled(
        uow, business.id, conversation, labels, now=now, agent_id=by.id if by else None
    )
    return labels


async def set_status(
    uow: UnitOfWork,
    business: Business,
    conversation_id: uuid.UUID,
    status: str,
    *,
    now: datetime,
    until: datetime | None = None,
    by: Agent | None = None,
) -> ConversationStatus:
    """Open, pending (waiting on the customer), snoozed until a time, or resolved; `by` is
    the agent who did it (None: through the API). A conversation with an open handoff is
    resolved by resolving the handoff."""
    conversation = await conversation_of(uow, business, conversation_id)
    try:
        standing = set_by_agent(status, now=now, until=until)
    except StatusError as error:
        raise InvalidInput(str(error), code="invalid_status") from None
    assert standing.status is not None
    if standing.status is not ConversationStatus.OPEN and await uow.handoffs.open_for(
        conversation.id
    ):
        raise InvalidInput(
            "the conversation has an open handoff: resolve the handoff", code="handoff_open"
        )
    await uow.conversations.set_standing(
        conversation.id, standing.status, at=now, snoozed_until=standing.snoozed_until
    )
    if standing.status is ConversationStatus.RESOLVED:
        await uow.conversations.mark_read(conversation.id)
    await timeline.status_changed(
        uow,
        business.id,
        conversation,
        standing.status,
        now=now,
        agent_id=by.id if by else None,
        until=standing.snoozed_until,
    )
    return standing.status


async def read(uow: UnitOfWork, business: Business, conversation_id: uuid.UUID) -> None:
    """An agent opened the conversation: nothing in it is unread any more."""
    conversation = await conversation_of(uow, business, conversation_id)
    await uow.conversations.mark_read(conversation.id)


async def reply(
    uow: UnitOfWork,
    services: Services,
    business: Business,
    conversation_id: uuid.UUID,
    agent: Agent,
    text: str,
    *,
    now: datetime,
    key: str | None = None,
) -> tuple[Message, list[int]]:
    """The agent's answer on the customer's channel. It is theirs now if it was nobody's, and
    the conversation waits on the customer (pending). With an open handoff, the handoff's
    reply (its owner, its templates outside WhatsApp's window) answers instead."""
    conversation = await conversation_of(uow, business, conversation_id)
    handoff = await uow.handoffs.open_for(conversation.id)
    if handoff is not None:
        return await handoffs.reply(
            uow, services, business, handoff.id, agent, text, now=now, key=key
        )
    text = text.strip()
    if not text:
        raise InvalidInput("the reply is empty", code="empty_reply")
    if len(text) > handoffs.AGENT_REPLY_MAX:
        raise InvalidInput(f"the reply is longer than {handoffs.AGENT_REPLY_MAX} characters")
    idempotency = f"conversation:{conversation.id}:{key or uuid.uuid4().hex}"
    earlier = await uow.outbox.by_key(f"{idempotency}:0")
    if earlier is not None:
        # The same form sent twice (a double click, a retry): it was sent once already.
        return await uow.messages.get(earlier.message_id), []
    identity = await uow.identities.get(conversation.identity_id)
    customer = await uow.customers.get(business.id, conversation.customer_id)
    assert customer is not None, "a conversation always belongs to a customer"
    kind = await reach.reply_kind(uow, services, business, identity, customer, None, now=now)
    messages, outbox_ids = await add_replies(
        uow,
        business,
        conversation,
        (Said(text),),
        channel=identity.channel,
        kind=kind,
        key=idempotency,
        now=now,
    )
    if conversation.assignee_id is None:
        await uow.conversations.assign(conversation.id, agent.id)
        await timeline.assigned(
            uow, business.id, conversation, agent.id, now=now, agent_id=agent.id
        )
    await uow.conversations.set_standing(conversation.id, ConversationStatus.PENDING, at=now)
    await timeline.status_changed(
        uow, business.id, conversation, ConversationStatus.PENDING, now=now, agent_id=agent.id
    )
    await uow.conversations.mark_read(conversation.id)
    await uow.events.add(
        business.id,
        customer.id,
        kind=EventKind.AGENT_REPLIED,
        occurred_at=now,
        data={
            "conversation_id": str(conversation.id),
            "agent_id": agent.id,
            "message_id": messages[0].id,
        },
    )
    return messages[0], outbox_ids
