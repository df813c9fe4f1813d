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

from bot.checkins import dispatch as checkins
from bot.domain import (
    Business,
    ConversationMode,
    Customer,
    DeliveryStatus,
    Direction,
    DuplicateDelivery,
    Identity,
    Inbound,
    InboundKind,
    Message,
    OutboxKind,
)
from bot.handoffs import agents
from bot.handoffs import service as handoffs
from bot.handoffs.alerts import ALERT_TASK, TELL_TASK
from bot.inbound.second_opinion import REVIEW_TASK
from bot.outbound.replies import add_replies, enqueue, queue_sends
from bot.ports import UnitOfWork
from bot.services import Services
from bot.telemetry import INBOUND, PIPELINE_SECONDS
from flows import commands, feedback
from flows.consent import OPTED_IN, OPTED_OUT, ConsentCommand, consent_command
from flows.frustration import History, PastMessage, Sensitivity, Verdict
from flows.handoff import AGENT_LINK_UNKNOWN, AGENT_LINKED, Trigger
from flows.outcome import FeedbackReceived, FlowFinished, Outcome, RequestHandoff, Said
from flows.text import detect_language

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
            handled, outbox_ids, later = await _record(business, inbound, services)
        except DuplicateDelivery:
            earlier = await _earlier(business, inbound, services)
            if earlier is None:
                raise
            return earlier
    log.info(
        "stored %s delivery %s with %d replies",
        inbound.channel.value,
        inbound.delivery_id,
        len(handled.replies),
    )
    # The replies go first: a task queued after them (a second opinion that hands the
    # conversation to a person) adds replies that must leave after these.
    await queue_sends(outbox_ids, services)
    for task, arguments in later:
        await enqueue(task, services, **arguments)
    return handled


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
) -> tuple[Handled, list[int], list[Later]]:
    # A copy stored before is refused by the delivery log's unique key (DuplicateDelivery), and
    # everything written for it rolls back with the transaction.
    async with services.uow() as uow:
        outbox_ids: list[int] = []
        later: list[Later] = []
        if inbound.kind in _CHANGES:
            handled = await _record_change(uow, business, inbound)
        else:
            handled, outbox_ids, later = await _record_message(
                uow, business, inbound, now=services.clock.now(), services=services
            )
        await uow.commit()
    return handled, outbox_ids, later


# A task to queue once the delivery is committed: its name and arguments.
Later = tuple[str, dict[str, int | str]]

_CHANGES = frozenset({InboundKind.EDIT, InboundKind.BLOCKED, InboundKind.UNBLOCKED})


async def _record_change(uow: UnitOfWork, business: Business, inbound: Inbound) -> Handled:
    """An edit, a block or an unblock: the record changes, nothing is answered."""
    identity = await uow.identities.find(business.id, inbound.channel, inbound.address)
    if identity is not None:
        if inbound.kind is InboundKind.EDIT:
            await _record_edit(uow, business, identity, inbound)
        else:
            await _set_reachable(
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
        kind="message_edited",
        occurred_at=inbound.received_at,
        data={"channel_message_id": inbound.channel_message_id, "text": text},
    )


async def _set_reachable(
    uow: UnitOfWork, business: Business, identity: Identity, inbound: Inbound, *, reachable: bool
) -> None:
    if identity.reachable == reachable:
        return
    await uow.identities.set_reachable(identity.id, reachable)
    await uow.events.add(
        business.id,
        identity.customer_id,
        kind="channel_unblocked" if reachable else "channel_blocked",
        occurred_at=inbound.received_at,
        data={"channel": inbound.channel.value},
    )


async def _record_message(
    uow: UnitOfWork, business: Business, inbound: Inbound, *, now: datetime, services: Services
) -> tuple[Handled, list[int], list[Later]]:
    """A message, command or button tap: stored, decided and answered through the outbox."""
    tap = _tap_key(inbound)
    if tap is not None and await uow.deliveries.find(business.id, inbound.channel, tap):
        # A second tap on buttons already answered: acknowledged by the channel, else ignored.
        await _log_delivery(uow, business, inbound, inbound.delivery_id, message_id=None)
        return Handled(0, "", ()), [], []
    token = agents.telegram_link_token(inbound)
    if token is not None:
        return Handled(0, "", ()), [], [await _link_agent(uow, business, inbound, token, now=now)]
    sender = await _customer_for(uow, business, inbound)
    customer, identity = sender.customer, sender.identity
    if not identity.reachable:
        # Writing is reaching back: a Telegram user cannot message a bot they block, so this
        # one unblocked it, though the update that says so may come late or not at all.
        await _set_reachable(uow, business, identity, inbound, reachable=True)
    # Any message from the customer opens (or keeps open) WhatsApp's 24-hour window; an
    # identity made for this message was made with it open.
    if not sender.new_identity:
        await uow.identities.touch_inbound(identity.id, at=inbound.received_at)
    # An identity made just now has no conversation yet.
    conversation = None if sender.new_identity else await uow.conversations.open_for(identity.id)
    first = conversation is None
    if conversation is None:
        conversation = await uow.conversations.add(
            business.id, customer_id=customer.id, identity_id=identity.id, started_at=now
        )
    else:
        await uow.conversations.touch(conversation.id, at=now)
    # Scored before it is stored, so the score goes in with the message. A consent word is a
    # command, not a mood: "STOP" would read as anger, and its own event says what it was.
    command = _consent(business, inbound)
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
    if verdict is not None and verdict.handoff:
        await _note_frustration(uow, business, customer, message, verdict)
    later: list[Later] = []
    if verdict is not None and verdict.uncertain and services.second_opinion is not None:
        later.append((REVIEW_TASK, {"business_id": business.id, "message_id": message.id}))
    human = conversation.mode is ConversationMode.HUMAN
    kind, outcome, answering = await _decide(
        uow,
        business,
        customer,
        inbound,
        command,
        first=first,
        now=now,
        human=human,
        new_customer=sender.new_customer,
    )
    # A customer telling a check-in what went wrong is heard by the flow, which offers a
    # person itself; only an explicit request for one skips ahead.
    if answering and verdict is not None and not (verdict.wants_person or verdict.wants_to_leave):
        verdict = None
    trigger = None if human or kind is OutboxKind.CONSENT else _trigger(outcome, verdict)
    if trigger is not None and not customer.opted_out:
        # The acknowledgement, with the expected wait, answers the message instead of the bot.
        handoff, replies, outbox_ids = await handoffs.request(
            uow,
            business,
            customer,
            conversation,
            trigger=trigger[0],
            reason=trigger[1],
            details=trigger[2],
            now=now,
            reply_to_id=message.id,
        )
        later.append((ALERT_TASK, {"business_id": business.id, "handoff_id": handoff.id}))
        return Handled(message.id, str(customer.id), tuple(replies)), outbox_ids, later
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
    return Handled(message.id, str(customer.id), tuple(replies)), outbox_ids, later


async def _link_agent(
    uow: UnitOfWork, business: Business, inbound: Inbound, token: str, *, now: datetime
) -> Later:
    """An agent opened their one-time link: their chat now gets new handoffs (no customer is
    made of it); whoever opens a used or expired link is told so."""
    await _log_delivery(uow, business, inbound, inbound.delivery_id, message_id=None)
    agent = await agents.link_telegram(uow, business, token, chat=inbound.address, now=now)
    text = (
        AGENT_LINKED.render(agent.language, business=business.name)
        if agent is not None
        else AGENT_LINK_UNKNOWN
    )
    key = f"tell:{business.id}:{inbound.delivery_id}"
    return TELL_TASK, {
        "business_id": business.id,
        "chat": inbound.address,
        "text": text,
        "key": key,
    }


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
    handoffs)."""
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
        last_handoff_at=last[0].requested_at if last else None,
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


def _trigger(
    outcome: Outcome, verdict: Verdict | None
) -> tuple[Trigger, str, dict[str, object]] | None:
    """What, if anything, in this turn asks for a person: a flow's request, a misunderstanding,
    a low score, or the detector."""
    for effect in outcome.effects:
        if isinstance(effect, RequestHandoff):
            return Trigger(effect.trigger), effect.reason, {}
        if isinstance(effect, FlowFinished) and not effect.completed:
            return Trigger.NOT_UNDERSTOOD, f"{effect.flow}: not understood twice", {}
    if verdict is None or not verdict.handoff:
        return None
    asked = verdict.wants_person or verdict.wants_to_leave
    details = {"score": verdict.score, "reasons": list(verdict.reasons)}
    reason = "; ".join(verdict.reasons) or "frustrated"
    return (Trigger.REQUEST if asked else Trigger.DETECTOR), reason, details


@dataclass(frozen=True, slots=True)
class Sender:
    """Who wrote: the customer and the identity they wrote from, and whether either was made
    for this message (a new identity has no conversation yet, a new customer no history)."""

    customer: Customer
    identity: Identity
    new_identity: bool = False
    new_customer: bool = False


async def _customer_for(uow: UnitOfWork, business: Business, inbound: Inbound) -> Sender:
    linked = await _linked_customer(uow, business, inbound)
    found = await uow.identities.find_with_customer(business.id, inbound.channel, inbound.address)
    if found is None:
        if linked is None:
            return await _new_customer(uow, business, inbound)
        identity = await uow.identities.add(
            business.id,
            linked.id,
            channel=inbound.channel,
            address=inbound.address,
            created_at=inbound.received_at,
            last_inbound_at=inbound.received_at,
        )
        await _note_link(uow, business, linked, inbound)
        return await _named(uow, Sender(linked, identity, new_identity=True), inbound)
    identity, customer = found
    if linked is not None and linked.id != identity.customer_id:
        await _move_identity(uow, business, identity, linked, inbound)
        identity, customer = replace(identity, customer_id=linked.id), linked
    return await _named(uow, Sender(customer, identity), inbound)


async def _named(uow: UnitOfWork, sender: Sender, inbound: Inbound) -> Sender:
    """A customer without a name takes the one their app shows."""
    if not sender.customer.name and inbound.profile_name:
        await uow.customers.set_name(sender.customer.id, inbound.profile_name)
    return sender


async def _linked_customer(
    uow: UnitOfWork, business: Business, inbound: Inbound
) -> Customer | None:
    """The customer a `/start c_<token>` deep link names, if the token is known."""
    if inbound.command != commands.START or not inbound.payload:
        return None
    prefix, _, token = inbound.payload.partition("_")
    if prefix != "c" or not token:
        return None
    return await uow.customers.find_by_link_token(business.id, token)


async def _move_identity(
    uow: UnitOfWork, business: Business, identity: Identity, to: Customer, inbound: Inbound
) -> None:
    """Give a chat that already wrote to the customer its link names; its conversation ends."""
    conversation = await uow.conversations.open_for(identity.id)
    if conversation is not None:
        await uow.conversations.close(conversation.id, at=inbound.received_at)
    await uow.identities.move(identity.id, to.id)
    await _note_link(uow, business, to, inbound)


async def _note_link(
    uow: UnitOfWork, business: Business, customer: Customer, inbound: Inbound
) -> None:
    # A link token is single use: a forwarded link must not join a stranger to the record.
    await uow.customers.set_link_token(customer.id, None)
    await uow.events.add(
        business.id,
        customer.id,
        kind="identity_linked",
        occurred_at=inbound.received_at,
        data={"channel": inbound.channel.value, "address": inbound.address},
    )


async def _new_customer(uow: UnitOfWork, business: Business, inbound: Inbound) -> Sender:
    written = detect_language(inbound.text or "") if inbound.kind is InboundKind.MESSAGE else None
    customer = await uow.customers.add(
        business.id,
        name=inbound.profile_name,
        phone=None,
        language=written or _known_language(inbound.language) or business.language,
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
        last_inbound_at=inbound.received_at,
    )
    await uow.events.add(
        business.id,
        customer.id,
        kind="customer_created",
        occurred_at=inbound.received_at,
        data={"channel": inbound.channel.value},
    )
    return Sender(customer, identity, new_identity=True, new_customer=True)


def _known_language(code: str | None) -> str | None:
    """'he' or 'en' from an app's language code ('he', 'iw', 'en-US'), else None."""
    base = (code or "").split("-")[0].lower()
    return {"he": "he", "iw": "he", "en": "en"}.get(base)


def _consent(business: Business, inbound: Inbound) -> ConsentCommand | None:
    if inbound.kind is InboundKind.COMMAND:
        return {
            commands.STOP: ConsentCommand.OPT_OUT,
            commands.START: ConsentCommand.OPT_IN,
        }.get(inbound.command or "")
    return consent_command(
        inbound.text, opt_out=business.opt_out_words, opt_in=business.opt_in_words
    )


async def _decide(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    inbound: Inbound,
    command: ConsentCommand | None,
    *,
    first: bool,
    now: datetime,
    human: bool = False,
    new_customer: bool = False,
) -> tuple[OutboxKind, Outcome, bool]:
    """Consent words first (`command`, the one the message amounts to, if any); an opted-out
    customer is recorded but never answered.

    In `human` mode a person answers, so the bot says nothing more. A waiting check-in
    question takes the message next (the flag says so; a customer made for this message has
    none); anything else is feedback.
    """
    language = customer.language
    if command is ConsentCommand.OPT_OUT:
        if customer.opted_out:
            return OutboxKind.REPLY, Outcome(), False
        await _set_consent(uow, business, customer, inbound, opted_out=True)
        said = Said(OPTED_OUT.render(language, business=business.name))
        return OutboxKind.CONSENT, Outcome(replies=(said,)), False
    if command is ConsentCommand.OPT_IN and customer.opted_out:
        await _set_consent(uow, business, customer, inbound, opted_out=False)
        said = Said(OPTED_IN.render(language, business=business.name))
        return OutboxKind.CONSENT, Outcome(replies=(said,)), False
    if customer.opted_out or human:
        return OutboxKind.REPLY, Outcome(), False
    if inbound.kind is InboundKind.COMMAND and inbound.command is not None:
        answer = commands.answer(
            inbound.command, language=language, business=business.name, customer_name=customer.name
        )
        return OutboxKind.REPLY, answer, False
    answered = (
        None if new_customer else await checkins.answer(uow, business, customer, inbound, now=now)
    )
    if answered is not None:
        return OutboxKind.REPLY, answered, True
    outcome = feedback.receive(
        inbound.text if inbound.text is not None else inbound.choice,
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
    return OutboxKind.REPLY, outcome, False


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
