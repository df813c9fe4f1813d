"""Agents who link their own Telegram hear of new handoffs there, once, with a link into the inbox;
with a language model configured, the handoff carries the model's summary.

Runs on both backends, against the fake Bot API on loopback, with a fake chat model.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from app.bootstrap import Runtime
from app.web.app import create_app
from bot.accounts.businesses import create_business
from bot.domain import Agent, AgentRole, Business, Handoff
from bot.handoffs import alerts, sla
from bot.insights import digest
from integrations.llm import LangchainSummarizer
from tests.fakes.telegram_api import USERNAME, FakeTelegram
from tests.integration.conftest import running
from tests.integration.test_inbox import _agent, _csrf, _sign_in
from tests.integration.test_telegram import PUBLIC, Shop, message, post, sent
from tests.integration.test_telegram import shop as shop  # the fixture

LINK = re.compile(rf"https://t\.me/{USERNAME}\?start=(a_[A-Za-z0-9_-]+)")
ASK_PERSON = "My order is two weeks late, I want to talk to a real person"
SUMMARY = "Avi's order is  two weeks late;\nhe is upset and wants a person."
ASKED: list[str] = []


class Summarizing(GenericFakeChatModel):
    """A chat model that answers with SUMMARY and keeps what it was given to read."""

    async def ainvoke(self, input: Any, *args: Any, **kwargs: Any) -> Any:
        ASKED.append(input[-1].content)
        return await super().ainvoke(input, *args, **kwargs)


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def runtime(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest, tmp_path, fake_telegram: FakeTelegram
) -> AsyncIterator[Runtime]:
    ASKED.clear()
    model = Summarizing(messages=itertools.repeat(AIMessage(content=SUMMARY)))
    async for built in running(
        request,
        tmp_path,
        summarizer=LangchainSummarizer(model),
        telegram_api_url=fake_telegram.url,
        public_url=PUBLIC,
    ):
        yield built


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """Over https, as PUBLIC is: the inbox's cookies are Secure there."""
    transport = httpx.ASGITransport(app=create_app(runtime, manage_runtime=False))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        yield http


async def _link(
    client: httpx.AsyncClient,
    runtime: Runtime,
    shop: Shop,
    chat: int,
    *,
    role: AgentRole = AgentRole.AGENT,
) -> Agent:
    """An agent signs in, asks the inbox for a Telegram link and opens it from `chat`."""
    email = await _agent(runtime, shop.business, role=role)
    await _sign_in(client, shop.business, email)
    await _open(client, shop, chat, await _new_link(client))
    return await _agent_by_email(runtime, shop.business, email)


async def _new_link(client: httpx.AsyncClient) -> str:
    page = await client.post("/inbox/telegram", headers={"X-CSRF-Token": await _csrf(client)})
    assert page.status_code == 200, page.text
    found = LINK.search(page.text)
    assert found, page.text
    return found.group(1)


async def _open(client: httpx.AsyncClient, shop: Shop, chat: int, payload: str) -> None:
    response = await post(client, shop, message(chat, f"/start {payload}"))
    assert response.status_code == 200, response.text


async def _agent_by_email(runtime: Runtime, business: Business, email: str) -> Agent:
    async with runtime.services.uow() as uow:
        found = await uow.agents.credentials(business.id, email)
    assert found is not None
    return found[0]


async def _customers(client: httpx.AsyncClient, shop: Shop) -> list[dict[str, Any]]:
    listed = await client.get(f"/api/v1/{shop.business.slug}/customers", headers=shop.auth)
    customers: list[dict[str, Any]] = listed.json()["customers"]
    return customers


async def _handoff(runtime: Runtime, shop: Shop, *, announced: bool = True) -> Handoff:
    """The business's one open handoff, once its announcement ran (a worker may run it): the
    summary is written at its end, whether the agents could be told or not."""
    for _ in range(200):
        async with runtime.services.uow() as uow:
            found = await uow.handoffs.list(shop.business.id)
        if (
            found
            and "summary" in found[0].details
            and (found[0].announced_at is not None) == announced
        ):
            break
        await asyncio.sleep(0.025)
    (handoff,) = found
    return handoff


def _to(fake: FakeTelegram, chat: int) -> list[str]:
    return [c["text"] for c in fake.called("sendMessage") if c["chat_id"] == chat]


async def test_an_agent_links_telegram_from_the_inbox_and_each_link_works_once(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, fake_telegram: FakeTelegram
) -> None:
    agent = await _link(client, runtime, shop, 7001)

    assert agent.telegram_chat == "7001"
    (told,) = await sent(fake_telegram, 1)
    assert told["chat_id"] == 7001
    assert "new handoffs at Café Kesher reach you here" in told["text"]
    assert "Telegram alerts ✔" in (await client.get("/inbox")).text
    # A new link moves the alerts to the chat that opens it; a forwarded copy is used up.
    payload = await _new_link(client)
    await _open(client, shop, 7002, payload)
    await _open(client, shop, 7003, payload)
    await _open(client, shop, 7004, "a_made-up-token")

    await sent(fake_telegram, 4)
    assert "reach you here" in _to(fake_telegram, 7002)[0]
    for stranger in (7003, 7004):
        (refusal,) = _to(fake_telegram, stranger)
        assert "was used already or has expired" in refusal and "כבר שומש" in refusal
    assert (await _agent_by_email(runtime, shop.business, agent.email)).telegram_chat == "7002"
    assert await _customers(client, shop) == []  # agents opening links are not customers
    unlinked = await client.post(
        "/inbox/telegram/unlink", headers={"X-CSRF-Token": await _csrf(client)}
    )
    assert "Alerts on Telegram" in unlinked.text
    assert (await _agent_by_email(runtime, shop.business, agent.email)).telegram_chat is None


async def test_a_new_handoff_alerts_the_linked_agent_once_with_a_link_into_the_inbox(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, fake_telegram: FakeTelegram
) -> None:
    agent = await _link(client, runtime, shop, 7101)
    await sent(fake_telegram, 1)
    await client.post("/inbox/logout", data={"csrf": await _csrf(client)})  # away from the desk
    async with runtime.services.uow() as uow:
        other, _ = await create_business(
            uow, f"other-{agent.id}", name="Other", sandbox=True, now=runtime.services.clock.now()
        )
        await uow.commit()
    stranger = await _agent_by_email(runtime, other, await _agent(runtime, other))
    async with runtime.services.uow() as uow:
        await uow.agents.set_telegram_chat(stranger.id, "7199")
        await uow.commit()

    await post(client, shop, message(7102, ASK_PERSON, first_name="Avi"))

    handoff = await _handoff(runtime, shop)
    await sent(fake_telegram, 3)  # the link's confirmation, the acknowledgement, the alert
    (alert,) = _to(fake_telegram, 7101)[1:]
    assert f"{PUBLIC}/inbox/handoffs/{handoff.id}" in alert
    assert "New handoff at Café Kesher: Avi (telegram)" in alert
    assert "asks for a person" in alert
    # Asked again, and by the tick a few minutes later: nobody is told twice.
    assert await alerts.announce(shop.business.id, handoff.id, runtime.services) == 0
    later = runtime.services.clock.now() + timedelta(minutes=5)
    await alerts.announce_missed(runtime.services, now=later)
    assert len(_to(fake_telegram, 7101)) == 2
    assert _to(fake_telegram, 7199) == []  # another business's agent hears nothing


async def test_an_alert_telegram_could_not_take_is_sent_by_the_tick_later(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, fake_telegram: FakeTelegram
) -> None:
    await _link(client, runtime, shop, 7201)
    await sent(fake_telegram, 1)
    fake_telegram.down.add("7201")

    await post(client, shop, message(7202, ASK_PERSON))

    await sent(fake_telegram, 3)  # the confirmation, the acknowledgement, the failed alert
    handoff = await _handoff(runtime, shop, announced=False)
    assert handoff.announced_at is None
    fake_telegram.down.clear()
    later = runtime.services.clock.now() + timedelta(minutes=2)
    assert await alerts.announce_missed(runtime.services, now=later) == 1
    assert await alerts.announce_missed(runtime.services, now=later) == 0
    assert len(_to(fake_telegram, 7201)) == 3  # confirmed, failed once, then alerted
    assert (await _handoff(runtime, shop)).announced_at is not None


async def test_with_a_language_model_the_handoff_carries_its_summary(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, fake_telegram: FakeTelegram
) -> None:
    await post(client, shop, message(7302, ASK_PERSON, first_name="Avi"))

    handoff = await _handoff(runtime, shop)
    assert (
        handoff.details["summary"]
        == "Avi's order is two weeks late; he is upset and wants a person."
    )
    (asked,) = ASKED
    assert f"customer: {ASK_PERSON}" in asked
    assert "handed to a person because: asks for a person" in asked
    shown = await client.get(
        f"/api/v1/{shop.business.slug}/handoffs/{handoff.id}", headers=shop.auth
    )
    assert shown.json()["summary"]["text"] == handoff.details["summary"]


async def test_admins_who_linked_telegram_hear_of_a_handoff_left_past_its_sla(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, fake_telegram: FakeTelegram
) -> None:
    admin = await _link(client, runtime, shop, 7401, role=AgentRole.ADMIN)
    async with runtime.services.uow() as uow:
        await uow.agents.set_online(admin.id, False, at=runtime.services.clock.now())
        await uow.commit()
    helper = await _agent_by_email(runtime, shop.business, await _agent(runtime, shop.business))
    async with runtime.services.uow() as uow:
        await uow.agents.set_telegram_chat(helper.id, "7402")
        await uow.commit()

    await post(client, shop, message(7403, ASK_PERSON, first_name="Avi"))
    handoff = await _handoff(runtime, shop)
    late = handoff.sla_due_at + timedelta(minutes=1)
    assert await sla.watch_sla(runtime.services, now=late) >= 1
    await sla.watch_sla(runtime.services, now=late + timedelta(minutes=1))

    await sent(fake_telegram, 6)  # confirmation, ack, two alerts, the update, one late alert
    waited = int((late - handoff.requested_at).total_seconds() // 60)
    (overdue,) = [t for t in _to(fake_telegram, 7401) if "without an answer" in t]
    assert f"has waited {waited} min without an answer: Avi (telegram)" in overdue
    assert not [t for t in _to(fake_telegram, 7402) if "without an answer" in t]  # not an admin


async def test_admins_who_linked_telegram_get_last_weeks_digest_once_from_sunday_nine(
    client: httpx.AsyncClient, runtime: Runtime, shop: Shop, fake_telegram: FakeTelegram
) -> None:
    await _link(client, runtime, shop, 7601, role=AgentRole.ADMIN)
    await _link(client, runtime, shop, 7602)
    await sent(fake_telegram, 2)  # the two links' confirmations
    zone = ZoneInfo(shop.business.timezone)
    sunday = digest.last_week(runtime.services.clock.now(), shop.business.timezone)
    week = sunday - timedelta(days=7)
    link = f"{PUBLIC}/console/digest?week={week.isoformat()}"

    await digest.send_due(runtime.services, now=datetime.combine(sunday, time(8, 59), zone))
    assert not any(link in text for text in _to(fake_telegram, 7601))
    await digest.send_due(runtime.services, now=datetime.combine(sunday, time(9), zone))
    await digest.send_due(runtime.services, now=datetime.combine(sunday, time(9, 5), zone))

    told = [text for text in _to(fake_telegram, 7601) if link in text]
    assert len(told) == 1, "once a week"
    assert told[0].startswith("📊 Weekly digest · Café Kesher")
    assert "NPS — (week before —) · 0 answers" in told[0]
    assert not any(link in text for text in _to(fake_telegram, 7602)), "admins only"
