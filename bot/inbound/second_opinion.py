"""The second opinion: a message the offline detector was unsure of, asked of a language model.

It runs as a task after the message is stored, so a slow model never holds up a webhook;
when the model fails or is slow the offline verdict simply stands. When the model finds the
customer frustrated (or asking for a person) where the offline detector was unsure, the
conversation is handed to a person then, with the acknowledgement as for any handoff.
"""

from __future__ import annotations

from bot.domain import ConversationMode, EventKind, Handoff, Opinion
from bot.handoffs import service as handoffs
from bot.jobs import AnnounceHandoff
from bot.outbound.replies import queue_sends
from bot.services import Services
from flows.frustration import Sensitivity
from flows.handoff import Trigger


async def review_message(business_id: int, message_id: int, services: Services) -> Opinion | None:
    if services.second_opinion is None:
        return None
    async with services.uow() as uow:
        business = await uow.businesses.get(business_id)
        message = await uow.messages.get(message_id)
        customer = await uow.customers.get(business_id, message.customer_id)
    if customer is None:
        return None
    opinion = await services.second_opinion.review(message.text, language=customer.language)
    if opinion is None:
        return None
    handoff = opinion.wants_person or (
        opinion.score >= Sensitivity(business.detector_sensitivity).threshold
    )
    reasons = (
        *message.frustration_reasons,
        f"second opinion {opinion.score:.2f}: {opinion.reason}",
    )
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
