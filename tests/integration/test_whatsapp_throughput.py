"""A WhatsApp sender's throughput: replies wait for room under the business's MPS, none is dropped
or failed for it, and every process sharing Redis counts against one budget per sender.

Twilio is the loopback fake, which stamps each call with the time it came and refuses (429)
messages that come before their turn at the MPS. Windows are counted with one message of slack
for the loopback's own jitter; without the limiter the whole batch would arrive in one burst.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Sequence

from redis.asyncio import Redis

from app.bootstrap import Runtime
from bot.accounts.channels import connect_whatsapp
from bot.domain import (
    Business,
    ChannelName,
    DeliveryStatus,
    Direction,
    Outbound,
    OutboxKind,
    OutboxStatus,
    Reply,
)
from bot.jobs import Job
from bot.outbound.outbox import send_outbound
from bot.services import Services
from integrations.whatsapp import TwilioAccount, WhatsAppSender
from storage.redis import RedisRateLimiter
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER, Call, FakeTwilio
from tests.integration.test_whatsapp_outbound import PUBLIC
from tests.integration.test_whatsapp_outbound import runtime as runtime  # the fixture

MPS = 2  # turns half a second apart: a moment's stall on a busy machine is not a burst


class RecordingQueue:
    async def enqueue(self, job: Job) -> None:
        """Sends are started by the test itself, all at once."""


def busiest_second(calls: Sequence[Call]) -> int:
    """The most calls that came within any one second."""
    times = sorted(call.at for call in calls)
    return max((sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times)))


async def _replies_waiting(services: Services, shop: Business, count: int) -> list[int]:
    """`count` customers who wrote a minute ago, each with a reply in the outbox."""
    now = services.clock.now()
    items = []
    async with services.uow() as uow:
        for n in range(count):
            address = f"whatsapp:+97250{n:07d}"
            customer = await uow.customers.add(
                shop.id,
                name=f"Customer {n}",
                phone=None,
                language="he",
                timezone="Asia/Jerusalem",
                attributes={},
                created_at=now,
            )
            identity = await uow.identities.add(
                shop.id, customer.id, channel=ChannelName.WHATSAPP, address=address, created_at=now
            )
            await uow.identities.set_last_inbound(identity.id, at=now)
            conversation = await uow.conversations.add(
                shop.id, customer_id=customer.id, identity_id=identity.id, started_at=now
            )
            message = await uow.messages.add(
                shop.id,
                conversation=conversation,
                direction=Direction.OUT,
                channel=ChannelName.WHATSAPP,
                text=f"תודה! reply {n}",
                status=DeliveryStatus.QUEUED,
                created_at=now,
            )
            item = await uow.outbox.add(
                shop.id,
                message_id=message.id,
                kind=OutboxKind.REPLY,
                idempotency_key=f"throughput:{uuid.uuid4().hex}",
                due_at=now,
            )
            items.append(item.id)
        await uow.commit()
    return items


async def test_replies_over_the_senders_mps_wait_their_turn_and_all_go(
    runtime: Runtime, business: tuple[Business, str], fake_twilio: FakeTwilio
) -> None:
    services = dataclasses.replace(runtime.services, queue=RecordingQueue())
    shop, _ = business
    account = await connect_whatsapp(
        services,
        shop,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        sender=SENDER,
        public_base=PUBLIC,
        mps=MPS,
    )
    assert account.settings["mps"] == MPS
    items = await _replies_waiting(services, shop, 3 * MPS)
    fake_twilio.mps = MPS

    started = time.monotonic()
    outcomes = await asyncio.gather(*(send_outbound(item, services) for item in items))
    took = time.monotonic() - started

    assert outcomes == [OutboxStatus.SENT] * len(items)
    assert not fake_twilio.limited
    assert len({call.params["To"] for call in fake_twilio.calls}) == len(items)
    # 3 × MPS messages: MPS now, MPS a second later, MPS two seconds later.
    assert took >= 1.8
    assert busiest_second(fake_twilio.calls) <= MPS + 1


async def test_two_processes_sharing_redis_share_one_budget_per_sender(
    redis_client: Redis, redis_url: str, fake_twilio: FakeTwilio
) -> None:
    account = TwilioAccount(ACCOUNT_SID, AUTH_TOKEN, sender=SENDER, mps=MPS)
    fake_twilio.mps = MPS
    clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    senders = [
        WhatsAppSender(fake_twilio.url, limiter=RedisRateLimiter(client)) for client in clients
    ]

    async def send_from(sender: WhatsAppSender, first: int) -> None:
        for n in range(first, first + 2 * MPS):
            outbound = Outbound(
                channel=ChannelName.WHATSAPP,
                business="shop",
                address=f"whatsapp:+97250{n:07d}",
                reply=Reply(text=f"reply {n}"),
                idempotency_key=f"shared:{n}",
            )
            await sender.send(outbound, account=account)

    started = time.monotonic()
    try:
        await asyncio.gather(send_from(senders[0], 0), send_from(senders[1], 100))
    finally:
        for sender in senders:
            await sender.aclose()
        for client in clients:
            await client.aclose()
    took = time.monotonic() - started

    assert len(fake_twilio.calls) == 4 * MPS and not fake_twilio.limited
    # 4 × MPS messages through one budget: four seconds' worth, the first at once.
    assert took >= 2.7
    assert busiest_second(fake_twilio.calls) <= MPS + 1
