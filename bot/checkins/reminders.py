"""Questions left waiting: one reminder in the customer's allowed hours, then the run ends
unanswered.
"""

from __future__ import annotations

from datetime import datetime

from bot.checkins.catalog import KINDS, contact_rules, flow_fields, flow_named
from bot.checkins.runs import record_turn
from bot.domain import (
    Checkin,
    CheckinStatus,
    OutboxKind,
)
from bot.outbound.replies import add_replies, queue_sends
from bot.ports import UnitOfWork
from bot.services import Services
from flows.contact import (
    Skip,
    next_allowed,
)
from flows.engine import Run, expire, remind

WAKE_BATCH = 500


async def wake(services: Services, *, now: datetime) -> int:
    """Remind once about questions left waiting, then end the runs still unanswered."""
    async with services.uow() as uow:
        waking = await uow.checkins.waking(now=now, limit=WAKE_BATCH)
    woken = 0
    for checkin in waking:
        outbox_ids: list[int] = []
        async with services.uow() as uow:
            if await _wake_one(uow, checkin, now=now, sent=outbox_ids):
                woken += 1
            await uow.commit()
        await queue_sends(outbox_ids, services)
    return woken


async def _wake_one(uow: UnitOfWork, checkin: Checkin, *, now: datetime, sent: list[int]) -> bool:
    current = await uow.checkins.get(checkin.id)
    if current.status is not CheckinStatus.SENT or current.run is None:
        return False
    business = await uow.businesses.get(current.business_id)
    customer = await uow.customers.get(business.id, current.customer_id)
    if customer is None or current.conversation_id is None:
        return False
    rules = contact_rules(business)
    flow = await flow_named(uow, business.id, current.flow)
    run = Run.from_dict(current.run)
    if customer.opted_out:
        await uow.checkins.finish(current.id, CheckinStatus.SKIPPED, reason=Skip.OPTED_OUT, now=now)
        return True
    if run.reminded:
        ended = expire(flow, run, now=now, after=rules.expire_after)
        if ended is None:
            return False
        await record_turn(uow, business, customer, current, ended, now=now)
        return True
    allowed = next_allowed(now, rules, timezone=customer.timezone)
    if allowed > now:
        await uow.checkins.update_run(current.id, run=run.as_dict(), wake_at=allowed, now=now)
        return False
    nudge = remind(
        flow,
        run,
        now=now,
        after=rules.remind_after,
        language=customer.language,
        fields=flow_fields(business, customer),
    )
    if nudge is None:
        return False
    conversation = await uow.conversations.get(current.conversation_id)
    identity = await uow.identities.get(conversation.identity_id)
    _, outbox_ids = await add_replies(
        uow,
        business,
        conversation,
        nudge.replies,
        channel=identity.channel,
        kind=KINDS.get(current.flow, OutboxKind.CHECKIN),
        key=f"reminder:{current.id}",
        now=now,
    )
    sent.extend(outbox_ids)
    await uow.checkins.update_run(
        current.id, run=nudge.run.as_dict(), wake_at=now + rules.expire_after, now=now
    )
    return True
