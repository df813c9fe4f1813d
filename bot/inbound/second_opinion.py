"""The second opinion on a message the fast detector was unsure of: the bundled encoder's,
then, on what is still uncertain, a language model's.

It runs as a task after the message is stored, so neither ever holds up a webhook. The
encoder's opinion (`encoder_review`) is the final offline verdict: it may hand the
conversation off, or take back a handoff nobody has touched. A language model, when one is
configured, is asked only when there is no encoder or the blended score is still near its
cut-off; when it fails or is slow the verdict simply stands. When the model finds the
customer frustrated (or asking for a person), the conversation is handed to a person then,
with the acknowledgement as for any handoff.
"""

from __future__ import annotations

from bot.domain import ConversationMode, EventKind, Handoff, Opinion
from bot.handoffs import service as handoffs
from bot.inbound.encoder_review import encoder_review
from bot.jobs import AnnounceHandoff
from bot.outbound.replies import queue_sends
from bot.services import Services
from flows.frustration import Sensitivity
from flows.handoff import Trigger


async def review_message(business_id: int, message_id: int, services: Services) -> Opinion | None:
    """The encoder's verdict acted on, then the language model's opinion when still unsure."""
    if services.second_opinion is None and services.encoder is None:
        return None
    async with services.uow() as uow:
        business = await uow.businesses.get(business_id)
        message = await uow.messages.get(message_id)
        customer = await uow.customers.get(business_id, message.customer_id)
    if customer is None:
        return None
    verdict = await encoder_review(business, customer, message, services)
    if services.second_opinion is None or (verdict is not None and not verdict.uncertain):
        return None
    opinion = await services.second_opinion.review(message.text, language=customer.language)
    if opinion is None:
        return None
    handoff = opinion.wants_person or (
        opinion.score >= Sensitivity(business.detector_sensitivity).threshold
    )
    kept = verdict.reasons if verdict is not None else message.frustration_reasons
    reasons = (*kept, f"second opinion {opinion.score:.2f}: {opinion.reason}")
    now = services.clock.now()
    opened: Handoff | None = None
    outbox_ids: list[int] = []
    async with services.uow() as uow:
        await uow.messages.set_frustration(message.id, opinion.score, reasons)
        if handoff:
            await uow.events.add(
                business.id,
                customer.id,
                kind=EventKind.FRUSTRATION_DETECTED,
                occurred_at=now,
                data={
                    "message_id": message.id,
                    "score": opinion.score,
                    "reasons": list(reasons),
                    "wants_person": opinion.wants_person,
                    "topic": opinion.topic,
                    "source": "second_opinion",
                },
            )
            conversation = await uow.conversations.get(message.conversation_id)
            if conversation.mode is ConversationMode.BOT:
                opened, _, outbox_ids = await handoffs.request(
                    uow,
                    business,
                    customer,
                    conversation,
                    trigger=Trigger.REQUEST if opinion.wants_person else Trigger.DETECTOR,
                    reason="; ".join(reasons),
                    details={"score": opinion.score, "reasons": list(reasons)},
                    now=now,
                )
        await uow.commit()
    await queue_sends(outbox_ids, services)
    if opened is not None and outbox_ids:
        await services.enqueue(AnnounceHandoff(business.id, opened.id))
    return opinion
