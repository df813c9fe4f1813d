"""The encoder's opinion: a message the fast detector was unsure of, scored again in a worker
with the bundled sentence encoder's vector blended into its tone (`flows.frustration.second_tone`).

The message is scored again as it was when it arrived (its earlier messages and the last
handoff before it), once without and once with its vector. Where the blended verdict calls
for a person and the fast one did not, the conversation is handed off then; where the fast
verdict opened a handoff the blended one does not back, and no person has touched it yet, it
is taken back with a note on the record. The blended score and reasons replace the fast ones
on the message. Scoring again from the stored message makes a retried job do the same thing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.domain import Business, ConversationMode, Customer, EventKind, Handoff, Message
from bot.handoffs import service as handoffs
from bot.handoffs.withdrawal import touched, withdraw
from bot.inbound.pipeline import HISTORY_MESSAGES, HISTORY_WINDOW
from bot.jobs import AnnounceHandoff
from bot.outbound.replies import queue_sends
from bot.ports import UnitOfWork
from bot.services import Services
from flows.frustration import History, PastMessage, Sensitivity, Verdict
from flows.handoff import Trigger

SOURCE = "encoder"
WITHDRAWN_NOTE = {
    "he": "ההעברה לנציג בוטלה: בדיקה שנייה של ההודעה (המקודד) לא מצאה בה תסכול (ציון {score}).",
    "en": "Handoff withdrawn: a second look at the message (the encoder) did not find it "
    "frustrated (score {score}).",
}


async def encoder_review(
    business: Business, customer: Customer, message: Message, services: Services
) -> Verdict | None:
    """The blended verdict on `message`, acted on; None without an encoder."""
    if services.encoder is None:
        return None
    async with services.uow() as uow:
        history = await history_before(uow, business, customer, message)
    detector = replace(services.detector, sensitivity=Sensitivity(business.detector_sensitivity))
    at = message.created_at
    fast = detector.assess(message.text, history=history, now=at)
    (vector,) = await services.encoder.embed([message.text], query=True)
    verdict = detector.assess(message.text, history=history, now=at, embedding=vector)
    now = services.clock.now()
    opened: Handoff | None = None
    outbox_ids: list[int] = []
    async with services.uow() as uow:
        await uow.messages.set_frustration(message.id, verdict.score, verdict.reasons)
        if verdict.handoff and not fast.handoff:
            opened, outbox_ids = await _hand_off(uow, business, customer, message, verdict, now=now)
        elif fast.handoff and not verdict.handoff:
            await _take_back(uow, business, message, verdict, now=now)
        await uow.commit()
    await queue_sends(outbox_ids, services)
    if opened is not None and outbox_ids:
        await services.enqueue(AnnounceHandoff(business.id, opened.id))
    return verdict


async def history_before(
    uow: UnitOfWork, business: Business, customer: Customer, message: Message
) -> History:
    """The conversation as the fast detector saw it when `message` arrived (a handoff counts
    only if it was still open then)."""
    earlier = await uow.messages.from_customer(
        message.conversation_id,
        since=message.created_at - HISTORY_WINDOW,
        before_id=message.id,
        limit=HISTORY_MESSAGES,
    )
    handoffs_before = [
        h
        for h in await uow.handoffs.list(
            business.id, open_only=False, customer_id=customer.id, limit=2
        )
        if h.requested_at < message.created_at
        and (h.resolved_at is None or h.resolved_at > message.created_at)
    ]
    return History(
        earlier=tuple(PastMessage(m.text, m.created_at) for m in earlier),
        last_handoff_at=handoffs_before[0].requested_at if handoffs_before else None,
    )


async def _hand_off(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    message: Message,
    verdict: Verdict,
    *,
    now: datetime,
) -> tuple[Handoff | None, list[int]]:
    await uow.events.add(
        business.id,
        customer.id,
        kind=EventKind.FRUSTRATION_DETECTED,
        occurred_at=now,
        data={
            "message_id": message.id,
            "score": verdict.score,
            "reasons": list(verdict.reasons),
            "wants_person": False,
            "source": SOURCE,
        },
    )
    conversation = await uow.conversations.get(message.conversation_id)
    if conversation.mode is not ConversationMode.BOT or customer.opted_out:
        return None, []
    opened, _, outbox_ids = await handoffs.request(
        uow,
        business,
        customer,
        conversation,
        trigger=Trigger.DETECTOR,
        reason="; ".join(verdict.reasons),
        details={
            "score": verdict.score,
            "reasons": list(verdict.reasons),
            "message_id": message.id,
        },
        now=now,
    )
    return opened, outbox_ids


async def _take_back(
    uow: UnitOfWork, business: Business, message: Message, verdict: Verdict, *, now: datetime
) -> None:
    handoff = await uow.handoffs.open_for(message.conversation_id)
    if (
        handoff is None
        or handoff.trigger != Trigger.DETECTOR.value
        or handoff.details.get("message_id") != message.id
        or await touched(uow, handoff)
    ):
        return
    note = WITHDRAWN_NOTE.get(business.language, WITHDRAWN_NOTE["en"])
    await withdraw(uow, business, handoff, note=note.format(score=f"{verdict.score:.2f}"), now=now)
