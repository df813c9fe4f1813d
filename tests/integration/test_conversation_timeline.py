"""A conversation's changes on the customer's timeline, on both backends: each status change,
assignment and label is an event naming the conversation and who made it; agents' weekly
"conversations handled" counts them to the conversation; and the inbox's live marker moves
when a colleague only relabels, reassigns, snoozes or resolves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.conversations import actions, queue
from bot.domain import Agent, ChannelName, Conversation, EventKind
from bot.handoffs import service as handoffs
from bot.handoffs.agents import create_agent
from bot.insights import digest, performance
from tests.integration.conftest import running
from tests.integration.world import SettableClock, World, make_world

ISRAEL = ZoneInfo("Asia/Jerusalem")
SUNDAY_TEN = datetime(2026, 12, 6, 10, 0, tzinfo=ISRAEL)
WEEK = date(2026, 12, 6)


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def world(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    clock = SettableClock(SUNDAY_TEN)
    async for runtime in running(request, tmp_path, clock=clock):
        yield await make_world(runtime, clock)


async def _agent(world: World, name: str) -> Agent:
    async with world.services.uow() as uow:
        agent = await create_agent(
            uow,
            world.business,
            email=f"{name.lower()}-{uuid.uuid4().hex[:6]}@clinic.test",
            name=name,
            password="correct horse battery",
            now=world.clock.now(),
            passwords=world.services.passwords,
        )
        await uow.commit()
    return agent


async def _conversation(world: World, address: str) -> Conversation:
    async with world.services.uow() as uow:
        identity = await uow.identities.find(world.business.id, ChannelName.SANDBOX, address)
        assert identity is not None
        conversation = await uow.conversations.open_for(identity.id)
    assert conversation is not None
    return conversation


async def _changes(world: World, address: str) -> list[tuple[str, int | None, object]]:
    """The conversation's events: kind, the agent who made the change, and what it set."""
    customer = await world.customer_id(address)
    async with world.services.uow() as uow:
        events = await uow.events.for_customer(customer, limit=100)
    return [
        (
            e.kind,
            e.data["agent_id"],
            e.data.get("assignee_id", e.data.get("labels", e.data.get("until"))),
        )
        for e in events
        if e.kind.startswith("conversation_")
    ]


async def _reply(world: World, agent: Agent, address: str, text: str) -> None:
    conversation = await _conversation(world, address)
    async with world.services.uow() as uow:
        await actions.reply(
            uow, world.services, world.business, conversation.id, agent, text, now=world.clock.now()
        )
        await uow.commit()


async def _status(world: World, agent: Agent, address: str, status: str, **until: datetime) -> None:
    conversation = await _conversation(world, address)
    async with world.services.uow() as uow:
        await actions.set_status(
            uow, world.business, conversation.id, status, now=world.clock.now(), by=agent, **until
        )
        await uow.commit()


async def test_every_change_of_a_conversation_is_on_the_timeline_with_who_made_it(
    world: World,
) -> None:
    noa, dor = await _agent(world, "Noa"), await _agent(world, "Dor")
    await world.say("dana", "Do you deliver to Haifa?")
    await _reply(world, noa, "dana", "Yes, on Tuesdays.")
    world.clock.at += timedelta(minutes=5)
    await world.say("dana", "And to Akko?")
    dana = await _conversation(world, "dana")
    until = world.clock.now() + timedelta(hours=2)
    async with world.services.uow() as uow:
        now = world.clock.now()
        await actions.label(uow, world.business, dana.id, "vip", now=now, by=noa)
        await actions.label(uow, world.business, dana.id, "VIP", now=now, by=noa)
        await actions.assign(uow, world.business, dana.id, dor.id, now=now, by=noa)
        await uow.commit()
    await _status(world, dor, "dana", "snoozed", until=until)
    world.clock.at = until
    assert await queue.wake_snoozed(world.services, now=world.clock.now()) == 1
    await _status(world, dor, "dana", "resolved")

    assert await _changes(world, "dana") == [
        (EventKind.CONVERSATION_OPENED, None, None),
        (EventKind.CONVERSATION_ASSIGNED, noa.id, noa.id),
        (EventKind.CONVERSATION_PENDING, noa.id, None),
        (EventKind.CONVERSATION_REOPENED, None, None),
        # Labelled once: the same labels again change nothing.
        (EventKind.CONVERSATION_LABELLED, noa.id, ["vip"]),
        (EventKind.CONVERSATION_ASSIGNED, noa.id, dor.id),
        (EventKind.CONVERSATION_SNOOZED, dor.id, until.isoformat()),
        (EventKind.CONVERSATION_WOKEN, None, None),
        (EventKind.CONVERSATION_RESOLVED, dor.id, None),
    ]
    conversation_ids = {
        e.data["conversation_id"]
        for e in await _events(world, "dana")
        if e.kind.startswith("conversation_")
    }
    assert conversation_ids == {str(dana.id)}


async def test_a_handoff_opens_its_conversation_once_and_its_resolution_is_the_agent_s(
    world: World,
) -> None:
    noa = await _agent(world, "Noa")
    await world.say("sam", "I want to talk to a real person")
    sam = await _conversation(world, "sam")
    async with world.services.uow() as uow:
        handoff = await uow.handoffs.open_for(sam.id)
        assert handoff is not None
        await handoffs.resolve(uow, world.business, handoff.id, agent=noa, now=world.clock.now())
        await uow.commit()

    assert await _changes(world, "sam") == [
        (EventKind.CONVERSATION_OPENED, None, None),
        (EventKind.CONVERSATION_RESOLVED, noa.id, None),
    ]


async def _events(world: World, address: str) -> list:  # type: ignore[type-arg]
    customer = await world.customer_id(address)
    async with world.services.uow() as uow:
        return list(await uow.events.for_customer(customer, limit=100))


async def test_conversations_handled_counts_each_conversation_once_per_agent_and_week(
    world: World,
) -> None:
    noa, dor = await _agent(world, "Noa"), await _agent(world, "Dor")
    for address in ("dana", "eli", "gil"):
        await world.say(address, f"a question from {address}")
    await world.say("sam", "I want to talk to a real person")
    # The week of 6 December: Noa answers Dana twice and Eli once, then resolves Eli's; Dor
    # resolves Gil's without a word; on Sam's handoff Noa answers and Dor resolves.
    await _reply(world, noa, "dana", "Looking into it.")
    await _reply(world, noa, "dana", "Found it.")
    await _reply(world, noa, "eli", "Yes.")
    await _status(world, noa, "eli", "resolved")
    await _status(world, dor, "gil", "resolved")
    sam = await _conversation(world, "sam")
    async with world.services.uow() as uow:
        handoff = await uow.handoffs.open_for(sam.id)
        assert handoff is not None
        await handoffs.claim(uow, world.business, handoff.id, noa, now=world.clock.now())
        await handoffs.reply(
            uow, world.services, world.business, handoff.id, noa, "Here.", now=world.clock.now()
        )
        await handoffs.resolve(uow, world.business, handoff.id, agent=dor, now=world.clock.now())
        await uow.commit()
    # Saturday 23:30 in Israel is still the first week; Sunday 00:30 is the next.
    world.clock.at = datetime(2026, 12, 12, 23, 30, tzinfo=ISRAEL)
    await world.say("dana", "one more thing")
    await _reply(world, dor, "dana", "Sure.")
    world.clock.at = datetime(2026, 12, 13, 0, 30, tzinfo=ISRAEL)
    await world.say("dana", "and another")
    await _reply(world, noa, "dana", "Of course.")

    found = await performance.weekly(world.services, world.business, first=WEEK, weeks=2)

    handled = {(r.week, r.agent): r.conversations for r in found if r.conversations}
    second = WEEK + timedelta(days=7)
    assert handled == {(WEEK, "Noa"): 3, (WEEK, "Dor"): 3, (second, "Noa"): 1}
    first = await digest.weekly(world.services, world.business, week=WEEK, language="en")
    said = [text for kind, text in digest.lines(first, "en") if kind == "item"]
    assert any(
        line.startswith("Noa: 3 conversations handled · 1 handoff resolved") for line in said
    )
    assert any(
        line.startswith("Dor: 3 conversations handled · 0 handoffs resolved") for line in said
    )
    then = await digest.weekly(world.services, world.business, week=second, language="he")
    said = [text for kind, text in digest.lines(then, "he") if kind == "item"]
    assert any(line.startswith("Noa: שיחה אחת טופלה · 0 פניות נסגרו") for line in said)


async def test_the_live_marker_moves_when_a_colleague_only_relabels_reassigns_snoozes_or_resolves(
    world: World,
) -> None:
    noa, dor = await _agent(world, "Noa"), await _agent(world, "Dor")
    await world.say("dana", "Do you deliver to Haifa?")
    dana = await _conversation(world, "dana")

    async def marker() -> str:
        async with world.services.uow() as uow:
            return await uow.handoffs.changes(world.business.id)

    seen = [await marker()]
    assert await marker() == seen[-1]
    changes = [
        lambda uow, now: actions.label(uow, world.business, dana.id, "vip", now=now, by=noa),
        lambda uow, now: actions.assign(uow, world.business, dana.id, dor.id, now=now, by=noa),
        lambda uow, now: actions.set_status(
            uow, world.business, dana.id, "snoozed", now=now, until=now + timedelta(hours=1)
        ),
        lambda uow, now: actions.set_status(uow, world.business, dana.id, "resolved", now=now),
    ]
    for change in changes:
        async with world.services.uow() as uow:
            await change(uow, world.clock.now())
            await uow.commit()
        seen.append(await marker())
    assert len(set(seen)) == len(seen)
