"""The answer time a handoff promises: a customer left unanswered past it is told once, and the
business's admins hear of it."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from bot.domain import EventKind, Handoff, OutboxKind
from bot.handoffs import alerts
from bot.outbound.replies import add_replies, queue_sends
from bot.ports import UnitOfWork
from bot.services import Services
from flows.handoff import SLA_UPDATE as SLA_UPDATE_TEXT
from flows.outcome import Said

log = logging.getLogger(__name__)

LATE_BATCH = 200


async def watch_sla(services: Services, *, now: datetime) -> int:
    """Tell each customer left unanswered past the SLA, once, and alert the business's admins
    (the inbox's banner, and Telegram for admins who linked it)."""
    async with services.uow() as uow:
        late = await uow.handoffs.overdue(now=now, limit=LATE_BATCH)
    told = 0
    for handoff in late:
        outbox_ids: list[int] = []
        async with services.uow() as uow:
            current = await uow.handoffs.get(handoff.business_id, handoff.id)
            if current is None or not current.open or current.sla_noticed_at is not None:
                continue
            outbox_ids = await _tell_late(uow, current, now=now)
            await uow.commit()
        told += 1
        await queue_sends(outbox_ids, services)
        await alerts.overdue(handoff.business_id, handoff.id, services, now=now)
    return told


async def _tell_late(uow: UnitOfWork, handoff: Handoff, *, now: datetime) -> list[int]:
    business = await uow.businesses.get(handoff.business_id)
    customer = await uow.customers.get(business.id, handoff.customer_id)
    conversation = await uow.conversations.get(handoff.conversation_id)
    identity = await uow.identities.get(conversation.identity_id)
    await uow.handoffs.save(replace(handoff, sla_noticed_at=now), at=now)
    await uow.events.add(
        business.id,
        handoff.customer_id,
        kind=EventKind.HANDOFF_OVERDUE,
        occurred_at=now,
        data={"handoff_id": handoff.id, "waiting_since": handoff.requested_at.isoformat()},
    )
    language = customer.language if customer is not None else business.language
    _, outbox_ids = await add_replies(
        uow,
        business,
        conversation,
        (Said(SLA_UPDATE_TEXT.render(language, business=business.name)),),
        channel=identity.channel,
        kind=OutboxKind.HANDOFF_NOTICE,
        key=f"handoff:{handoff.id}:late",
        now=now,
    )
    log.warning("handoff %d of business %s is past its SLA", handoff.id, business.slug)
    return outbox_ids
