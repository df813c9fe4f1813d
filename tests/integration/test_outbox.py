"""The outbox sender: retries with backoff, never contacts an opted-out customer, sends once."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from app.bootstrap import Runtime
from bot.domain import (
    Business,
    Capabilities,
    ChannelName,
    DeliveryStatus,
    Inbound,
    Outbound,
    OutboxStatus,
    SendFailed,
    SentReceipt,
    WebhookRequest,
)
from bot.inbound.pipeline import handle_inbound
from bot.outbound.outbox import STALE_AFTER, backoff, send_batch, send_outbound, sweep
from bot.services import Services
from tests.fakes.queues import RecordingQueue


class SettableClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


class ScriptedChannel:
    """A sandbox-like channel whose sends fail as scripted, recording every attempt."""

    name = ChannelName.SANDBOX
    capabilities = Capabilities(buttons=True, max_text=4096, can_initiate=True)

    def __init__(self, *failures: SendFailed) -> None:
        self.failures = list(failures)
        self.sent: list[Outbound] = []

    async def parse(self, request: WebhookRequest) -> list[Inbound]:
        raise NotImplementedError

    async def send(self, outbound: Outbound) -> SentReceipt:
        await asyncio.sleep(0.01)
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(outbound)
        return SentReceipt(f"sb-{len(self.sent)}", DeliveryStatus.DELIVERED)


class FailingTo(ScriptedChannel):
    """Sends to some addresses fail, every time, as given."""

    def __init__(self, failures: dict[str, SendFailed]) -> None:
        super().__init__()
        self.failing = failures

    async def send(self, outbound: Outbound) -> SentReceipt:
        await asyncio.sleep(0.01)
        if outbound.address in self.failing:
            raise self.failing[outbound.address]
        self.sent.append(outbound)
        return SentReceipt(f"sb-{outbound.address}", DeliveryStatus.DELIVERED)


@pytest.fixture
def runtime(sqlite_database: str) -> Runtime:
    """Only the embedded backend: these tests drive the sender by hand."""
    from app.bootstrap import build
    from tests.integration.conftest import _settings

    return build(_settings(database_url=sqlite_database))


@pytest.fixture
async def started(runtime: Runtime):  # type: ignore[no-untyped-def]
    await runtime.start()
    yield runtime
    await runtime.stop()


def _services(
    runtime: Runtime, channel: ScriptedChannel, clock: SettableClock
) -> tuple[Services, RecordingQueue]:
    queue = RecordingQueue()
    services = dataclasses.replace(
        runtime.services, channels={ChannelName.SANDBOX: channel}, clock=clock, queue=queue
    )
    return services, queue


async def _message(
    services: Services, business: Business, text: str, n: int = 1, *, address: str = "dana"
) -> int:
    inbound = Inbound(
        channel=ChannelName.SANDBOX,
        delivery_id=f"d-{n}",
        address=address,
        received_at=services.clock.now(),
        text=text,
    )
    await handle_inbound(business, inbound, services)
    return n


async def _outbox(services: Services, item_id: int):  # type: ignore[no-untyped-def]
    async with services.uow() as uow:
        item = await uow.outbox.get(item_id)
        message = await uow.messages.get(item.message_id)
    return item, message


async def test_a_failed_send_is_retried_after_its_backoff_and_then_delivered(
    started: Runtime, business: tuple[Business, str]
) -> None:
    clock = SettableClock()
    channel = ScriptedChannel(SendFailed("503 from provider", retryable=True))
    services, queue = _services(started, channel, clock)
    await _message(services, business[0], "hello")
    (item_id,) = queue.queued

    assert await send_outbound(item_id, services) is OutboxStatus.PENDING
    assert await send_outbound(item_id, services) is None
    clock.at += backoff(1)
    assert await sweep(services) == 1
    assert await send_outbound(item_id, services) is OutboxStatus.SENT

    item, message = await _outbox(services, item_id)
    assert item.attempts == 2 and item.last_error is None
    assert message.status is DeliveryStatus.DELIVERED and message.channel_message_id == "sb-1"
    assert len(channel.sent) == 1


async def test_a_permanent_failure_marks_the_message_failed_without_retrying(
    started: Runtime, business: tuple[Business, str]
) -> None:
    channel = ScriptedChannel(SendFailed("chat not found", retryable=False))
    services, queue = _services(started, channel, SettableClock())
    await _message(services, business[0], "hello")

    assert await send_outbound(queue.queued[0], services) is OutboxStatus.FAILED
    item, message = await _outbox(services, queue.queued[0])
    assert item.status is OutboxStatus.FAILED and item.last_error == "chat not found"
    assert message.status is DeliveryStatus.FAILED


async def test_a_reply_queued_before_the_customer_opted_out_is_never_sent(
    started: Runtime, business: tuple[Business, str]
) -> None:
    channel = ScriptedChannel()
    services, queue = _services(started, channel, SettableClock())
    await _message(services, business[0], "hello", 1)
    await _message(services, business[0], "STOP", 2)
    reply, confirmation = queue.queued

    assert await send_outbound(reply, services) is OutboxStatus.SKIPPED
    assert await send_outbound(confirmation, services) is OutboxStatus.SENT
    assert [o.reply.text for o in channel.sent] == [
        "You are unsubscribed from Café Kesher. We will not message you again. Send START to resume."
    ]
    assert (await _outbox(services, reply))[1].status is DeliveryStatus.SKIPPED


async def test_concurrent_senders_of_one_row_send_it_once(
    started: Runtime, business: tuple[Business, str]
) -> None:
    channel = ScriptedChannel()
    services, queue = _services(started, channel, SettableClock())
    await _message(services, business[0], "hello")

    results = await asyncio.gather(*(send_outbound(queue.queued[0], services) for _ in range(10)))

    assert results.count(OutboxStatus.SENT) == 1 and results.count(None) == 9
    assert len(channel.sent) == 1


async def test_a_row_whose_sender_died_is_swept_back_and_sent(
    started: Runtime, business: tuple[Business, str]
) -> None:
    clock = SettableClock()
    channel = ScriptedChannel()
    services, queue = _services(started, channel, clock)
    await _message(services, business[0], "hello")
    (item_id,) = queue.queued
    async with services.uow() as uow:
        assert await uow.outbox.claim(item_id, now=clock.now())
        await uow.commit()
    queue.queued.clear()

    assert await sweep(services) == 0
    clock.at += STALE_AFTER + timedelta(seconds=1)
    assert await sweep(services) == 1
    assert await send_outbound(queue.queued[0], services) is OutboxStatus.SENT
    assert len(channel.sent) == 1


def test_backoff_doubles_from_five_seconds_caps_at_an_hour_and_honours_retry_after() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert backoff(30).total_seconds() == 3600
    assert backoff(1, retry_after=42).total_seconds() == 42


async def test_replies_to_one_conversation_leave_in_the_order_they_were_decided(
    started: Runtime, business: tuple[Business, str]
) -> None:
    channel = ScriptedChannel()
    services, queue = _services(started, channel, SettableClock())
    await _message(services, business[0], "hello", 1)
    await _message(services, business[0], "and one more thing", 2)
    earlier, later = queue.queued

    later_first = asyncio.create_task(send_outbound(later, services))
    await asyncio.sleep(0.02)
    results = await asyncio.gather(send_outbound(earlier, services), later_first)

    assert results == [OutboxStatus.SENT, OutboxStatus.SENT]
    welcome, noted = (o.reply.text for o in channel.sent)
    assert welcome.startswith("Hi") and noted == "Thanks, noted 🙏"


async def test_a_batch_sends_every_row_once_even_when_given_twice_at_once(
    started: Runtime, business: tuple[Business, str]
) -> None:
    channel = ScriptedChannel()
    services, queue = _services(started, channel, SettableClock())
    names = [f"customer-{n}" for n in range(5)]
    for n, name in enumerate(names):
        await _message(services, business[0], "hello", n, address=name)
    ids = list(queue.queued)
    queue.queued.clear()

    first, second = await asyncio.gather(send_batch(ids, services), send_batch(ids, services))

    for item_id in ids:
        assert {first[item_id], second[item_id]} == {None, OutboxStatus.SENT}
    assert sorted(o.address for o in channel.sent) == names
    for item_id in ids:
        item, message = await _outbox(services, item_id)
        assert item.status is OutboxStatus.SENT and item.attempts == 1
        assert message.status is DeliveryStatus.DELIVERED and message.channel_message_id
    assert len({(await _outbox(services, i))[1].channel_message_id for i in ids}) == 5
    assert await send_batch(ids, services) == dict.fromkeys(ids)
    assert len(channel.sent) == 5 and queue.queued == []


async def test_a_batch_skips_an_opted_out_customer_and_leaves_a_later_reply_to_the_one_row_path(
    started: Runtime, business: tuple[Business, str]
) -> None:
    channel = ScriptedChannel()
    services, queue = _services(started, channel, SettableClock())
    await _message(services, business[0], "hello", 1)
    await _message(services, business[0], "STOP", 2)
    await _message(services, business[0], "hello", 3, address="yael")
    reply, confirmation, welcome = queue.queued
    queue.queued.clear()

    outcomes = await send_batch([reply, confirmation, welcome], services)

    assert outcomes == {reply: OutboxStatus.SKIPPED, confirmation: None, welcome: OutboxStatus.SENT}
    assert [o.address for o in channel.sent] == ["yael"]
    assert (await _outbox(services, reply))[1].status is DeliveryStatus.SKIPPED
    waiting, _ = await _outbox(services, confirmation)
    assert waiting.status is OutboxStatus.PENDING and waiting.attempts == 0
    assert queue.queued == [confirmation]
    assert await send_outbound(confirmation, services) is OutboxStatus.SENT
    assert channel.sent[-1].address == "dana"
    assert channel.sent[-1].reply.text.startswith("You are unsubscribed")


async def test_replies_to_one_conversation_in_one_batch_still_leave_in_order(
    started: Runtime, business: tuple[Business, str]
) -> None:
    channel = ScriptedChannel()
    services, queue = _services(started, channel, SettableClock())
    await _message(services, business[0], "hello", 1)
    await _message(services, business[0], "and one more thing", 2)
    earlier, later = queue.queued
    queue.queued.clear()

    assert await send_batch([later, earlier], services) == {
        later: None,
        earlier: OutboxStatus.SENT,
    }
    assert queue.queued == [later]
    assert await send_outbound(later, services) is OutboxStatus.SENT
    welcome, noted = (o.reply.text for o in channel.sent)
    assert welcome.startswith("Hi") and noted == "Thanks, noted 🙏"


async def test_a_failed_row_in_a_batch_leaves_the_others_sent(
    started: Runtime, business: tuple[Business, str]
) -> None:
    clock = SettableClock()
    channel = FailingTo(
        {
            "gone": SendFailed("chat not found", retryable=False),
            "busy": SendFailed("503 from provider", retryable=True),
        }
    )
    services, queue = _services(started, channel, clock)
    names = ["ada", "gone", "bea", "busy", "cy"]
    for n, name in enumerate(names):
        await _message(services, business[0], "hello", n, address=name)
    ids = dict(zip(names, queue.queued, strict=True))

    outcomes = await send_batch(list(ids.values()), services)

    assert outcomes == {
        ids["ada"]: OutboxStatus.SENT,
        ids["gone"]: OutboxStatus.FAILED,
        ids["bea"]: OutboxStatus.SENT,
        ids["busy"]: OutboxStatus.PENDING,
        ids["cy"]: OutboxStatus.SENT,
    }
    assert sorted(o.address for o in channel.sent) == ["ada", "bea", "cy"]
    for name in ("ada", "bea", "cy"):
        item, message = await _outbox(services, ids[name])
        assert item.status is OutboxStatus.SENT
        assert message.status is DeliveryStatus.DELIVERED
        assert message.channel_message_id == f"sb-{name}"
    gone, gone_message = await _outbox(services, ids["gone"])
    assert gone.status is OutboxStatus.FAILED and gone_message.status is DeliveryStatus.FAILED
    busy, busy_message = await _outbox(services, ids["busy"])
    assert busy.status is OutboxStatus.PENDING and busy.last_error == "503 from provider"
    assert busy.next_attempt_at == clock.now() + backoff(1)
    assert busy_message.status is DeliveryStatus.QUEUED
