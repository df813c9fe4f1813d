"""The inbound pipeline: dedupe, lock the conversation, record, decide, and queue the replies.

Everything a delivery changes is written in one transaction, replies as outbox rows beside
the message, so a delivery is either stored whole (and then acknowledged) or not at all.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.conversations import queue
from bot.domain import (
    Business,
    Conversation,
    ConversationMode,
    Customer,
    DeliveryStatus,
    Direction,
    DuplicateDelivery,
    EventKind,
    Identity,
    Inbound,
    InboundKind,
    Message,
    OutboxKind,
)
from bot.handoffs import agents
from bot.handoffs import service as handoffs
from bot.inbound import links
from bot.inbound.decisions import consent_of, decide, trigger_of
from bot.inbound.senders import (
    Sender,
    customer_link_token,
    linked_customer,
    sender_of,
    set_reachable,
)
from bot.jobs import AnnounceHandoff, Job, ReviewMessage
from bot.knowledge import answering as answering_questions
from bot.outbound.replies import add_replies, queue_sends
from bot.ports import UnitOfWork
from bot.services import Services
from bot.telemetry import INBOUND, PIPELINE_SECONDS
from flows.consent import ConsentCommand
from flows.frustration import History, PastMessage, Sensitivity, Verdict
from flows.inbox import Turn, turn_of

log = logging.getLogger(__name__)

SEEN_TTL = timedelta(days=7)
LOCK_TIMEOUT = timedelta(seconds=20)
HISTORY_WINDOW = timedelta(hours=24)
HISTORY_MESSAGES = 10


@dataclass(frozen=True, slots=True)
class Handled:
    """The stored inbound message and the replies decided for it (the first time it came)."""

    message_id: int
    customer_id: str
    replies: tuple[Message, ...]
    duplicate: bool = False


async def handle_inbound(business: Business, inbound: Inbound, services: Services) -> Handled:
    started = time.perf_counter()
    handled = await _handle(business, inbound, services)
    channel = inbound.channel.value
    INBOUND.labels(channel, "duplicate" if handled.duplicate else "stored").inc()
    if not handled.duplicate:
        PIPELINE_SECONDS.labels(channel).observe(time.perf_counter() - started)
    return handled


async def _handle(business: Business, inbound: Inbound, services: Services) -> Handled:
    seen_key = f"inbound:{business.id}:{inbound.channel.value}:{inbound.delivery_id}"
    # The shared set only spares the lock and the write; the delivery log has the last word.
    # The key is set as the delivery comes (one round trip, not a look and a later write): a
    # copy that finds it set looks in the log, and goes on if the first was never stored.
    if not await services.idempotency.add(seen_key, ttl=SEEN_TTL):
        earlier = await _earlier(business, inbound, services)
        if earlier is not None:
            return earlier
    lock_key = f"conversation:{business.id}:{inbound.channel.value}:{inbound.address}"
    async with services.lock.hold(lock_key, timeout=LOCK_TIMEOUT):
        try:
            recorded = await _record(business, inbound, services)
        except DuplicateDelivery:
            earlier = await _earlier(business, inbound, services)
            if earlier is None:
                raise
            return earlier
    log.info(
        "stored %s delivery %s with %d replies",
        inbound.channel.value,
        inbound.delivery_id,
        len(recorded.handled.replies),
    )
    # The replies go first: a job queued after them (a second opinion that hands the
    # conversation to a person) adds replies that must leave after these.
    await queue_sends(recorded.outbox_ids, services)
    await services.enqueue(*recorded.jobs)
    return recorded.handled


async def _earlier(business: Business, inbound: Inbound, services: Services) -> Handled | None:
    """What the first copy of this delivery was answered, or None if it was never stored."""
    async with services.uow() as uow:
        message_id = await uow.deliveries.find(business.id, inbound.channel, inbound.delivery_id)
        if message_id is None:
            return None
        if message_id == 0:
            return Handled(0, "", (), duplicate=True)
        message = await uow.messages.get(message_id)
        replies = await uow.messages.replies_to(message_id)
    return Handled(message_id, str(message.customer_id), tuple(replies), duplicate=True)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What one delivery's transaction wrote: the answer for the caller, the outbox rows to
    hand to the workers, and the jobs to queue, both once it has committed."""

    handled: Handled
    outbox_ids: tuple[int, ...] = ()
    jobs: tuple[Job, ...] = ()


# A delivery that puts no message on the record and is answered with nothing.
_NOTHING = Handled(0, "", ())


async def _record(business: Business, inbound: Inbound, services: Services) -> Recorded:
    # A copy stored before is refused by the delivery log's unique key (DuplicateDelivery), and
    # everything written for it rolls back with the transaction.
    async with services.uow() as uow:
        if inbound.kind in _CHANGES:
            recorded = Recorded(await _record_change(uow, business, inbound))
        else:
            recorded = await _record_message(
                uow, business, inbound, now=services.clock.now(), services=services
            )
        await uow.commit()
    return recorded


_CHANGES = frozenset({InboundKind.EDIT, InboundKind.BLOCKED, InboundKind.UNBLOCKED})


async def _record_change(uow: UnitOfWork, business: Business, inbound: Inbound) -> Handled:
    """An edit, a block or an unblock: the record changes, nothing is answered."""
    identity = await uow.identities.find(business.id, inbound.channel, inbound.address)
    if identity is not None:
        if inbound.kind is InboundKind.EDIT:
            await _record_edit(uow, business, identity, inbound)
        else:
            await set_reachable(
                uow, business, identity, inbound, reachable=inbound.kind is InboundKind.UNBLOCKED
            )
    await _log_delivery(uow, business, inbound, inbound.delivery_id, message_id=None)
    return Handled(0, str(identity.customer_id) if identity else "", ())


async def _record_edit(
    uow: UnitOfWork, business: Business, identity: Identity, inbound: Inbound
) -> None:
    text = _recorded_text(inbound)
    original = (
        await uow.messages.find_inbound(identity.id, inbound.channel_message_id)
        if inbound.channel_message_id
        else None
    )
    if original is not None:
        await uow.messages.record_edit(original.id, text=text, at=inbound.received_at)
        return
    await uow.events.add(
        business.id,
        identity.customer_id,
        kind=EventKind.MESSAGE_EDITED,
        occurred_at=inbound.received_at,
        data={"channel_message_id": inbound.channel_message_id, "text": text},
    )


async def _record_message(
    uow: UnitOfWork, business: Business, inbound: Inbound, *, now: datetime, services: Services
) -> Recorded:
    """A message, command or button tap: who wrote, in which conversation; scored, stored,
    decided, and answered through the outbox or handed to a person."""
    tap = _tap_key(inbound)
    if tap is not None and await uow.deliveries.find(business.id, inbound.channel, tap):
        # A second tap on buttons already answered: acknowledged by the channel, else ignored.
        await _log_delivery(uow, business, inbound, inbound.delivery_id, message_id=None)
        return Recorded(_NOTHING)
    token = agents.telegram_link_token(inbound)
    if token is not None:
        await _log_delivery(uow, business, inbound, inbound.delivery_id, message_id=None)
        return Recorded(
            _NOTHING, jobs=(await links.link_agent(uow, business, inbound, token, now=now),)
        )
    linked = None
    link = customer_link_token(inbound)
    if link is not None:
        linked = await linked_customer(uow, business, link, now=now)
        if linked is None:
            await _log_delivery(uow, business, inbound, inbound.delivery_id, message_id=None)
            return Recorded(
                _NOTHING, jobs=(await links.refuse_customer_link(uow, business, inbound),)
            )
    sender = await sender_of(uow, business, inbound, linked=linked)
    conversation, first = await _conversation_of(uow, business, sender, now=now)
    # Scored before it is stored, so the score goes in with the message. A consent word is a
    # command, not a mood: "STOP" would read as anger, and its own event says what it was.
    command = consent_of(business, inbound)
    verdict = (
        await _assess(
            uow,
            business,
            sender,
            conversation.id,
            inbound.text,
            services,
            first=first,
            at=inbound.received_at,
        )
        if inbound.kind is InboundKind.MESSAGE and inbound.text and command is None
        else None
    )
    message = await _store(uow, business, inbound, conversation, verdict, tap=tap)
    if verdict is not None and verdict.handoff:
        await _note_frustration(uow, business, sender.customer, message, verdict)
    jobs: tuple[Job, ...] = ()
    reviewer = services.encoder is not None or services.second_opinion is not None
    if verdict is not None and verdict.uncertain and reviewer:
        jobs = (ReviewMessage(business.id, message.id),)
    recorded = await _answer(
        uow,
        business,
        sender,
        conversation,
        inbound,
        message,
        command=command,
        verdict=verdict,
        first=first,
        now=now,
    )
    return replace(recorded, jobs=jobs + recorded.jobs)


async def _conversation_of(
    uow: UnitOfWork, business: Business, sender: Sender, *, now: datetime
) -> tuple[Conversation, bool]:
    """The identity's open conversation, or a new one; and whether it began with this message."""
    # An identity made just now has no conversation yet.
    conversation = (
        None if sender.new_identity else await uow.conversations.open_for(sender.identity.id)
    )
    if conversation is not None:
        await uow.conversations.set_last_message(conversation.id, at=now)
        return conversation, False
    conversation = await uow.conversations.add(
        business.id,
        customer_id=sender.customer.id,
        identity_id=sender.identity.id,
        started_at=now,
    )
    return conversation, True


async def _store(
    uow: UnitOfWork,
    business: Business,
    inbound: Inbound,
    conversation: Conversation,
    verdict: Verdict | None,
    *,
    tap: str | None,
) -> Message:
    """The message on the record with its score, and its delivery (and button tap) logged."""
    if inbound.kind is InboundKind.BUTTON and not inbound.note:
        inbound = replace(inbound, note=await _tapped_label(uow, conversation, inbound.choice))
    message = await uow.messages.add(
        business.id,
        conversation=conversation,
        direction=Direction.IN,
        channel=inbound.channel,
        text=_recorded_text(inbound),
        status=DeliveryStatus.RECEIVED,
        created_at=inbound.received_at,
        channel_message_id=inbound.channel_message_id,
        frustration=verdict.score if verdict is not None else None,
        frustration_reasons=verdict.reasons if verdict is not None else (),
    )
    await _log_delivery(uow, business, inbound, inbound.delivery_id, message_id=message.id)
    if tap is not None:
        await _log_delivery(uow, business, inbound, tap, message_id=message.id)
    return message


async def _answer(
    uow: UnitOfWork,
    business: Business,
    sender: Sender,
    conversation: Conversation,
    inbound: Inbound,
    message: Message,
    *,
    command: ConsentCommand | None,
    verdict: Verdict | None,
    first: bool,
    now: datetime,
) -> Recorded:
    """Decide the turn, then either hand the conversation to a person (whose acknowledgement,
    with the expected wait, answers instead of the bot) or write the bot's replies."""
    customer = sender.customer
    human = conversation.mode is ConversationMode.HUMAN
    decision = await decide(
        uow,
        business,
        customer,
        conversation,
        inbound,
        command,
        first=first,
        now=now,
        new_customer=sender.new_customer,
    )
    kind, outcome = decision.kind, decision.outcome
    # A customer telling a check-in what went wrong is heard by the flow, which offers a
    # person itself; only an explicit request for one skips ahead.
    if (
        decision.answering
        and verdict is not None
        and not (verdict.wants_person or verdict.wants_to_leave)
    ):
        verdict = None
    # Opting out stops proactive contact only: an opted-out customer asking for a person,
    # or frustrated, is handed to one as anyone is.
    trigger = None if human or kind is OutboxKind.CONSENT else trigger_of(outcome, verdict)
    if trigger is not None:
        handoff, replies, outbox_ids = await handoffs.request(
            uow,
            business,
            customer,
            conversation,
            trigger=trigger[0],
            reason=trigger[1],
            details={**trigger[2], "message_id": message.id},
            now=now,
            reply_to_id=message.id,
        )
        # The handoff opened the conversation: the turn counts it unread, nothing more.
        opened = await uow.conversations.get(conversation.id)
        await queue.record_turn(uow, business, opened, Turn.NEEDS_PERSON, now=now)
        return Recorded(
            Handled(message.id, str(customer.id), tuple(replies)),
            tuple(outbox_ids),
            (AnnounceHandoff(business.id, handoff.id),),
        )
    if not decision.answering and queue.bot_may_answer(conversation):
        question = await answering_questions.defer(
            uow, business, customer, inbound, message, outcome, first=first
        )
        if question is not None:
            # The worker answers, from the knowledge base or with the honest reply, and moves
            # the conversation in the queue then.
            return Recorded(Handled(message.id, str(customer.id), ()), jobs=(question,))
    after = await queue.record_turn(
        uow, business, conversation, turn_of(outcome, otherwise=decision.turn), now=now
    )
    replies, outbox_ids = await add_replies(
        uow,
        business,
        conversation,
        outcome.replies,
        channel=inbound.channel,
        kind=kind,
        key=f"reply:{message.id}",
        now=now,
        reply_to_id=message.id,
    )
    return Recorded(
        Handled(message.id, str(customer.id), tuple(replies)),
        tuple(outbox_ids),
        queue.announcements(business, conversation, after),
    )


async def _tapped_label(
    uow: UnitOfWork, conversation: Conversation, choice: str | None
) -> str | None:
    """The label of the button tapped, as the latest message offering it showed it; a channel
    that does not say what the button read (the sandbox) is answered from the record."""
    if choice is None:
        return None
    recent = await uow.messages.for_customer(conversation.customer_id, limit=20)
    for message in reversed(recent):
        if message.direction is Direction.OUT and message.choices:
            return next((c.label for c in message.choices if c.id == choice), None)
    return None


def _recorded_text(inbound: Inbound) -> str:
    """What goes on the record: the words with a note of what else came ("[photo] caption")."""
    if inbound.kind is InboundKind.BUTTON:
        return inbound.note or inbound.choice or ""
    return " ".join(p for p in (inbound.note, inbound.text) if p) or (inbound.choice or "")


def _tap_key(inbound: Inbound) -> str | None:
    """A button message can be answered once; its key sits in the delivery log beside the tap."""
    if inbound.kind is not InboundKind.BUTTON or not inbound.channel_message_id:
        return None
    return f"button:{inbound.address}:{inbound.channel_message_id}"


async def _log_delivery(
    uow: UnitOfWork,
    business: Business,
    inbound: Inbound,
    delivery_id: str,
    *,
    message_id: int | None,
) -> None:
    await uow.deliveries.add(
        business.id,
        channel=inbound.channel,
        delivery_id=delivery_id,
        message_id=message_id,
        received_at=inbound.received_at,
    )


async def _assess(
    uow: UnitOfWork,
    business: Business,
    sender: Sender,
    conversation_id: uuid.UUID,
    text: str,
    services: Services,
    *,
    first: bool,
    at: datetime,
) -> Verdict:
    """Score the message for frustration against the customer's recent messages and handoffs
    (a conversation begun with this message has no earlier messages, a new customer no
    handoffs). Only a handoff still open counts as a recent one: a resolved handoff is the
    agent's judgement that the matter is closed."""
    earlier = (
        ()
        if first
        else await uow.messages.from_customer(
            conversation_id, since=at - HISTORY_WINDOW, before_id=None, limit=HISTORY_MESSAGES
        )
    )
    last = (
        []
        if sender.new_customer
        else await uow.handoffs.list(
            business.id, open_only=False, customer_id=sender.customer.id, limit=1
        )
    )
    history = History(
        earlier=tuple(PastMessage(m.text, m.created_at) for m in earlier),
        last_handoff_at=last[0].requested_at if last and last[0].open else None,
    )
    detector = replace(services.detector, sensitivity=Sensitivity(business.detector_sensitivity))
    return detector.assess(text, history=history, now=at)


async def _note_frustration(
    uow: UnitOfWork, business: Business, customer: Customer, message: Message, verdict: Verdict
) -> None:
    """A handoff-worthy score goes on the customer's record."""
    await uow.events.add(
        business.id,
        customer.id,
        kind=EventKind.FRUSTRATION_DETECTED,
        occurred_at=message.created_at,
        data={
            "message_id": message.id,
            "score": verdict.score,
            "reasons": list(verdict.reasons),
            "wants_person": verdict.wants_person,
            "wants_to_leave": verdict.wants_to_leave,
        },
    )
