"""A business's simulated world for integration tests: a settable clock, the customers' phones
(a recording sandbox), and a queue that runs each task in place."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

from app.bootstrap import Runtime
from bot.accounts.businesses import create_business
from bot.checkins import dispatch, touches
from bot.checkins.configuration import apply_document
from bot.domain import (
    Business,
    Capabilities,
    ChannelName,
    DeliveryStatus,
    Inbound,
    InboundKind,
    Outbound,
    SentReceipt,
    WebhookRequest,
)
from bot.inbound.pipeline import handle_inbound
from bot.jobs import Job, SendOutbound, SendOutboundBatch, StartCheckin, StartCheckins
from bot.outbound.outbox import send_batch, send_outbound
from bot.services import Services


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
        self.buttons: list[tuple[str, tuple[str, ...]]] = []

    async def parse(self, request: WebhookRequest) -> list[Inbound]:
        raise NotImplementedError

    async def send(self, outbound: Outbound) -> SentReceipt:
        if outbound.business == self.business:
            self.sent.append((outbound.address, outbound.reply.text, self.clock.now()))
            labels = tuple(choice.label for choice in outbound.reply.choices)
            self.buttons.append((outbound.address, labels))
        return SentReceipt(f"sb-{len(self.sent)}", DeliveryStatus.DELIVERED)

    def to(self, address: str) -> list[tuple[str, datetime]]:
        return [(text, at) for who, text, at in self.sent if who == address]

    def buttons_to(self, address: str) -> list[tuple[str, ...]]:
        """The button labels of each message sent to `address`, in order (() for none)."""
        return [labels for who, labels in self.buttons if who == address]


class InPlaceQueue:
    """Runs each queued task at once; `lose_starts` drops that many, as a killed worker would."""

    def __init__(self) -> None:
        self.services: Services | None = None
        self.lose_starts = 0
        self.lost: list[int] = []

    async def enqueue(self, job: Job) -> None:
        assert self.services is not None
        match job:
            case StartCheckin(checkin_id):
                if self.lose_starts:
                    self.lose_starts -= 1
                    self.lost.append(checkin_id)
                    return
                await touches.start_checkin(checkin_id, self.services)
            case StartCheckins(checkin_ids):
                lost, ids = checkin_ids[: self.lose_starts], checkin_ids[self.lose_starts :]
                self.lose_starts -= len(lost)
                self.lost += lost
                await touches.start_checkins(ids, self.services)
            case SendOutbound(outbox_id):
                await send_outbound(outbox_id, self.services)
            case SendOutboundBatch(outbox_ids):
                await send_batch(outbox_ids, self.services)


@dataclasses.dataclass
class World:
    services: Services
    clock: SettableClock
    phone: RecordingChannel
    queue: InPlaceQueue
    business: Business

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
        while self.clock.at < until:
            self.clock.at += step
            await dispatch.tick(self.services)

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
    return World(services, clock, phone, queue, business)
