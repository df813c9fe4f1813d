"""The inbound pipeline: dedupe, lock the conversation, record, decide, and queue the replies.

Everything a delivery changes is written in one transaction, replies as outbox rows beside
the message, so a delivery is either stored whole (and then acknowledged) or not at all.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import timedelta

from bot.domain import (
    Business,
    Choice,
    Customer,
    DeliveryStatus,
    Direction,
    DuplicateDelivery,
    Identity,
    Inbound,
    Message,
    OutboxKind,
)
from bot.ports import UnitOfWork
from bot.review import REVIEW_TASK
from bot.services import Services
from bot.telemetry import INBOUND, PIPELINE_SECONDS
from flows import feedback
from flows.consent import OPTED_IN, OPTED_OUT, ConsentCommand, consent_command
from flows.frustration import History, PastMessage, Sensitivity
from flows.outcome import FeedbackReceived, Outcome, Said
from flows.text import detect_language

log = logging.getLogger(__name__)

SEEN_TTL = timedelta(days=7)
LOCK_TIMEOUT = timedelta(seconds=20)
SEND_TASK = "kesher.send_outbound"
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
    if await services.idempotency.contains(seen_key):
        earlier = await _earlier(business, inbound, services)
        if earlier is not None:
            return earlier
    lock_key = f"conversation:{business.id}:{inbound.channel.value}:{inbound.address}"
    async with services.lock.hold(lock_key, timeout=LOCK_TIMEOUT):
        try:
            handled, outbox_ids = await _record(business, inbound, services)
        except DuplicateDelivery:
            earlier = await _earlier(business, inbound, services)
            if earlier is None:
                raise
            return earlier
    await services.idempotency.add(seen_key, ttl=SEEN_TTL)
    log.info(
        "stored %s delivery %s with %d replies",
        inbound.channel.value,
        inbound.delivery_id,
        len(handled.replies),
    )
    await queue_sends(outbox_ids, services)
    return handled


async def queue_sends(outbox_ids: list[int], services: Services) -> None:
    """Hand committed outbox rows to the workers; a row the queue loses is swept up later."""
    for item_id in outbox_ids:
        await _enqueue(SEND_TASK, services, outbox_id=item_id)


async def _enqueue(task: str, services: Services, **kwargs: int) -> None:
    try:
        await services.queue.enqueue(task, **kwargs)
    except Exception:
        log.exception("could not queue %s %s", task, kwargs)


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


async def _record(
    business: Business, inbound: Inbound, services: Services
) -> tuple[Handled, list[int]]:
    now = services.clock.now()
    async with services.uow() as uow:
        if await uow.deliveries.find(business.id, inbound.channel, inbound.delivery_id) is not None:
            raise DuplicateDelivery(f"delivery {inbound.delivery_id} already stored")
        customer, identity = await _customer_for(uow, business, inbound)
        conversation = await uow.conversations.open_for(identity.id)
        first = conversation is None
        if conversation is None:
            conversation = await uow.conversations.add(
                business.id, customer_id=customer.id, identity_id=identity.id, started_at=now
            )
        else:
            await uow.conversations.touch(conversation.id, at=now)
        message = await uow.messages.add(
            business.id,
            conversation=conversation,
            direction=Direction.IN,
            channel=inbound.channel,
            text=inbound.text if inbound.text is not None else (inbound.choice or ""),
            status=DeliveryStatus.RECEIVED,
            created_at=inbound.received_at,
            channel_message_id=inbound.channel_message_id,
        )
        await uow.deliveries.add(
            business.id,
            channel=inbound.channel,
            delivery_id=inbound.delivery_id,
            message_id=message.id,
            received_at=inbound.received_at,
        )
        review = bool(inbound.text) and await _assess(
            uow, business, customer, message, inbound.text or "", services
        )
        kind, outcome = await _decide(uow, business, customer, inbound, first=first)
        replies: list[Message] = []
        outbox_ids: list[int] = []
        for index, said in enumerate(outcome.replies):
            reply = await uow.messages.add(
                business.id,
                conversation=conversation,
                direction=Direction.OUT,
                channel=inbound.channel,
                text=said.text,
                status=DeliveryStatus.QUEUED,
                created_at=now,
                choices=[Choice(id=i, label=label) for i, label in said.choices],
                reply_to_id=message.id,
            )
            item = await uow.outbox.add(
                business.id,
                message_id=reply.id,
                kind=kind,
                idempotency_key=f"reply:{message.id}:{index}",
                due_at=now,
            )
            replies.append(reply)
            outbox_ids.append(item.id)
        await uow.commit()
    if review:
        await _enqueue(REVIEW_TASK, services, business_id=business.id, message_id=message.id)
    return Handled(message.id, str(customer.id), tuple(replies)), outbox_ids


async def _assess(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    message: Message,
    text: str,
    services: Services,
) -> bool:
    """Score the message for frustration, keep the score, note a handoff-worthy one.

    True when the verdict is uncertain and a second opinion should be asked.
    """
    earlier = await uow.messages.from_customer(
        message.conversation_id,
        since=message.created_at - HISTORY_WINDOW,
        before_id=message.id,
        limit=HISTORY_MESSAGES,
    )
    history = History(earlier=tuple(PastMessage(m.text, m.created_at) for m in earlier))
    detector = replace(services.detector, sensitivity=Sensitivity(business.detector_sensitivity))
    verdict = detector.assess(text, history=history, now=message.created_at)
    await uow.messages.set_frustration(message.id, verdict.score, verdict.reasons)
    if verdict.handoff:
        await uow.events.add(
            business.id,
            customer.id,
            kind="frustration_detected",
            occurred_at=message.created_at,
            data={
                "message_id": message.id,
                "score": verdict.score,
                "reasons": list(verdict.reasons),
                "wants_person": verdict.wants_person,
                "wants_to_leave": verdict.wants_to_leave,
            },
        )
    return verdict.uncertain and services.second_opinion is not None


async def _customer_for(
    uow: UnitOfWork, business: Business, inbound: Inbound
) -> tuple[Customer, Identity]:
    identity = await uow.identities.find(business.id, inbound.channel, inbound.address)
    if identity is not None:
        customer = await uow.customers.get(business.id, identity.customer_id)
        assert customer is not None, "an identity always belongs to a customer"
        if not customer.name and inbound.profile_name:
            await uow.customers.set_name(customer.id, inbound.profile_name)
        return customer, identity
    customer = await uow.customers.add(
        business.id,
        name=inbound.profile_name,
        phone=None,
        language=detect_language(inbound.text or "") or business.language,
        timezone=business.timezone,
        attributes={},
        created_at=inbound.received_at,
    )
    identity = await uow.identities.add(
        business.id,
        customer.id,
        channel=inbound.channel,
        address=inbound.address,
        created_at=inbound.received_at,
    )
    await uow.events.add(
        business.id,
        customer.id,
        kind="customer_created",
        occurred_at=inbound.received_at,
        data={"channel": inbound.channel.value},
    )
    return customer, identity


async def _decide(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    inbound: Inbound,
    *,
    first: bool,
) -> tuple[OutboxKind, Outcome]:
    """Consent words first; an opted-out customer is recorded but never answered."""
    command = consent_command(inbound.text)
    language = customer.language
    if command is ConsentCommand.OPT_OUT:
        if customer.opted_out:
            return OutboxKind.REPLY, Outcome()
        await _set_consent(uow, business, customer, inbound, opted_out=True)
        return OutboxKind.CONSENT, Outcome(
            replies=(Said(OPTED_OUT.render(language, business=business.name)),)
        )
    if command is ConsentCommand.OPT_IN and customer.opted_out:
        await _set_consent(uow, business, customer, inbound, opted_out=False)
        return OutboxKind.CONSENT, Outcome(
            replies=(Said(OPTED_IN.render(language, business=business.name)),)
        )
    if customer.opted_out:
        return OutboxKind.REPLY, Outcome()
    outcome = feedback.receive(
        inbound.text,
        language=language,
        business=business.name,
        customer_name=customer.name,
        first=first,
    )
    for effect in outcome.effects:
        if isinstance(effect, FeedbackReceived):
            await uow.events.add(
                business.id,
                customer.id,
                kind="feedback_received",
                occurred_at=inbound.received_at,
                data={"text": effect.text},
            )
    return OutboxKind.REPLY, outcome


async def _set_consent(
    uow: UnitOfWork, business: Business, customer: Customer, inbound: Inbound, *, opted_out: bool
) -> None:
    await uow.customers.set_opted_out(customer.id, opted_out, at=inbound.received_at)
    await uow.events.add(
        business.id,
        customer.id,
        kind="opted_out" if opted_out else "opted_in",
        occurred_at=inbound.received_at,
        data={"channel": inbound.channel.value, "text": inbound.text or ""},
    )
