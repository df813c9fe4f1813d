"""Staff alerts where the staff are: each agent hears of a new handoff, an SLA about to pass and
a new conversation by e-mail, WhatsApp (the business's staff_alert template, to the agent's own
number) and Telegram as they chose, within their working hours, once per event and medium; a
medium that failed worth retrying is tried again by the tick, the others are not sent twice.

Both backends, against a local SMTP server and the Twilio and Telegram fakes on loopback, with
a clock set by hand and the jobs kept (not run) so that only the test sends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.bootstrap import Runtime
from bot.accounts.channels import connect_telegram, connect_whatsapp, set_whatsapp_templates
from bot.domain import Agent, AgentRole, Business, ChannelName, Handoff, Inbound
from bot.handoffs import alerts, sla
from bot.handoffs import service as handoffs
from bot.handoffs.agents import create_agent
from bot.inbound.pipeline import handle_inbound
from bot.jobs import AnnounceConversation
from bot.services import Services
from tests.fakes.queues import RecordingQueue
from tests.fakes.smtp import FakeSmtp
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER, FakeTwilio
from tests.integration.conftest import running

PUBLIC = "https://kesher.example.com"
ALERT_SID = "HX" + "a" * 32
# December in Israel is UTC+2: Sunday 6 December 2026, 10:00 there; Friday the 4th, 20:00 there.
SUNDAY_MORNING = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
FRIDAY_EVENING = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
EVERYTHING = ["email", "whatsapp", "telegram"]
_ids = itertools.count(1)


class SettableClock:
    def __init__(self) -> None:
        self.at = SUNDAY_MORNING

    def now(self) -> datetime:
        return self.at


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def runtime(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest,
    tmp_path,
    fake_smtp: FakeSmtp,
    fake_twilio: FakeTwilio,
    fake_telegram: FakeTelegram,
) -> AsyncIterator[Runtime]:
    async for built in running(
        request,
        tmp_path,
        smtp_url=fake_smtp.url,
        twilio_api_url=fake_twilio.url,
        telegram_api_url=fake_telegram.url,
        public_url=PUBLIC,
    ):
        yield built


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def services(runtime: Runtime, clock: SettableClock) -> Services:
    return dataclasses.replace(runtime.services, clock=clock, queue=RecordingQueue())


@pytest.fixture
async def shop(services: Services, business: tuple[Business, str]) -> Business:
    """The business with its own Telegram bot and WhatsApp sender, and an alert template."""
    found, _ = business
    await connect_telegram(services, found, token=TOKEN, public_base=PUBLIC)
    await connect_whatsapp(
        services,
        found,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        sender=SENDER,
        public_base=PUBLIC,
    )
    await set_whatsapp_templates(
        services, found, {"staff_alert": {"en": {"sid": ALERT_SID, "variables": ["text"]}}}
    )
    return found


async def _agent(
    services: Services, shop: Business, *, chat: str, alerts: Mapping[str, Any]
) -> Agent:
    async with services.uow() as uow:
        agent = await create_agent(
            uow,
            shop,
            email=f"agent-{uuid.uuid4().hex[:8]}@shop.test",
            name="Noa",
            password="correct horse battery",
            language="en",
            passwords=services.passwords,
            now=services.clock.now(),
        )
        await uow.agents.set_telegram_chat(agent.id, chat)
        await uow.agents.set_alerts(agent.id, alerts)
        await uow.commit()
        found = await uow.agents.get(agent.id)
    assert found is not None
    return found


def _wants(events: Mapping[str, list[str]], **more: Any) -> dict[str, Any]:
    return {"events": events, "whatsapp": "+972501112233", **more}


async def _handoff(services: Services, shop: Business) -> Handoff:
    """A sandbox customer asks for a person; the one handoff it opened."""
    n = next(_ids)
    await handle_inbound(
        shop,
        Inbound(
            channel=ChannelName.SANDBOX,
            delivery_id=f"d-{uuid.uuid4().hex}",
            address=f"customer-{n}",
            received_at=services.clock.now(),
            text="I want to talk to a real person",
            profile_name="Avi",
        ),
        services,
    )
    async with services.uow() as uow:
        (handoff,) = await uow.handoffs.list(shop.id)
    return handoff


def _whatsapp_to(fake: FakeTwilio, number: str) -> list[dict[str, str]]:
    return [c.params for c in fake.calls if c.params.get("To") == f"whatsapp:{number}"]


def _telegram_to(fake: FakeTelegram, chat: str) -> list[str]:
    return [c["text"] for c in fake.called("sendMessage") if str(c["chat_id"]) == chat]


async def test_a_new_handoff_reaches_the_agent_once_by_each_medium_they_chose(
    services: Services,
    shop: Business,
    fake_smtp: FakeSmtp,
    fake_twilio: FakeTwilio,
    fake_telegram: FakeTelegram,
) -> None:
    agent = await _agent(services, shop, chat="8101", alerts=_wants({"new_handoff": EVERYTHING}))
    quiet = await _agent(services, shop, chat="8102", alerts=_wants({"new_handoff": []}))

    handoff = await _handoff(services, shop)
    assert await alerts.announce(shop.id, handoff.id, services) == 3
    assert await alerts.announce(shop.id, handoff.id, services) == 0
    later = services.clock.now() + timedelta(minutes=5)
    assert await alerts.announce_missed(services, now=later) == 0

    link = f"{PUBLIC}/inbox/handoffs/{handoff.id}"
    (mail,) = fake_smtp.to(agent.email)
    assert mail["Subject"] == "New handoff at Café Kesher: Avi"
    assert link in mail.get_content()
    (whatsapp,) = _whatsapp_to(fake_twilio, "+972501112233")
    assert whatsapp["ContentSid"] == ALERT_SID and "Body" not in whatsapp, "a template, never text"
    assert link in whatsapp["ContentVariables"]
    (telegram,) = _telegram_to(fake_telegram, "8101")
    assert "New handoff at Café Kesher: Avi (sandbox)" in telegram and link in telegram
    assert fake_smtp.to(quiet.email) == [] and _telegram_to(fake_telegram, "8102") == []


async def test_outside_working_hours_an_alert_goes_by_email_or_not_at_all_as_chosen(
    services: Services,
    clock: SettableClock,
    shop: Business,
    fake_smtp: FakeSmtp,
    fake_twilio: FakeTwilio,
    fake_telegram: FakeTelegram,
) -> None:
    hours = {"days": [0, 1, 2, 3, 4], "from": "09:00", "to": "18:00"}
    mailed = await _agent(
        services,
        shop,
        chat="8201",
        alerts=_wants({"new_handoff": EVERYTHING}, hours=hours, off_hours="email"),
    )
    silent = await _agent(
        services,
        shop,
        chat="8202",
        alerts=_wants({"new_handoff": ["telegram"]}, hours=hours, off_hours="none"),
    )
    clock.at = FRIDAY_EVENING

    friday = await _handoff(services, shop)
    assert await alerts.announce(shop.id, friday.id, services) == 1

    (mail,) = fake_smtp.to(mailed.email)
    assert f"/inbox/handoffs/{friday.id}" in mail.get_content()
    assert fake_twilio.calls == []
    assert _telegram_to(fake_telegram, "8201") == _telegram_to(fake_telegram, "8202") == []
    assert fake_smtp.to(silent.email) == []

    async with services.uow() as uow:
        await handoffs.resolve(uow, shop, friday.id, now=clock.at)
        await uow.commit()
    clock.at = SUNDAY_MORNING
    sunday = await _handoff(services, shop)
    assert await alerts.announce(shop.id, sunday.id, services) == 4  # three media, and Telegram
    assert len(_telegram_to(fake_telegram, "8202")) == 1


async def test_a_medium_that_failed_is_retried_by_the_tick_and_the_others_not_doubled(
    services: Services,
    shop: Business,
    fake_smtp: FakeSmtp,
    fake_twilio: FakeTwilio,
    fake_telegram: FakeTelegram,
) -> None:
    agent = await _agent(services, shop, chat="8301", alerts=_wants({"new_handoff": EVERYTHING}))
    fake_smtp.refuse = 1  # the mail server is busy once

    handoff = await _handoff(services, shop)
    assert await alerts.announce(shop.id, handoff.id, services) == 2
    async with services.uow() as uow:
        left = await uow.handoffs.get(shop.id, handoff.id)
    assert left is not None and left.announced_at is None, "left for the tick"
    assert fake_smtp.to(agent.email) == []

    later = services.clock.now() + timedelta(minutes=2)
    assert await alerts.announce_missed(services, now=later) == 1
    assert await alerts.announce_missed(services, now=later) == 0

    assert len(fake_smtp.to(agent.email)) == 1
    assert len(_whatsapp_to(fake_twilio, "+972501112233")) == 1
    assert len(_telegram_to(fake_telegram, "8301")) == 1


async def test_an_agent_is_warned_before_the_sla_passes_once_and_not_after_an_answer(
    services: Services, shop: Business, fake_smtp: FakeSmtp, fake_telegram: FakeTelegram
) -> None:
    agent = await _agent(
        services, shop, chat="8401", alerts=_wants({"new_handoff": [], "sla_warning": ["email"]})
    )
    handoff = await _handoff(services, shop)
    due = handoff.sla_due_at

    assert await alerts.warn_due_soon(services, now=due - timedelta(minutes=5)) == 0
    assert await alerts.warn_due_soon(services, now=due - timedelta(minutes=2)) == 1
    assert await alerts.warn_due_soon(services, now=due - timedelta(minutes=1)) == 0
    assert await alerts.warn_due_soon(services, now=due) == 0, "past it is the late alert's"

    (mail,) = fake_smtp.to(agent.email)
    assert mail["Subject"] == "A handoff at Café Kesher is about to miss its answer time: Avi"
    assert "will miss its answer time in 2 min" in mail.get_content()
    assert _telegram_to(fake_telegram, "8401") == []


async def test_no_alert_template_means_no_whatsapp_alert_and_never_free_text(
    services: Services, shop: Business, fake_smtp: FakeSmtp, fake_twilio: FakeTwilio
) -> None:
    await set_whatsapp_templates(services, shop, {})
    agent = await _agent(services, shop, chat="8501", alerts=_wants({"new_handoff": EVERYTHING}))

    handoff = await _handoff(services, shop)
    assert await alerts.announce(shop.id, handoff.id, services) == 2  # e-mail and Telegram

    assert fake_twilio.calls == []
    assert len(fake_smtp.to(agent.email)) == 1


async def test_a_new_conversation_reaches_only_the_agents_who_asked_for_it(
    services: Services, shop: Business, fake_smtp: FakeSmtp
) -> None:
    keen = await _agent(
        services,
        shop,
        chat="8601",
        alerts=_wants({"new_handoff": [], "new_conversation": ["email"]}),
    )
    other = await _agent(services, shop, chat="8602", alerts=_wants({"new_handoff": []}))
    handoff = await _handoff(services, shop)

    told = await alerts.conversation_opened(shop.id, handoff.conversation_id, services)
    again = await alerts.conversation_opened(shop.id, handoff.conversation_id, services)

    assert (told, again) == (1, 0)
    (mail,) = fake_smtp.to(keen.email)
    assert mail["Subject"] == "New conversation at Café Kesher: Avi"
    assert f"{PUBLIC}/inbox" in mail.get_content()
    assert fake_smtp.to(other.email) == []


async def test_a_queued_new_conversation_job_alerts_once_after_the_commit(
    runtime: Runtime, services: Services, shop: Business, fake_smtp: FakeSmtp
) -> None:
    keen = await _agent(
        services,
        shop,
        chat="8701",
        alerts=_wants({"new_handoff": [], "new_conversation": ["email"]}),
    )
    handoff = await _handoff(services, shop)
    job = AnnounceConversation(shop.id, str(handoff.conversation_id))

    await runtime.services.enqueue(job)
    await runtime.services.enqueue(job)

    for _ in range(200):
        if fake_smtp.to(keen.email):
            break
        await asyncio.sleep(0.025)
    await asyncio.sleep(0.2)
    (mail,) = fake_smtp.to(keen.email)
    assert mail["Subject"] == "New conversation at Café Kesher: Avi"


async def test_a_late_alert_the_mail_server_refused_is_sent_by_a_later_tick_once(
    services: Services, shop: Business, fake_smtp: FakeSmtp, fake_telegram: FakeTelegram
) -> None:
    boss = await _agent(
        services,
        shop,
        chat="8801",
        alerts=_wants({"new_handoff": [], "sla_missed": ["email", "telegram"]}),
    )
    async with services.uow() as uow:
        await uow.agents.set_profile(boss.id, capacity=5, role=AgentRole.ADMIN)
        await uow.commit()
    handoff = await _handoff(services, shop)
    late = handoff.sla_due_at + timedelta(seconds=30)
    fake_smtp.refuse = 1

    assert await sla.watch_sla(services, now=late) == 1
    assert fake_smtp.to(boss.email) == [] and len(_telegram_to(fake_telegram, "8801")) == 1
    assert await alerts.overdue_again(services, now=late + timedelta(seconds=30)) == 0, "too soon"
    assert await alerts.overdue_again(services, now=late + timedelta(minutes=2)) == 1
    assert await alerts.overdue_again(services, now=late + timedelta(minutes=3)) == 0

    (mail,) = fake_smtp.to(boss.email)
    assert mail["Subject"] == "A handoff at Café Kesher missed its answer time: Avi"
    assert len(_telegram_to(fake_telegram, "8801")) == 1
