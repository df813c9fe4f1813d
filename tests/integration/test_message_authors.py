"""Who wrote each message, as the customer sees it in the sandbox and as the record says it, and
the sandbox transcript with the customer's own messages in it; on both backends."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.web.app import create_app
from bot.accounts.businesses import issue_key
from bot.domain import Agent, ChannelName
from bot.handoffs import service as handoffs
from bot.outbound.replies import queue_sends
from tests.integration.conftest import running
from tests.integration.world import SettableClock, World, make_world

SUNDAY_MORNING = datetime(2026, 11, 22, 10, 0, tzinfo=ZoneInfo("Asia/Jerusalem"))
ASK_PERSON = "I want to talk to a real person"
PASSWORD = "correct horse battery"


@dataclass
class Stage:
    world: World
    http: httpx.AsyncClient
    key: str

    async def transcript(self, address: str) -> list[dict[str, Any]]:
        got = await self.http.get(
            f"/api/v1/{self.world.business.slug}/sandbox/messages", params={"customer": address}
        )
        assert got.status_code == 200, got.text
        messages: list[dict[str, Any]] = got.json()["messages"]
        return messages

    async def timeline(self, address: str) -> list[dict[str, Any]]:
        customer = await self.world.customer_id(address)
        got = await self.http.get(
            f"/api/v1/{self.world.business.slug}/customers/{customer}/timeline",
            headers={"Authorization": f"Bearer {self.key}"},
        )
        assert got.status_code == 200, got.text
        return [i for i in got.json()["items"] if i["type"] == "message"]

    async def agent(self, name: str) -> Agent:
        made = await self.http.post(
            f"/api/v1/{self.world.business.slug}/agents",
            json={"email": f"{name.lower()}@clinic.test", "name": name, "password": PASSWORD},
            headers={"Authorization": f"Bearer {self.key}"},
        )
        assert made.status_code == 201, made.text
        async with self.world.services.uow() as uow:
            agent = await uow.agents.get(made.json()["id"])
        assert agent is not None
        return agent

    async def signed_in(self, agent: Agent) -> None:
        form = (await self.http.get("/inbox/login")).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf
        signed = await self.http.post(
            "/inbox/login",
            data={
                "business": self.world.business.slug,
                "email": agent.email,
                "password": PASSWORD,
                "csrf": csrf[1],
            },
        )
        assert signed.status_code in (302, 303), signed.text

    async def conversation_page(self, address: str) -> str:
        async with self.world.services.uow() as uow:
            identity = await uow.identities.find(
                self.world.business.id, ChannelName.SANDBOX, address
            )
            assert identity is not None
            conversation = await uow.conversations.open_for(identity.id)
        assert conversation is not None
        page = await self.http.get(
            f"/inbox/conversations/{conversation.id}", headers={"HX-Request": "true"}
        )
        assert page.status_code == 200, page.text
        return page.text

    async def reply(self, address: str, agent: Agent, text: str) -> None:
        customer = await self.world.customer_id(address)
        async with self.world.services.uow() as uow:
            (handoff,) = [
                h
                for h in await uow.handoffs.list(self.world.business.id, open_only=True)
                if h.customer_id == customer
            ]
            _, outbox_ids = await handoffs.reply(
                uow,
                self.world.services,
                self.world.business,
                handoff.id,
                agent,
                text,
                now=self.world.clock.now(),
            )
            await uow.commit()
        await queue_sends(outbox_ids, self.world.services)


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def stage(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Stage]:  # type: ignore[no-untyped-def]
    clock = SettableClock(SUNDAY_MORNING)
    async for runtime in running(request, tmp_path, clock=clock):
        world = await make_world(runtime, clock)
        async with runtime.services.uow() as uow:
            key = await issue_key(uow, world.business, now=clock.now())
            await uow.commit()
        transport = httpx.ASGITransport(app=create_app(runtime, manage_runtime=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://kesher.test") as http:
            yield Stage(world, http, key)


async def test_the_sandbox_transcript_holds_the_customers_own_messages_in_order(
    stage: Stage,
) -> None:
    await stage.world.say("dana", "hello")
    await stage.world.say("dana", "what are your opening hours?")

    messages = await stage.transcript("dana")

    assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)
    mine = [m for m in messages if m["direction"] == "in"]
    assert [m["text"] for m in mine] == ["hello", "what are your opening hours?"]
    assert {m["author"] for m in mine} == {"customer"}
    assert messages[0]["text"] == "hello", "the customer's first words come first"
    replies = [m for m in messages if m["direction"] == "out"]
    assert replies and {(m["author"], m["author_name"]) for m in replies} == {("bot", None)}
    # Each reply comes after the message it answers.
    assert messages.index(replies[0]) > messages.index(mine[0])


async def test_an_agents_reply_is_shown_as_the_agents_and_the_bots_as_the_bots(
    stage: Stage,
) -> None:
    await stage.world.say("sam", ASK_PERSON)
    noa = await stage.agent("Noa")
    await stage.reply("sam", noa, "Hi Sam, Noa here.")

    messages = await stage.transcript("sam")
    by_text = {m["text"]: m for m in messages}
    assert (
        by_text["Hi Sam, Noa here."]["author"],
        by_text["Hi Sam, Noa here."]["author_name"],
    ) == (
        "agent",
        "Noa",
    )
    acknowledgement = next(m for m in messages if m["direction"] == "out")
    assert acknowledgement["author"] == "bot"

    timeline = {i["text"]: i for i in await stage.timeline("sam")}
    assert timeline["Hi Sam, Noa here."]["author"] == "agent"
    assert timeline["Hi Sam, Noa here."]["author_name"] == "Noa"
    assert timeline[ASK_PERSON]["author"] == "customer"
    assert timeline[acknowledgement["text"]]["author"] == "bot"

    await stage.signed_in(noa)  # the business is in Hebrew, and so is its agents' inbox
    thread = await stage.conversation_page("sam")
    assert '<bdi class="author" data-author="agent">Noa</bdi>' in thread
    assert '<span class="author" data-author="bot">בוט</span>' in thread


async def test_a_schedules_touch_is_the_schedules_on_the_record_and_the_bots_to_the_customer(
    stage: Stage,
) -> None:
    await stage.world.say("lea", "hello")
    await stage.world.apply(
        {"schedules": [{"name": "monthly-pulse", "flow": "checkin", "when": {"every": "3d"}}]}
    )
    await stage.world.walk(SUNDAY_MORNING + timedelta(days=3, hours=2))
    (question, *_) = [text for text, _ in stage.world.phone.to("lea")][1:]

    timeline = {i["text"]: i for i in await stage.timeline("lea")}
    assert (timeline[question]["author"], timeline[question]["author_name"]) == (
        "schedule",
        "monthly-pulse",
    )
    assert timeline["hello"]["author"] == "customer"
    shown = {m["text"]: m for m in await stage.transcript("lea")}
    assert (shown[question]["author"], shown[question]["author_name"]) == ("bot", None)

    await stage.signed_in(await stage.agent("Dor"))
    thread = await stage.conversation_page("lea")
    assert '<bdi class="author" data-author="schedule">תזמון: monthly-pulse</bdi>' in thread
