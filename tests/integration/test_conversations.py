"""Every conversation in the team's queue, on both backends: a question lands in it with an
honest reply, a customer coming back reopens it, a snooze wakes at its time, an opted-out
customer asking for a person gets a handoff, and the list's unread counts, filters and search.

The customers' phones are a recording sandbox and the clock is settable (tests/integration/world).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.conversations import actions, queue
from bot.domain import (
    Agent,
    ChannelName,
    Conversation,
    ConversationMode,
    ConversationStatus,
    InvalidInput,
    QueueFilter,
)
from bot.handoffs.agents import create_agent
from bot.outbound.replies import queue_sends
from flows.inbox import turn_of
from flows.outcome import AnsweredFromKnowledge, Outcome
from tests.integration.conftest import running
from tests.integration.world import SettableClock, World, make_world

ISRAEL = ZoneInfo("Asia/Jerusalem")
SUNDAY_TEN = datetime(2026, 12, 6, 10, 0, tzinfo=ISRAEL)
FRIDAY_NOON = datetime(2026, 12, 11, 12, 0, tzinfo=ISRAEL)
OPEN = ConversationStatus.OPEN


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def world(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    clock = SettableClock(SUNDAY_TEN)
    async for runtime in running(request, tmp_path, clock=clock):
        yield await make_world(runtime, clock)


async def _conversation(world: World, address: str) -> Conversation:
    customer = await world.customer_id(address)
    async with world.services.uow() as uow:
        identity = await uow.identities.find(world.business.id, ChannelName.SANDBOX, address)
        assert identity is not None and identity.customer_id == customer
        conversation = await uow.conversations.open_for(identity.id)
    assert conversation is not None
    return conversation


async def _agent(world: World, name: str) -> Agent:
    async with world.services.uow() as uow:
        agent = await create_agent(
            uow,
            world.business,
            email=f"{name}-{uuid.uuid4().hex[:6]}@clinic.test",
            name=name,
            password="correct horse battery",
            passwords=world.services.passwords,
            now=world.clock.now(),
        )
        await uow.commit()
    return agent


async def _set(world: World, address: str, status: str, until: datetime | None = None) -> None:
    conversation = await _conversation(world, address)
    async with world.services.uow() as uow:
        await actions.set_status(
            uow, world.business, conversation.id, status, now=world.clock.now(), until=until
        )
        await uow.commit()


async def _list(world: World, chosen: QueueFilter) -> list[str]:
    async with world.services.uow() as uow:
        rows = await uow.conversations.queue(world.business.id, chosen, limit=50)
    return [row.address for row in rows]


def _last(world: World, address: str) -> str:
    return world.phone.to(address)[-1][0]


async def test_a_question_with_no_answer_lands_in_the_queue_and_the_reply_says_what_happens(
    world: World,
) -> None:
    await world.say("dana", "What time do you open on Friday?")
    world.clock.at += timedelta(minutes=1)
    await world.say("eli", "Can I order a birthday cake?")

    dana, eli = await _conversation(world, "dana"), await _conversation(world, "eli")
    assert (dana.status, dana.unread, eli.status) == (OPEN, 1, OPEN)
    assert _last(world, "dana") == (
        "Hi! Thanks for writing to Clinic. A person from the team will answer you here during "
        "opening hours (Sun–Thu 09:00–18:00). We're open now, and yours is next."
    )
    assert _last(world, "eli").endswith("We're open now, and 1 conversation is ahead of yours.")
    assert "if needed" not in _last(world, "dana")


async def test_out_of_hours_the_reply_says_when_the_team_is_back_in_hebrew(world: World) -> None:
    world.clock.at = FRIDAY_NOON
    await world.say("noa", "אפשר להזמין עוגה?")

    assert _last(world, "noa") == (
        "שלום! תודה שכתבתם ל־Clinic. מישהו מהצוות יענה לכם כאן בשעות הפעילות "
        "(א׳–ה׳ 09:00-18:00). הצוות חוזר ביום ראשון ב־09:00."
    )
    assert (await _conversation(world, "noa")).status is OPEN


async def test_a_customer_writing_to_a_resolved_or_pending_conversation_reopens_it(
    world: World,
) -> None:
    await world.say("dana", "Is parking free?")
    await _set(world, "dana", "resolved")
    assert (await _conversation(world, "dana")).status is ConversationStatus.RESOLVED

    world.clock.at += timedelta(hours=1)
    await world.say("dana", "and on Saturday?")
    assert (await _conversation(world, "dana")).status is OPEN
    assert _last(world, "dana").startswith("Thanks for writing again. A person from the team")

    await world.say("dana", "still there?")
    assert _last(world, "dana") == "Thanks, noted 🙏"

    # Waiting on the customer, a person is talking with them: the bot keeps out of it.
    await _set(world, "dana", "pending")
    told = len(world.phone.to("dana"))
    await world.say("dana", "yes, Saturday at 10")
    assert (await _conversation(world, "dana")).status is OPEN
    assert len(world.phone.to("dana")) == told, world.phone.to("dana")[told:]


async def test_an_automatic_answer_needs_no_person_until_the_customer_comes_back(
    world: World,
) -> None:
    # The knowledge base (built beside this) records AnsweredFromKnowledge on the turn: here
    # the turn of a customer whose conversation was not in the queue is that effect alone.
    await world.say("dana", "hello")
    conversation = await _conversation(world, "dana")
    async with world.services.uow() as uow:
        await uow.conversations.set_standing(conversation.id, None, at=world.clock.now())
        await uow.commit()
    answered = turn_of(Outcome(effects=(AnsweredFromKnowledge((1, 2)),)))
    outside = await _conversation(world, "dana")
    async with world.services.uow() as uow:
        await queue.record_turn(uow, world.business, outside, answered, now=world.clock.now())
        await uow.commit()

    after_answer = await _conversation(world, "dana")
    assert (after_answer.status, after_answer.auto_answered) == (ConversationStatus.RESOLVED, True)
    assert await _list(world, QueueFilter(status=OPEN)) == []

    world.clock.at += timedelta(minutes=5)
    await world.say("dana", "that did not answer my question")
    back = await _conversation(world, "dana")
    assert (back.status, back.auto_answered) == (OPEN, False)
    assert _last(world, "dana").startswith("Thanks for writing again.")


async def test_a_snoozed_conversation_wakes_at_its_time_or_when_the_customer_writes(
    world: World,
) -> None:
    await world.say("dana", "call me next week about the order")
    await world.say("eli", "question about prices")
    until = world.clock.now() + timedelta(hours=2)
    await _set(world, "dana", "snoozed", until)
    await _set(world, "eli", "snoozed", until)

    world.clock.at += timedelta(hours=1, minutes=59)
    assert await queue.wake_snoozed(world.services, now=world.clock.now()) == 0
    await world.say("eli", "any news?")
    assert (await _conversation(world, "eli")).status is OPEN
    assert (await _conversation(world, "dana")).status is ConversationStatus.SNOOZED

    world.clock.at += timedelta(minutes=1)
    assert await queue.wake_snoozed(world.services, now=world.clock.now()) >= 1
    woken = await _conversation(world, "dana")
    assert (woken.status, woken.snoozed_until) == (OPEN, None)


async def test_snoozing_needs_a_time_to_come_and_a_handoff_is_resolved_as_a_handoff(
    world: World,
) -> None:
    await world.say("dana", "hello")
    with pytest.raises(InvalidInput, match="snoozed_until"):
        await _set(world, "dana", "snoozed", world.clock.now() - timedelta(minutes=1))
    await world.say("sam", "I want to talk to a real person")
    with pytest.raises(InvalidInput, match="handoff"):
        await _set(world, "sam", "resolved")
    sam = await _conversation(world, "sam")
    assert (sam.status, sam.mode) == (OPEN, ConversationMode.HUMAN)


async def test_an_opted_out_customer_asking_for_a_person_gets_a_handoff(world: World) -> None:
    await world.say("maya", "שלום")
    await world.say("maya", "הסר")
    assert "הוסרתם" in _last(world, "maya")

    world.clock.at += timedelta(minutes=3)
    await world.say("maya", "אני רוצה לדבר עם נציג, חויבתי פעמיים")

    maya = await world.customer_id("maya")
    async with world.services.uow() as uow:
        customer = await uow.customers.get(world.business.id, maya)
        handoffs = await uow.handoffs.list(world.business.id, customer_id=maya)
    assert customer is not None and customer.opted_out
    assert len(handoffs) == 1 and handoffs[0].trigger == "request"
    # The acknowledgement reaches the customer: it answers what they wrote.
    assert "מהצוות של Clinic" in _last(world, "maya")
    assert (await _conversation(world, "maya")).status is OPEN


async def test_an_agent_s_reply_reaches_the_customer_and_waits_on_them(world: World) -> None:
    noa = await _agent(world, "Noa")
    await world.say("dana", "Do you deliver to Haifa?")
    conversation = await _conversation(world, "dana")

    async with world.services.uow() as uow:
        _, outbox_ids = await actions.reply(
            uow,
            world.services,
            world.business,
            conversation.id,
            noa,
            "Yes, on Tuesdays.",
            now=world.clock.now(),
            key="k1",
        )
        await uow.commit()
    await queue_sends(outbox_ids, world.services)
    async with world.services.uow() as uow:
        _, repeat = await actions.reply(
            uow,
            world.services,
            world.business,
            conversation.id,
            noa,
            "Yes, on Tuesdays.",
            now=world.clock.now(),
            key="k1",
        )
        await uow.commit()

    assert _last(world, "dana") == "Yes, on Tuesdays."
    assert repeat == [] and [t for t, _ in world.phone.to("dana")].count("Yes, on Tuesdays.") == 1
    replied = await _conversation(world, "dana")
    assert (replied.status, replied.assignee_id, replied.unread) == (
        ConversationStatus.PENDING,
        noa.id,
        0,
    )


async def test_unread_counts_filters_and_search_find_the_right_conversations(
    world: World,
) -> None:
    noa = await _agent(world, "Noa")
    for address, text in [
        ("dana", "the cake was lovely"),
        ("eli", "where is my refund"),
        ("eli", "hello??"),
        ("gil", "parking question"),
    ]:
        world.clock.at += timedelta(minutes=1)
        await world.say(address, text)
    eli = await _conversation(world, "eli")
    gil = await _conversation(world, "gil")
    async with world.services.uow() as uow:
        await actions.assign(uow, world.business, eli.id, noa.id, now=world.clock.now())
        await actions.label(uow, world.business, gil.id, "VIP, #parking", now=world.clock.now())
        await actions.read(uow, world.business, gil.id)
        await uow.commit()

    async with world.services.uow() as uow:
        counts = await uow.conversations.counts(world.business.id)
        mine = await uow.conversations.counts(world.business.id, assignee=noa.id)
    assert counts[OPEN] == (3, 2)
    assert mine[OPEN] == (1, 1)
    assert (await _conversation(world, "eli")).unread == 2
    assert await _list(world, QueueFilter(assignee=noa.id)) == ["eli"]
    assert sorted(await _list(world, QueueFilter(unassigned=True))) == ["dana", "gil"]
    assert await _list(world, QueueFilter(label="vip")) == ["gil"]
    assert await _list(world, QueueFilter(label="vi")) == []
    assert await _list(world, QueueFilter(search="REFUND")) == ["eli"]
    assert await _list(world, QueueFilter(search="gi")) == ["gil"]
    assert await _list(world, QueueFilter(search="100%_")) == []
    assert await _list(world, QueueFilter(channel=ChannelName.TELEGRAM)) == []
    assert await _list(world, QueueFilter(status=ConversationStatus.RESOLVED)) == []
    # Latest message first.
    assert await _list(world, QueueFilter()) == ["gil", "eli", "dana"]
