"""Dispatching check-ins: the scheduler's minute claims the touches due now in batches
(skipping rows another scheduler holds) and queues one task per batch.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.checkins.catalog import TICK
from bot.checkins.planning import plan
from bot.checkins.reminders import wake
from bot.domain import (
    Checkin,
)
from bot.jobs import StartCheckins
from bot.services import Services
from flows.contact import (
    Skip,
)

log = logging.getLogger(__name__)

START_BATCH = 50
CLAIM_BATCH = 500
MAX_PER_TICK = 60_000
STALE_AFTER = timedelta(minutes=5)


async def dispatch(services: Services, *, now: datetime) -> int:
    """Claim the touches due now, batch after batch, and queue a task for each; how many.

    When two touches of one customer are due in the same batch, the higher priority goes
    and the other waits for the next tick, where the frequency cap decides about it.
    """
    async with services.uow() as uow:
        await uow.checkins.release_stale(stale_before=now - STALE_AFTER)
        await uow.commit()
    queued = 0
    while queued < MAX_PER_TICK:
        async with services.uow() as uow:
            claimed = await uow.checkins.claim_due(now=now, limit=CLAIM_BATCH)
            going: dict[object, Checkin] = {}
            for checkin in sorted(claimed, key=lambda c: (-c.priority, c.send_at, c.id)):
                if checkin.customer_id in going:
                    await uow.checkins.move(
                        checkin.id,
                        send_at=checkin.send_at + TICK,
                        reason=Skip.FREQUENCY_CAP.value,
                        now=now,
                    )
                else:
                    going[checkin.customer_id] = checkin
            await uow.commit()
        ids = [c.id for c in going.values()]
        # A batch the queue loses is given back to the planner by the stale sweep.
        await services.enqueue(
            *(
                StartCheckins(ids[first : first + START_BATCH])
                for first in range(0, len(ids), START_BATCH)
            )
        )
        queued += len(going)
        if len(claimed) < CLAIM_BATCH:
            break
    return queued


async def tick(services: Services) -> int:
    """The scheduler's minute: plan, dispatch what is due, remind and expire."""
    now = services.clock.now()
    planned = await plan(services, now=now)
    queued = await dispatch(services, now=now)
    woken = await wake(services, now=now)
    if planned or queued or woken:
        log.info("check-ins: %d planned, %d queued, %d reminded or ended", planned, queued, woken)
    return queued
