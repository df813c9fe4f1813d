"""A worker killed between the provider's answer and its own commit, on both backends.

The kill is simulated by a channel that lets the real send happen and then raises what no
handler in Kesher catches (as a SIGKILL would leave it: the provider has the message, the
database still says `sending`). The sweep gives the row back after `STALE_AFTER`; the next
claimant asks Twilio (the loopback fake, through the SDK) what went out and records it instead
of sending it again. Telegram has no such lookup: there the reply goes twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from app.bootstrap import Runtime
from bot.accounts.channels import connect_whatsapp
from bot.domain import (
    Business,
    ChannelName,
    DeliveryStatus,
    Inbound,
    Outbound,
    OutboxStatus,
    SentReceipt,
    WebhookRequest,
)
from bot.inbound.pipeline import handle_inbound
from bot.outbound.outbox import STALE_AFTER, backoff, send_batch, send_outbound, sweep
from bot.ports import Channel
from bot.services import Services
from tests.fakes.queues import RecordingQueue
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER, FakeTwilio
from tests.integration.conftest import running

PUBLIC = "https://kesher.example.com"
DANA = "whatsapp:+972501234567"


class WorkerKilled(BaseException):
    """The process died: nothing after it runs (no handler of Kesher's catches it)."""


class KilledAfterSending:
    """The channel as it is, but the worker dies as soon as the provider has answered."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.name = channel.name
        self.capabilities = channel.capabilities

    async def parse(self, request: WebhookRequest) -> list[Inbound]:
        raise NotImplementedError

    async def send(self, outbound: Outbound) -> SentReceipt:
        await self.channel.send(outbound)
        raise WorkerKilled()


class SettableClock:
    """Kesher's clock, from now: the fake Twilio stamps its messages with the real time."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def runtime(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest, tmp_path, fake_twilio: FakeTwilio
) -> AsyncIterator[Runtime]:
    async for built in running(
        request, tmp_path, twilio_api_url=fake_twilio.url, public_url=PUBLIC
    ):
        yield built


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def services(runtime: Runtime, clock: SettableClock, queue: RecordingQueue) -> Services:
    return dataclasses.replace(runtime.services, clock=clock, queue=queue)


@pytest.fixture
async def shop(services: Services, business: tuple[Business, str]) -> Business:
    found, _ = business
    await connect_whatsapp(
        services,
        found,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        sender=SENDER,
        public_base=PUBLIC,
    )
    return found


def _killed(services: Services) -> Services:
    whatsapp = services.channels[ChannelName.WHATSAPP]
    return dataclasses.replace(
        services, channels={**services.channels, ChannelName.WHATSAPP: KilledAfterSending(whatsapp)}
    )


async def _dana_writes(services: Services, shop: Business, n: int, text: str) -> int:
    """Dana writes; the one outbox row of the reply, queued but not sent."""
    inbound = Inbound(
        channel=ChannelName.WHATSAPP,
        delivery_id=f"SM{n:032d}",
        address=DANA,
        received_at=services.clock.now(),
        text=text,
        channel_message_id=f"SM{n:032d}",
    )
    handled = await handle_inbound(shop, inbound, services)
    (reply,) = handled.replies
    async with services.uow() as uow:
        item = await uow.outbox.for_message(reply.id)
    assert item is not None
    return item.id


async def _after_the_sweep(services: Services, clock: SettableClock, item_id: int) -> None:
    clock.at += STALE_AFTER + timedelta(seconds=1)
    queue = services.queue
    assert isinstance(queue, RecordingQueue)
    queue.queued.clear()
    assert await sweep(services) == 1 and queue.queued == [item_id]


def _created(fake: FakeTwilio) -> list[dict[str, object]]:
    return [m for m in fake.messages if m["to"] == DANA]


async def test_a_reply_twilio_took_before_the_worker_died_is_recorded_not_sent_again(
    services: Services, clock: SettableClock, shop: Business, fake_twilio: FakeTwilio
) -> None:
    item_id = await _dana_writes(services, shop, 1, "שלום, רציתי לשאול על ההזמנה")

    with pytest.raises(WorkerKilled):
        await send_outbound(item_id, _killed(services))
    (first,) = _created(fake_twilio)
    async with services.uow() as uow:
        assert (await uow.outbox.get(item_id)).status is OutboxStatus.SENDING

    await _after_the_sweep(services, clock, item_id)
    assert await send_outbound(item_id, services) is OutboxStatus.SENT

    assert _created(fake_twilio) == [first] and fake_twilio.lists == 1
    async with services.uow() as uow:
        item = await uow.outbox.get(item_id)
        message = await uow.messages.get(item.message_id)
    assert item.status is OutboxStatus.SENT and item.sending_since is None
    assert message.channel_message_id == first["sid"]
    assert message.status is DeliveryStatus.QUEUED


async def test_a_batch_whose_worker_died_after_twilio_answered_sends_nothing_twice(
    services: Services, clock: SettableClock, shop: Business, fake_twilio: FakeTwilio
) -> None:
    item_id = await _dana_writes(services, shop, 1, "שלום, רציתי לשאול על ההזמנה")

    # In a batch the sends run side by side: a dead one is left claimed for the sweep.
    assert await send_batch([item_id], _killed(services)) == {item_id: None}
    await _after_the_sweep(services, clock, item_id)
    assert await send_batch([item_id], services) == {item_id: OutboxStatus.SENT}

    assert len(_created(fake_twilio)) == 1 and fake_twilio.lists == 1


async def test_a_row_whose_earlier_attempt_never_reached_twilio_is_sent_after_the_lookup(
    services: Services, clock: SettableClock, shop: Business, fake_twilio: FakeTwilio
) -> None:
    """The same words sent to Dana before this row was first tried are not taken for it."""
    for n, text in enumerate(("שלום, רציתי לשאול על ההזמנה", "ועוד שאלה קטנה"), start=1):
        assert await send_outbound(await _dana_writes(services, shop, n, text), services) is (
            OutboxStatus.SENT
        )
    clock.at += timedelta(minutes=1)
    item_id = await _dana_writes(services, shop, 3, "ועוד שאלה אחת")
    fake_twilio.fail_next(500, 20500, "Internal Server Error")

    assert await send_outbound(item_id, services) is OutboxStatus.PENDING
    clock.at += backoff(1)
    assert await send_outbound(item_id, services) is OutboxStatus.SENT

    created = _created(fake_twilio)
    assert len(created) == 3 and fake_twilio.lists == 1
    assert created[1]["body"] == created[2]["body"]
    async with services.uow() as uow:
        item = await uow.outbox.get(item_id)
        message = await uow.messages.get(item.message_id)
    assert message.channel_message_id == created[2]["sid"]


async def test_a_fresh_row_asks_twilio_nothing(
    services: Services, shop: Business, fake_twilio: FakeTwilio
) -> None:
    item_id = await _dana_writes(services, shop, 1, "שלום, רציתי לשאול על ההזמנה")

    assert await send_outbound(item_id, services) is OutboxStatus.SENT

    assert len(_created(fake_twilio)) == 1 and fake_twilio.lists == 0


async def test_a_row_let_go_before_reaching_twilio_asks_nothing_when_sent(
    services: Services, shop: Business, fake_twilio: FakeTwilio
) -> None:
    """A batch lets go of a reply that waits on an earlier one of its conversation: it never
    reached Twilio, so sending it later looks nothing up."""
    earlier = await _dana_writes(services, shop, 1, "שלום, רציתי לשאול על ההזמנה")
    later = await _dana_writes(services, shop, 2, "ועוד שאלה קטנה")

    assert await send_batch([later, earlier], services) == {
        later: None,
        earlier: OutboxStatus.SENT,
    }
    async with services.uow() as uow:
        let_go = await uow.outbox.get(later)
    assert let_go.status is OutboxStatus.PENDING and let_go.sending_since is None
    assert await send_outbound(later, services) is OutboxStatus.SENT

    assert len(_created(fake_twilio)) == 2 and fake_twilio.lists == 0
