"""The handoff service: open a handoff, give it to an agent, answer, note, resolve.

Every change is a move of the one state machine in `flows.handoff`, written in the caller's
transaction. From the request until it is resolved the conversation is in `human` mode and
the bot says nothing but the acknowledgement and, once, the late-answer update.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.checkins.catalog import contact_rules
from bot.checkins.planning import plan_service_touch
from bot.checkins.touches import channel_for
from bot.conversations import queue, timeline
from bot.domain import (
    Agent,
    AgentRole,
    Business,
    Conversation,
    ConversationMode,
    ConversationStatus,
    Customer,
    Direction,
    EventKind,
    Forbidden,
    Handoff,
    InvalidInput,
    Message,
    NotFound,
    OutboxKind,
)
from bot.handoffs import reach
from bot.handoffs.reach import check_contactable
from bot.outbound.replies import add_replies
from bot.ports import UnitOfWork
from bot.services import Services
from flows import follow_up
from flows.handoff import (
    Action,
    AgentLoad,
    HandoffRules,
    State,
    TransitionError,
    Trigger,
    expected_answer,
    move,
    parse_handoff_rules,
    pick_agent,
    sla_due,
)
from flows.outcome import Said

log = logging.getLogger(__name__)

LAPSED_BATCH = 200
AGENT_REPLY_MAX = 4000


def handoff_rules(business: Business) -> HandoffRules:
    """The business's stored handoff settings; they were checked when saved."""
    return parse_handoff_rules(business.handoff_rules or None)


def _moved(handoff: Handoff, action: Action) -> Handoff:
    try:
        return replace(handoff, state=move(State(handoff.state), action).value)
    except TransitionError as error:
        raise InvalidInput(str(error), code="handoff_state") from None


async def request(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    conversation: Conversation,
    *,
    trigger: Trigger,
    reason: str,
    now: datetime,
    details: Mapping[str, Any] | None = None,
    reply_to_id: int | None = None,
) -> tuple[Handoff, list[Message], list[int]]:
    """Hand the conversation to a person, unless it already is: acknowledge, then assign.

    Returns the open handoff, the acknowledgement and its outbox rows (none if it was open).
    """
    existing = await uow.handoffs.open_for(conversation.id)
    if existing is not None:
        return existing, [], []
    rules = contact_rules(business)
    settings = handoff_rules(business)
    handoff = await uow.handoffs.add(
        business.id,
        customer_id=customer.id,
        conversation_id=conversation.id,
        state=State.REQUESTED.value,
        trigger=trigger.value,
        reason=reason,
        details=dict(details or {}),
        requested_at=now,
        sla_due_at=sla_due(now, sla=settings.sla, rules=rules, timezone=business.timezone),
    )
    await uow.conversations.set_mode(conversation.id, ConversationMode.HUMAN)
    await queue.set_open(uow, business, conversation, now=now)
    await uow.events.add(
        business.id,
        customer.id,
        kind=EventKind.HANDOFF_REQUESTED,
        occurred_at=now,
        data={"handoff_id": handoff.id, "trigger": trigger.value, "reason": reason},
    )
    text = expected_answer(
        now,
        language=customer.language,
        business=business.name,
        sla=settings.sla,
        rules=rules,
        timezone=business.timezone,
        shown_in=customer.timezone,
        staffed=await queue.staffed(uow, business.id),
    )
    identity = await uow.identities.get(conversation.identity_id)
    messages, outbox_ids = await add_replies(
        uow,
        business,
        conversation,
        (Said(text),),
        channel=identity.channel,
        kind=OutboxKind.HANDOFF_NOTICE,
        key=f"handoff:{handoff.id}:ack",
        now=now,
        reply_to_id=reply_to_id,
    )
    return await _route(uow, business, handoff, now=now), messages, outbox_ids


async def _loads(uow: UnitOfWork, business_id: int) -> list[AgentLoad]:
    holding = await uow.agents.holding(business_id)
    return [
        AgentLoad(id=a.id, online=a.online, capacity=a.capacity, holding=holding.get(a.id, 0))
        for a in await uow.agents.list(business_id)
        if a.active
    ]


async def _route(
    uow: UnitOfWork, business: Business, handoff: Handoff, *, now: datetime
) -> Handoff:
    """Round-robin to the next free agent, else into the waiting queue."""
    chosen = pick_agent(
        await _loads(uow, business.id), after=await uow.handoffs.last_assigned_agent(business.id)
    )
    if chosen is None:
        if handoff.state == State.REQUESTED:
            handoff = _moved(handoff, Action.QUEUE)
            await uow.handoffs.save(handoff, at=now)
        return handoff
    return await _give(uow, business, handoff, chosen, action=Action.ASSIGN, now=now)


async def _give(
    uow: UnitOfWork,
    business: Business,
    handoff: Handoff,
    agent_id: int,
    *,
    action: Action,
    now: datetime,
) -> Handoff:
    handoff = replace(_moved(handoff, action), agent_id=agent_id, assigned_at=now)
    await uow.handoffs.save(handoff, at=now)
    await uow.events.add(
        business.id,
        handoff.customer_id,
        kind=EventKind.HANDOFF_ASSIGNED,
        occurred_at=now,
        data={"handoff_id": handoff.id, "agent_id": agent_id, "how": action.value},
    )
    return handoff


async def open_handoff(uow: UnitOfWork, business: Business, handoff_id: int) -> Handoff:
    handoff = await uow.handoffs.get(business.id, handoff_id)
    if handoff is None:
        raise NotFound(f"no handoff {handoff_id}", code="handoff_not_found")
    if not handoff.open:
        raise InvalidInput(f"handoff {handoff_id} is already resolved", code="handoff_state")
    return handoff


async def _agent_of(uow: UnitOfWork, business: Business, agent_id: int) -> Agent:
    agent = await uow.agents.get(agent_id)
    if agent is None or agent.business_id != business.id:
        raise NotFound(f"no agent {agent_id}", code="agent_not_found")
    if not agent.active:
        raise InvalidInput(f"agent {agent_id} is disabled", code="agent_disabled")
    return agent


async def claim(
    uow: UnitOfWork, business: Business, handoff_id: int, agent: Agent, *, now: datetime
) -> Handoff:
    """The agent takes the handoff: from the queue, or over from a colleague."""
    handoff = await open_handoff(uow, business, handoff_id)
    if handoff.agent_id == agent.id:
        return handoff
    action = Action.ASSIGN if handoff.agent_id is None else Action.TRANSFER
    return await _give(uow, business, handoff, agent.id, action=action, now=now)


async def transfer(
    uow: UnitOfWork, business: Business, handoff_id: int, agent_id: int, *, now: datetime
) -> Handoff:
    handoff = await open_handoff(uow, business, handoff_id)
    target = await _agent_of(uow, business, agent_id)
    action = Action.ASSIGN if handoff.agent_id is None else Action.TRANSFER
    return await _give(uow, business, handoff, target.id, action=action, now=now)


async def set_online(
    uow: UnitOfWork, business: Business, agent: Agent, online: bool, *, now: datetime
) -> None:
    """Going offline gives the agent's handoffs to others (or back to the queue);
    coming online takes waiting ones; a disabled agent cannot come online."""
    if online and not agent.active:
        raise InvalidInput(f"agent {agent.id} is disabled", code="agent_disabled")
    await uow.agents.set_online(agent.id, online, at=now)
    if not online:
        for handoff in await uow.handoffs.list(business.id, agent_id=agent.id):
            waiting = replace(_moved(handoff, Action.UNASSIGN), agent_id=None)
            await uow.handoffs.save(waiting, at=now)
            await _route(uow, business, waiting, now=now)
        return
    for handoff in await uow.handoffs.list(business.id):
        if handoff.agent_id is None:
            await _route(uow, business, handoff, now=now)


async def sign_out_lapsed(services: Services, *, now: datetime) -> int:
    """Agents whose inbox sessions have all expired go offline, their handoffs to others: an
    agent who closed the laptop without signing out is not there to answer."""
    async with services.uow() as uow:
        lapsed = await uow.agents.lapsed(now=now, limit=LAPSED_BATCH)
    for agent in lapsed:
        async with services.uow() as uow:
            business = await uow.businesses.get(agent.business_id)
            await set_online(uow, business, agent, False, now=now)
            await uow.commit()
    return len(lapsed)


async def reply(
    uow: UnitOfWork,
    services: Services,
    business: Business,
    handoff_id: int,
    agent: Agent,
    text: str,
    *,
    now: datetime,
    template: str | None = None,
    key: str | None = None,
) -> tuple[Message, list[int]]:
    """The agent's answer, sent on the customer's channel through the outbox.

    On WhatsApp outside the 24-hour window free text cannot arrive: the agent must pick one
    of the business's approved templates, or the reply is refused with the reason. A reply to
    a customer who opted out or cannot be reached is refused too (`opted_out`, `unreachable`)
    rather than accepted and then skipped.
    """
    text = text.strip()
    if not text:
        raise InvalidInput("the reply is empty", code="empty_reply")
    if len(text) > AGENT_REPLY_MAX:
        raise InvalidInput(f"the reply is longer than {AGENT_REPLY_MAX} characters")
    handoff = await open_handoff(uow, business, handoff_id)
    idempotency = f"agent:{handoff.id}:{key or uuid.uuid4().hex}"
    earlier = await uow.outbox.by_key(f"{idempotency}:0")
    if earlier is not None:
        # The same form sent twice (a double click, a retry): it was sent once already.
        return await uow.messages.get(earlier.message_id), []
    if handoff.agent_id is None:
        handoff = await _give(uow, business, handoff, agent.id, action=Action.ASSIGN, now=now)
    elif handoff.agent_id != agent.id and agent.role is not AgentRole.ADMIN:
        raise Forbidden("another agent has this handoff; claim it first", code="not_yours")
    conversation = await uow.conversations.get(handoff.conversation_id)
    await uow.conversations.mark_read(conversation.id)
    identity = await uow.identities.get(conversation.identity_id)
    customer = await uow.customers.get(business.id, handoff.customer_id)
    assert customer is not None, "a handoff always belongs to a customer"
    check_contactable(customer, identity)
    kind = await reach.reply_kind(uow, services, business, identity, customer, template, now=now)
    replied = _moved(handoff, Action.REPLY)
    if replied.first_reply_at is None:
        replied = replace(replied, first_reply_at=now)
    await uow.handoffs.save(replied, at=now)
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
    await uow.events.add(
        business.id,
        customer.id,
        kind=EventKind.AGENT_REPLIED,
        occurred_at=now,
        data={
            "handoff_id": handoff.id,
            "conversation_id": str(handoff.conversation_id),
            "agent_id": agent.id,
            "message_id": messages[0].id,
        },
    )
    return messages[0], outbox_ids


async def note(
    uow: UnitOfWork, business: Business, handoff_id: int, agent: Agent, text: str, *, now: datetime
) -> None:
    """An internal note on the customer's record: agents see it, the customer never does."""
    text = text.strip()
    if not text:
        raise InvalidInput("the note is empty", code="empty_note")
    handoff = await uow.handoffs.get(business.id, handoff_id)
    if handoff is None:
        raise NotFound(f"no handoff {handoff_id}", code="handoff_not_found")
    await uow.events.add(
        business.id,
        handoff.customer_id,
        kind=EventKind.NOTE,
        occurred_at=now,
        data={"handoff_id": handoff.id, "agent_id": agent.id, "agent": agent.name, "text": text},
    )


async def resolve(
    uow: UnitOfWork,
    business: Business,
    handoff_id: int,
    *,
    now: datetime,
    agent: Agent | None = None,
) -> Handoff:
    """Done: the conversation is the bot's again, and a "did we solve it?" is planned."""
    handoff = await open_handoff(uow, business, handoff_id)
    resolved = replace(_moved(handoff, Action.RESOLVE), resolved_at=now)
    await uow.handoffs.save(resolved, at=now)
    await uow.conversations.set_mode(handoff.conversation_id, ConversationMode.BOT)
    conversation = await uow.conversations.get(handoff.conversation_id)
    await uow.conversations.set_standing(conversation.id, ConversationStatus.RESOLVED, at=now)
    await uow.conversations.mark_read(conversation.id)
    await timeline.status_changed(
        uow,
        business.id,
        conversation,
        ConversationStatus.RESOLVED,
        now=now,
        agent_id=agent.id if agent else None,
    )
    await uow.events.add(
        business.id,
        handoff.customer_id,
        kind=EventKind.HANDOFF_RESOLVED,
        occurred_at=now,
        data={"handoff_id": handoff.id, "agent_id": agent.id if agent else None},
    )
    after = handoff_rules(business).follow_up_after
    customer = await uow.customers.get(business.id, handoff.customer_id)
    if after is not None and customer is not None:
        await plan_service_touch(
            uow,
            business,
            customer,
            flow=follow_up.NAME,
            key=f"follow_up:{handoff.id}",
            due=now + after,
            reason="after_handoff",
            now=now,
        )
    return resolved


@dataclass(frozen=True, slots=True)
class Summary:
    """What an agent reads first: why the customer is here and what they said."""

    reasons: tuple[str, ...]
    last_messages: tuple[str, ...]
    answers: tuple[str, ...]
    text: str | None = None


async def summary(uow: UnitOfWork, handoff: Handoff, *, messages: int = 3) -> Summary:
    """An extractive summary: the trigger's reasons, the last customer messages, recent answers."""
    reasons = tuple(str(r) for r in handoff.details.get("reasons", ())) or (handoff.reason,)
    said = [
        m.text
        for m in await uow.messages.for_customer(handoff.customer_id, limit=50)
        if m.direction is Direction.IN and m.text
    ]
    answers = [
        f"{a.flow}: {a.question} = {a.shown}"
        for a in await uow.answers.for_customer(handoff.customer_id, limit=5)
    ]
    return Summary(
        reasons=reasons,
        last_messages=tuple(said[-messages:]),
        answers=tuple(answers),
        text=handoff.details.get("summary"),
    )


def visible(handoffs: Sequence[Handoff], agent: Agent) -> list[Handoff]:
    """The queue an agent works from: theirs first, then the unassigned, then colleagues'."""
    order = {agent.id: 0, None: 1}
    return sorted(handoffs, key=lambda h: (order.get(h.agent_id, 2), h.requested_at))


async def request_for(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    *,
    reason: str,
    now: datetime,
) -> tuple[Handoff, list[Message], list[int]]:
    """A handoff the business asks for (its API): on the channel the customer is reachable on."""
    identity = await channel_for(uow, customer)
    if identity is None:
        raise InvalidInput(
            "the customer has no channel Kesher can reach them on", code="unreachable"
        )
    conversation = await uow.conversations.open_for(identity.id)
    if conversation is None:
        conversation = await uow.conversations.add(
            business.id, customer_id=customer.id, identity_id=identity.id, started_at=now
        )
    return await request(
        uow, business, customer, conversation, trigger=Trigger.API, reason=reason, now=now
    )
