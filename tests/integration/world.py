"""A business's simulated world for integration tests: a settable clock, the customers' phones
(a recording sandbox), and a queue that runs each task in place.

`walk` ticks the scheduler at the same simulated times as a walk step by step would, but only
at the steps where a tick has work: it reads from the tables when the next one is (see
`_next_work`, which mirrors what the tick selects) and jumps there.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.bootstrap import Runtime
from bot.accounts.businesses import create_business
from bot.checkins import dispatch as checkins
from bot.checkins.configuration import apply_document
from bot.domain import (
    Business,
    Capabilities,
    ChannelName,
    CheckinStatus,
    DeliveryStatus,
    Inbound,
    InboundKind,
    Outbound,
    SentReceipt,
    WebhookRequest,
)
from bot.inbound.pipeline import handle_inbound
from bot.outbound.outbox import send_batch, send_outbound
from bot.outbound.replies import SEND_BATCH_TASK, SEND_TASK
from bot.services import Services
from storage.tables import CheckinRow, ScheduleRow


class SettableClock:
    def __init__(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self.at


class RecordingChannel:
    """The sandbox as the customers' phones: every message sent to this business's customers.

    The dispatcher serves every business in the database, and on PostgreSQL earlier tests'
    businesses share it, so messages are kept per business.
    """

    name = ChannelName.SANDBOX
    capabilities = Capabilities(buttons=True, max_text=4096, can_initiate=True)

    def __init__(self, clock: SettableClock, business: str) -> None:
        self.clock = clock
        self.business = business
        self.sent: list[tuple[str, str, datetime]] = []

    async def parse(self, request: WebhookRequest) -> list[Inbound]:
        raise NotImplementedError

    async def send(self, outbound: Outbound) -> SentReceipt:
        if outbound.business == self.business:
            self.sent.append((outbound.address, outbound.reply.text, self.clock.now()))
        return SentReceipt(f"sb-{len(self.sent)}", DeliveryStatus.DELIVERED)

    def to(self, address: str) -> list[tuple[str, datetime]]:
        return [(text, at) for who, text, at in self.sent if who == address]


class InPlaceQueue:
    """Runs each queued task at once; `lose_starts` drops that many, as a killed worker would."""

    def __init__(self) -> None:
        self.services: Services | None = None
        self.lose_starts = 0
        self.lost: list[int] = []

    async def enqueue(self, task: str, /, **kwargs: Any) -> None:
        assert self.services is not None
        if task == checkins.START_TASK:
            if self.lose_starts:
                self.lose_starts -= 1
                self.lost.append(kwargs["checkin_id"])
                return
            await checkins.start_checkin(kwargs["checkin_id"], self.services)
        elif task == checkins.START_BATCH_TASK:
            ids = list(kwargs["checkin_ids"])
            lost, ids = ids[: self.lose_starts], ids[self.lose_starts :]
            self.lose_starts -= len(lost)
            self.lost += lost
            await checkins.start_checkins(ids, self.services)
        elif task == SEND_TASK:
            await send_outbound(kwargs["outbox_id"], self.services)
        elif task == SEND_BATCH_TASK:
            await send_batch(kwargs["outbox_ids"], self.services)


@dataclasses.dataclass
class World:
    services: Services
    clock: SettableClock
    phone: RecordingChannel
    queue: InPlaceQueue
    business: Business
    engine: AsyncEngine

    async def say(self, address: str, text: str) -> None:
        inbound = Inbound(
            channel=ChannelName.SANDBOX,
            delivery_id=uuid.uuid4().hex,
            address=address,
            received_at=self.clock.now(),
            text=text,
        )
        await handle_inbound(self.business, inbound, self.services)

    async def tap(self, address: str, choice: str) -> None:
        inbound = Inbound(
            channel=ChannelName.SANDBOX,
            delivery_id=uuid.uuid4().hex,
            address=address,
            received_at=self.clock.now(),
            kind=InboundKind.BUTTON,
            choice=choice,
        )
        await handle_inbound(self.business, inbound, self.services)

    async def walk(self, until: datetime, *, step: timedelta = timedelta(hours=1)) -> None:
        """Move the clock `step` by `step` until it reaches `until`, the scheduler ticking after
        each step; steps where the tick would find nothing to do are passed over at once."""
        last = self.clock.at + step * _steps(until - self.clock.at, step)
        while self.clock.at < until:
            work = await self._next_work()
            at = self.clock.at + step
            if work is not None:
                earliest, strictly = work
                steps = _steps(earliest - self.clock.at, step)
                if strictly and self.clock.at + step * steps == earliest:
                    steps += 1
                at = max(at, self.clock.at + step * steps)
            if work is None or at > last:
                self.clock.at = last
                return
            self.clock.at = at
            await checkins.tick(self.services)

    async def _next_work(self) -> tuple[datetime, bool] | None:
        """The earliest time from which a tick has work, and whether only strictly after it.

        What `checkins.tick` selects: schedules not planned for `PLAN_EVERY` (`to_plan`),
        planned touches due (`claim_due`), asked ones to wake (`waking`), claims gone stale
        (`release_stale`). Everything in the database counts, as the tick serves every business.
        """
        planned = CheckinRow.status == CheckinStatus.PLANNED.value
        sent = CheckinRow.status == CheckinStatus.SENT.value
        claimed = CheckinRow.status == CheckinStatus.CLAIMED.value
        active = ScheduleRow.active.is_(True)
        async with self.engine.connect() as connection:
            never, planned_at, send_at, wake_at, claimed_at = (
                await connection.execute(
                    select(
                        select(func.count())
                        .where(active, ScheduleRow.planned_at.is_(None))
                        .scalar_subquery(),
                        select(func.min(ScheduleRow.planned_at)).where(active).scalar_subquery(),
                        select(func.min(CheckinRow.send_at)).where(planned).scalar_subquery(),
                        select(func.min(CheckinRow.wake_at)).where(sent).scalar_subquery(),
                        select(func.min(CheckinRow.claimed_at)).where(claimed).scalar_subquery(),
                    )
                )
            ).one()
        if never:
            return self.clock.at, True
        times = [(t, False) for t in (send_at, wake_at) if t is not None]
        if planned_at is not None:
            times.append((_utc(planned_at) + checkins.PLAN_EVERY, True))
        if claimed_at is not None:
            times.append((_utc(claimed_at) + checkins.STALE_AFTER, True))
        return min(((_utc(t), strictly) for t, strictly in times), default=None)

    async def apply(self, document: dict) -> None:  # type: ignore[type-arg]
        async with self.services.uow() as uow:
            await apply_document(uow, self.business, document, now=self.clock.now())
            await uow.commit()

    async def customer_id(self, address: str) -> uuid.UUID:
        async with self.services.uow() as uow:
            identity = await uow.identities.find(self.business.id, ChannelName.SANDBOX, address)
        assert identity is not None
        return identity.customer_id

    async def checkins(self, address: str) -> list:  # type: ignore[type-arg]
        customer = await self.customer_id(address)
        async with self.services.uow() as uow:
            found = await uow.checkins.list(self.business.id, status=None, limit=500, offset=0)
        return [c for c in found if c.customer_id == customer]


def _steps(span: timedelta, step: timedelta) -> int:
    """How many steps cover `span` (none for a span of zero or less)."""
    return max(0, -(-span // step))


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


async def make_world(runtime: Runtime, clock: SettableClock) -> World:
    async with runtime.services.uow() as uow:
        business, _ = await create_business(
            uow, f"clinic-{uuid.uuid4().hex[:8]}", name="Clinic", sandbox=True, now=clock.now()
        )
        await uow.commit()
    phone = RecordingChannel(clock, business.slug)
    queue = InPlaceQueue()
    services = dataclasses.replace(
        runtime.services, channels={ChannelName.SANDBOX: phone}, queue=queue
    )
    queue.services = services
    return World(services, clock, phone, queue, business, runtime.engine)
