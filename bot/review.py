"""The second opinion: a message the offline detector was unsure of, asked of a language model.

It runs as a task after the message is stored, so a slow model never holds up a webhook;
when the model fails or is slow the offline verdict simply stands.
"""

from __future__ import annotations

from bot.domain import Opinion
from bot.services import Services
from flows.frustration import Sensitivity

REVIEW_TASK = "kesher.review_message"


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
    async with services.uow() as uow:
        await uow.messages.set_frustration(message.id, opinion.score, reasons)
        if handoff:
            await uow.events.add(
                business.id,
                customer.id,
                kind="frustration_detected",
                occurred_at=services.clock.now(),
                data={
                    "message_id": message.id,
                    "score": opinion.score,
                    "reasons": list(reasons),
                    "wants_person": opinion.wants_person,
                    "topic": opinion.topic,
                    "source": "second_opinion",
                },
            )
        await uow.commit()
    return opinion
