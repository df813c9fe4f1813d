"""WhatsApp outbound on the record: free text inside the 24-hour window, the approved template
outside it, held as needs_template without one, one template resend when Twilio says 63016;
opted-out customers get one confirmation and nothing else; refusals that will never succeed
fail at once, throttling is retried.

The sender is driven by hand with a settable clock; Twilio is the loopback fake the SDK talks
to over real HTTP. Both backends: SQLite + memory, PostgreSQL + Redis.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from app.bootstrap import Runtime
from bot.accounts.businesses import set_consent_words
from bot.accounts.channels import connect_whatsapp, set_whatsapp_templates
from bot.domain import (
    Business,
    ChannelName,
    Choice,
    DeliveryReport,
    DeliveryStatus,
    Direction,
    Inbound,
    InvalidInput,
    OutboxKind,
    OutboxStatus,
)
from bot.inbound.delivery_reports import record_report
from bot.inbound.pipeline import handle_inbound
from bot.outbound.outbox import send_batch, send_outbound
from bot.services import Services
from tests.fakes.queues import RecordingQueue
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER, FakeTwilio
from tests.integration.conftest import running

PUBLIC = "https://kesher.example.com"
CUSTOMER = "whatsapp:+972501234567"
CHECKIN_HE = "HX" + "c" * 32
TEMPLATES = {"checkin": {"he": {"sid": CHECKIN_HE, "variables": ["customer_name", "business"]}}}


class SettableClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)

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


async def _customer_writes(
    services: Services, shop: Business, n: int = 1, *, address: str = CUSTOMER
) -> None:
    """Dana (or another customer) writes in Hebrew; the reply it gets is sent at once."""
    inbound = Inbound(
        channel=ChannelName.WHATSAPP,
        delivery_id=f"SM{n:032d}",
        address=address,
        received_at=services.clock.now(),
        text="שלום, רציתי לשאול על ההזמנה",
        profile_name="דנה",
        channel_message_id=f"SM{n:032d}",
    )
    handled = await handle_inbound(shop, inbound, services)
    for reply in handled.replies:
        await send_outbound(await _item_of(services, reply.id), services)


async def _item_of(services: Services, message_id: int) -> int:
    async with services.uow() as uow:
        item = await uow.outbox.for_message(message_id)
    assert item is not None
    return item.id


async def _queue_checkin(services: Services, shop: Business, address: str = CUSTOMER) -> int:
    """A check-in to Dana (or another customer), queued the way the check-in dispatcher queues
    one."""
    async with services.uow() as uow:
        identity = await uow.identities.find(shop.id, ChannelName.WHATSAPP, address)
        assert identity is not None
        conversation = await uow.conversations.open_for(identity.id)
        assert conversation is not None
        message = await uow.messages.add(
            shop.id,
            conversation=conversation,
            direction=Direction.OUT,
            channel=ChannelName.WHATSAPP,
            text="היי דנה, איך היה אצלנו?",
            status=DeliveryStatus.QUEUED,
            created_at=services.clock.now(),
            choices=[Choice("good", "מצוין"), Choice("bad", "לא משהו")],
        )
        item = await uow.outbox.add(
            shop.id,
            message_id=message.id,
            kind=OutboxKind.CHECKIN,
            idempotency_key=f"checkin:{message.id}",
            due_at=services.clock.now(),
        )
        await uow.commit()
    return item.id


async def _state(services: Services, item_id: int) -> tuple[OutboxStatus, DeliveryStatus, str]:
    async with services.uow() as uow:
        item = await uow.outbox.get(item_id)
        message = await uow.messages.get(item.message_id)
    return item.status, message.status, message.channel_message_id or ""


async def test_each_message_from_the_customer_moves_the_identitys_window_forward(
    services: Services, shop: Business, clock: SettableClock
) -> None:
    await _customer_writes(services, shop, 1)
    clock.at += timedelta(hours=30)
    await _customer_writes(services, shop, 2)

    async with services.uow() as uow:
        identity = await uow.identities.find(shop.id, ChannelName.WHATSAPP, CUSTOMER)
    assert identity is not None and identity.last_inbound_at == clock.at


async def test_inside_the_window_a_checkin_goes_with_its_choices_as_quick_reply_buttons(
    services: Services, shop: Business, clock: SettableClock, fake_twilio: FakeTwilio
) -> None:
    await _customer_writes(services, shop)
    await set_whatsapp_templates(services, shop, TEMPLATES)
    clock.at += timedelta(hours=23, minutes=59)
    item_id = await _queue_checkin(services, shop)

    assert await send_outbound(item_id, services) is OutboxStatus.SENT
    call = fake_twilio.calls[-1].params
    [content] = fake_twilio.contents
    assert call["ContentSid"] == content["sid"] and "Body" not in call
    buttons = content["types"]["twilio/quick-reply"]
    assert buttons["body"] == "היי דנה, איך היה אצלנו?"
    assert [a["title"] for a in buttons["actions"]] == ["מצוין", "לא משהו"]


async def test_outside_the_window_a_checkin_goes_as_its_template_with_variables(
    services: Services, shop: Business, clock: SettableClock, fake_twilio: FakeTwilio
) -> None:
    await _customer_writes(services, shop)
    await set_whatsapp_templates(services, shop, TEMPLATES)
    clock.at += timedelta(hours=24)
    item_id = await _queue_checkin(services, shop)

    assert await send_outbound(item_id, services) is OutboxStatus.SENT
    call = fake_twilio.calls[-1].params
    assert call["ContentSid"] == CHECKIN_HE and "Body" not in call
    assert json.loads(call["ContentVariables"]) == {"1": "דנה", "2": "Café Kesher"}
    assert (await _state(services, item_id))[1] is DeliveryStatus.QUEUED


async def test_without_a_template_the_checkin_is_held_and_shown_then_sent_once_one_is_set(
    services: Services,
    shop: Business,
    business: tuple[Business, str],
    clock: SettableClock,
    queue: RecordingQueue,
    fake_twilio: FakeTwilio,
    client: httpx.AsyncClient,
) -> None:
    await _customer_writes(services, shop)
    calls = len(fake_twilio.calls)
    clock.at += timedelta(days=3)
    item_id = await _queue_checkin(services, shop)

    assert await send_outbound(item_id, services) is OutboxStatus.NEEDS_TEMPLATE
    assert len(fake_twilio.calls) == calls
    assert (await _state(services, item_id))[:2] == (
        OutboxStatus.NEEDS_TEMPLATE,
        DeliveryStatus.NEEDS_TEMPLATE,
    )
    async with services.uow() as uow:
        identity = await uow.identities.find(shop.id, ChannelName.WHATSAPP, CUSTOMER)
    assert identity is not None
    timeline = await client.get(
        f"/api/v1/{shop.slug}/customers/{identity.customer_id}/timeline",
        headers={"Authorization": f"Bearer {business[1]}"},
    )
    statuses = [i.get("status") for i in timeline.json()["items"] if i["type"] == "message"]
    assert statuses[-1] == "needs_template"

    await set_whatsapp_templates(services, shop, TEMPLATES)
    assert queue.queued[-1] == item_id
    assert await send_outbound(item_id, services) is OutboxStatus.SENT
    assert fake_twilio.calls[-1].params["ContentSid"] == CHECKIN_HE


async def test_a_batch_holds_a_checkin_that_needs_a_template_and_sends_the_one_that_does_not(
    services: Services, shop: Business, clock: SettableClock, fake_twilio: FakeTwilio
) -> None:
    other = "whatsapp:+972507654321"
    await _customer_writes(services, shop, 1)
    clock.at += timedelta(days=3)
    await _customer_writes(services, shop, 2, address=other)
    calls = len(fake_twilio.calls)
    held = await _queue_checkin(services, shop)
    inside = await _queue_checkin(services, shop, other)

    outcomes = await send_batch([held, inside], services)

    assert outcomes == {held: OutboxStatus.NEEDS_TEMPLATE, inside: OutboxStatus.SENT}
    assert len(fake_twilio.calls) == calls + 1
    assert fake_twilio.calls[-1].params["To"] == other
    assert (await _state(services, held))[:2] == (
        OutboxStatus.NEEDS_TEMPLATE,
        DeliveryStatus.NEEDS_TEMPLATE,
    )
    status, _, sid = await _state(services, inside)
    assert status is OutboxStatus.SENT and sid.startswith("SM")


async def test_twilio_63016_from_the_api_resends_once_as_the_template(
    services: Services,
    shop: Business,
    clock: SettableClock,
    queue: RecordingQueue,
    fake_twilio: FakeTwilio,
) -> None:
    await _customer_writes(services, shop)
    await set_whatsapp_templates(services, shop, TEMPLATES)
    clock.at += timedelta(hours=2)
    item_id = await _queue_checkin(services, shop)
    fake_twilio.fail_next(400, 63016, "Failed to send freeform message outside the window")

    assert await send_outbound(item_id, services) is OutboxStatus.PENDING
    assert queue.queued[-1] == item_id
    assert await send_outbound(item_id, services) is OutboxStatus.SENT
    free, template = (call.params for call in fake_twilio.calls[-2:])
    assert free["ContentSid"] == fake_twilio.contents[0]["sid"]  # the session's buttons
    assert template["ContentSid"] == CHECKIN_HE and "Body" not in template


async def test_a_second_63016_on_the_template_fails_the_message_without_a_third_try(
    services: Services, shop: Business, clock: SettableClock, fake_twilio: FakeTwilio
) -> None:
    await _customer_writes(services, shop)
    await set_whatsapp_templates(services, shop, TEMPLATES)
    item_id = await _queue_checkin(services, shop)
    fake_twilio.fail_next(400, 63016, "outside the window")
    fake_twilio.fail_next(400, 63016, "outside the window")

    await send_outbound(item_id, services)
    assert await send_outbound(item_id, services) is OutboxStatus.FAILED
    assert await send_outbound(item_id, services) is None
    assert (await _state(services, item_id))[:2] == (OutboxStatus.FAILED, DeliveryStatus.FAILED)


async def test_a_63016_reply_without_a_template_is_held_not_failed(
    services: Services, shop: Business, fake_twilio: FakeTwilio
) -> None:
    await _customer_writes(services, shop, 1)
    fake_twilio.fail_next(400, 63016, "outside the window")
    inbound = Inbound(
        channel=ChannelName.WHATSAPP,
        delivery_id="SM" + "9" * 32,
        address=CUSTOMER,
        received_at=services.clock.now(),
        text="עוד שאלה",
    )
    handled = await handle_inbound(shop, inbound, services)
    item_id = await _item_of(services, handled.replies[0].id)

    assert await send_outbound(item_id, services) is OutboxStatus.PENDING
    assert await send_outbound(item_id, services) is OutboxStatus.NEEDS_TEMPLATE


async def test_a_63016_status_callback_resends_once_and_a_repeat_of_it_changes_nothing(
    services: Services,
    shop: Business,
    clock: SettableClock,
    queue: RecordingQueue,
    fake_twilio: FakeTwilio,
) -> None:
    await _customer_writes(services, shop)
    await set_whatsapp_templates(services, shop, TEMPLATES)
    item_id = await _queue_checkin(services, shop)
    await send_outbound(item_id, services)
    first_sid = (await _state(services, item_id))[2]

    def failed(sid: str) -> DeliveryReport:
        return DeliveryReport(
            channel=ChannelName.WHATSAPP,
            channel_message_id=sid,
            status=DeliveryStatus.FAILED,
            received_at=clock.now(),
            error_code="63016",
            error_message="outside the window",
        )

    assert await record_report(shop, failed(first_sid), services)
    assert await _state(services, item_id) == (
        OutboxStatus.PENDING,
        DeliveryStatus.QUEUED,
        first_sid,
    )
    assert await record_report(shop, failed(first_sid), services)
    assert (await _state(services, item_id))[1] is DeliveryStatus.QUEUED
    assert queue.queued.count(item_id) == 1

    assert await send_outbound(item_id, services) is OutboxStatus.SENT
    template_sid = (await _state(services, item_id))[2]
    assert fake_twilio.calls[-1].params["ContentSid"] == CHECKIN_HE
    assert template_sid != first_sid
    assert not await record_report(shop, failed(first_sid), services)

    await record_report(shop, failed(template_sid), services)
    assert (await _state(services, item_id))[:2] == (OutboxStatus.SENT, DeliveryStatus.FAILED)


async def _customer_says(
    services: Services, shop: Business, text: str, n: int, *, first: int | None = None
) -> None:
    """The customer's message is handled; `first`, a row queued earlier, is sent before replies."""
    inbound = Inbound(
        channel=ChannelName.WHATSAPP,
        delivery_id=f"SM{n:032d}",
        address=CUSTOMER,
        received_at=services.clock.now(),
        text=text,
    )
    handled = await handle_inbound(shop, inbound, services)
    if first is not None:
        assert await send_outbound(first, services) is OutboxStatus.SKIPPED
    for reply in handled.replies:
        await send_outbound(await _item_of(services, reply.id), services)


@pytest.mark.parametrize("word", ["STOP", "unsubscribe", "הָסֵר", "הסירו  אותי", "די!"])
async def test_an_opted_out_customer_gets_one_confirmation_and_nothing_else_even_if_queued(
    services: Services, shop: Business, fake_twilio: FakeTwilio, word: str
) -> None:
    await _customer_writes(services, shop)
    await set_whatsapp_templates(services, shop, TEMPLATES)
    queued = await _queue_checkin(services, shop)
    before = len(fake_twilio.calls)

    await _customer_says(services, shop, word, 2, first=queued)
    await _customer_says(services, shop, "עוד משהו?", 3)
    await _customer_says(services, shop, "stop", 4)

    bodies = [call.params.get("Body", "") for call in fake_twilio.calls[before:]]
    assert len(bodies) == 1 and "הוסרתם" in bodies[0]
    assert (await _state(services, queued))[:2] == (OutboxStatus.SKIPPED, DeliveryStatus.SKIPPED)


async def test_start_opts_back_in_with_one_confirmation_and_replies_resume(
    services: Services, shop: Business, fake_twilio: FakeTwilio
) -> None:
    await _customer_writes(services, shop)
    await _customer_says(services, shop, "הסר", 2)
    before = len(fake_twilio.calls)

    await _customer_says(services, shop, "התחל", 3)
    await _customer_says(services, shop, "START", 4)
    await _customer_says(services, shop, "איפה ההזמנה שלי?", 5)

    bodies = [call.params["Body"] for call in fake_twilio.calls[before:]]
    assert "ברוכים השבים" in bodies[0]
    assert len(bodies) == 3 and not any("ברוכים השבים" in b for b in bodies[1:])


@pytest.mark.parametrize(
    ("code", "reason"), [(21610, "blocked messages"), (21211, "not a valid phone number")]
)
async def test_a_refusal_that_will_never_succeed_fails_once_with_the_reason(
    services: Services, shop: Business, fake_twilio: FakeTwilio, code: int, reason: str
) -> None:
    await _customer_writes(services, shop)
    item_id = await _queue_checkin(services, shop)
    fake_twilio.fail_next(400, code, "refused")

    assert await send_outbound(item_id, services) is OutboxStatus.FAILED
    async with services.uow() as uow:
        item = await uow.outbox.get(item_id)
        identity = await uow.identities.find(shop.id, ChannelName.WHATSAPP, CUSTOMER)
    assert item.last_error is not None and reason in item.last_error
    assert identity is not None and not identity.reachable
    assert (await _state(services, item_id))[1] is DeliveryStatus.FAILED


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (503, 20503)])
async def test_throttling_and_twilio_outages_are_retried_later_then_sent(
    services: Services,
    shop: Business,
    clock: SettableClock,
    fake_twilio: FakeTwilio,
    status: int,
    code: int,
) -> None:
    await _customer_writes(services, shop)
    item_id = await _queue_checkin(services, shop)
    fake_twilio.fail_next(status, code, "try later", retry_after=30)

    assert await send_outbound(item_id, services) is OutboxStatus.PENDING
    assert await send_outbound(item_id, services) is None
    clock.at += timedelta(seconds=30)
    assert await send_outbound(item_id, services) is OutboxStatus.SENT


async def test_a_429_asking_for_a_second_is_waited_out_and_a_second_refusal_stands(
    services: Services, shop: Business, fake_twilio: FakeTwilio
) -> None:
    await _customer_writes(services, shop)
    item_id = await _queue_checkin(services, shop)
    before = len(fake_twilio.calls)
    fake_twilio.fail_next(429, 20429, "Too Many Requests", retry_after=1)

    assert await send_outbound(item_id, services) is OutboxStatus.SENT
    assert len(fake_twilio.calls) - before == 2

    again = await _queue_checkin(services, shop)
    for _ in range(2):
        fake_twilio.fail_next(429, 20429, "Too Many Requests", retry_after=1)
    assert await send_outbound(again, services) is OutboxStatus.PENDING
    async with services.uow() as uow:
        assert (await uow.outbox.get(again)).attempts == 1


async def test_a_business_s_own_words_opt_out_and_back_in_on_whatsapp(
    services: Services, shop: Business, fake_twilio: FakeTwilio
) -> None:
    async with services.uow() as uow:
        with pytest.raises(InvalidInput, match="opt_out: '!!!'"):
            await set_consent_words(uow, shop, opt_out=["!!!"], opt_in=[])
        await set_consent_words(uow, shop, opt_out=["עצור", "Basta"], opt_in=["חזרתי"])
        await uow.commit()
        own = await uow.businesses.get(shop.id)
    await _customer_writes(services, own)
    before = len(fake_twilio.calls)

    await _customer_says(services, own, "עָצוּר!", 2)
    await _customer_says(services, own, "BASTA", 3)
    await _customer_says(services, own, "חזרתי", 4)

    bodies = [call.params["Body"] for call in fake_twilio.calls[before:]]
    assert len(bodies) == 2 and "הוסרתם" in bodies[0] and "ברוכים השבים" in bodies[1]
