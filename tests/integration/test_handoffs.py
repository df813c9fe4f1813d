"""Handoffs end to end on both backends: every trigger, a quiet bot, agents, the SLA, the way back.

The customers' phones are a recording sandbox and the clock is settable (tests/integration/world).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain import Agent, AgentRole, Capabilities, ConversationMode, Handoff, InvalidInput
from bot.handoffs import reach, sla
from bot.handoffs import service as handoffs
from bot.handoffs.agents import create_agent
from bot.outbound.replies import queue_sends
from tests.integration.conftest import running
from tests.integration.world import SettableClock, World, make_world

ISRAEL = ZoneInfo("Asia/Jerusalem")
SUNDAY_TEN = datetime(2026, 12, 6, 10, 0, tzinfo=ISRAEL)
ASK_PERSON = "I want to talk to a real person"
ACK = "A person from the Clinic team will answer you here soon"


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def world(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    clock = SettableClock(SUNDAY_TEN)
    async for runtime in running(request, tmp_path, clock=clock):
        yield await make_world(runtime, clock)


async def _agent(world: World, name: str, *, online: bool = True, capacity: int = 5) -> Agent:
    async with world.services.uow() as uow:
        agent = await create_agent(
            uow,
            world.business,
            email=f"{name}-{uuid.uuid4().hex[:6]}@clinic.test",
            name=name,
            password="correct horse battery",
            capacity=capacity,
            passwords=world.services.passwords,
            now=world.clock.now(),
        )
        if online:
            await handoffs.set_online(uow, world.business, agent, True, now=world.clock.now())
        await uow.commit()
    return agent


async def _handoffs(world: World, address: str | None = None) -> list[Handoff]:
    async with world.services.uow() as uow:
        found = await uow.handoffs.list(world.business.id, open_only=False)
    if address is None:
        return list(found)
    customer = await world.customer_id(address)
    return [h for h in found if h.customer_id == customer]


async def _reply(world: World, handoff: Handoff, agent: Agent, text: str) -> None:
    async with world.services.uow() as uow:
        _, outbox_ids = await handoffs.reply(
            uow, world.services, world.business, handoff.id, agent, text, now=world.clock.now()
        )
        await uow.commit()
    await queue_sends(outbox_ids, world.services)


async def _texts(world: World, address: str) -> list[str]:
    return [text for text, _ in world.phone.to(address)]


async def test_asking_for_a_person_gets_one_acknowledgement_and_then_the_bot_is_quiet(
    world: World,
) -> None:
    await world.say("sam", "hello")
    await world.say("sam", ASK_PERSON)
    await world.say("sam", "hello??")
    await world.say("sam", "/help")

    texts = await _texts(world, "sam")
    assert ACK in texts[-1] and "10 minutes" in texts[-1]
    assert len(texts) == 2
    (handoff,) = await _handoffs(world, "sam")
    assert handoff.state == "waiting" and handoff.trigger == "request"
    async with world.services.uow() as uow:
        conversation = await uow.conversations.get(handoff.conversation_id)
    assert conversation.mode is ConversationMode.HUMAN


async def test_a_frustrated_message_is_handed_off_with_the_detectors_reasons(
    world: World,
) -> None:
    await world.say("dana", "זו כבר פעם שלישית שאני כותבת!!! שום דבר לא עובד 😡😡")

    (handoff,) = await _handoffs(world, "dana")
    assert handoff.trigger in ("detector", "request")
    assert handoff.details.get("reasons")
    assert "מישהו מהצוות של Clinic יענה לך" in (await _texts(world, "dana"))[-1]


async def test_handoffs_go_round_robin_to_online_agents_and_the_reply_reaches_the_customer(
    world: World,
) -> None:
    first, second = await _agent(world, "Noa"), await _agent(world, "Eli")
    await _agent(world, "Away", online=False)
    for address in ("a", "b", "c"):
        await world.say(address, ASK_PERSON)

    given = {h.customer_id: h.agent_id for h in await _handoffs(world)}
    assert [given[await world.customer_id(a)] for a in ("a", "b", "c")] == [
        first.id,
        second.id,
        first.id,
    ]
    (handoff,) = await _handoffs(world, "a")
    await _reply(world, handoff, first, "Hi, I'm Noa. How can I help?")

    assert (await _texts(world, "a"))[-1] == "Hi, I'm Noa. How can I help?"
    (handoff,) = await _handoffs(world, "a")
    assert handoff.state == "active" and handoff.first_reply_at == world.clock.now()


async def test_an_agent_cannot_answer_a_colleagues_handoff_without_claiming_it(
    world: World,
) -> None:
    owner = await _agent(world, "Noa")
    other = await _agent(world, "Eli", online=False)
    await world.say("a", ASK_PERSON)
    (handoff,) = await _handoffs(world, "a")
    assert handoff.agent_id == owner.id

    async with world.services.uow() as uow:
        with pytest.raises(Exception, match="claim it first"):
            await handoffs.reply(
                uow, world.services, world.business, handoff.id, other, "hi", now=world.clock.now()
            )
    async with world.services.uow() as uow:
        claimed = await handoffs.claim(
            uow, world.business, handoff.id, other, now=world.clock.now()
        )
        await uow.commit()
    assert claimed.agent_id == other.id and claimed.state == "assigned"


async def test_an_agent_going_offline_passes_their_handoffs_to_a_colleague_or_the_queue(
    world: World,
) -> None:
    noa = await _agent(world, "Noa")
    await world.say("a", ASK_PERSON)
    await world.say("b", ASK_PERSON)
    assert {h.agent_id for h in await _handoffs(world)} == {noa.id}

    eli = await _agent(world, "Eli", capacity=1)
    async with world.services.uow() as uow:
        await handoffs.set_online(uow, world.business, noa, False, now=world.clock.now())
        await uow.commit()

    states = sorted((h.state, h.agent_id) for h in await _handoffs(world))
    assert states == [("assigned", eli.id), ("waiting", None)]


async def test_an_agent_whose_inbox_session_expired_goes_offline_and_their_handoffs_move(
    world: World,
) -> None:
    """Closing the laptop is not signing out; the session's end is. An agent put online
    through the API (no inbox session) stays online."""
    noa = await _agent(world, "Noa")
    await world.say("a", ASK_PERSON)
    eli = await _agent(world, "Eli")  # online through the API: no session
    async with world.services.uow() as uow:
        await uow.agents.add_session(
            "noa-session",
            agent_id=noa.id,
            csrf="x",
            created_at=world.clock.now(),
            expires_at=world.clock.now() + timedelta(hours=12),
        )
        await uow.commit()

    async def online() -> dict[str, bool]:
        async with world.services.uow() as uow:
            return {a.name: a.online for a in await uow.agents.list(world.business.id)}

    # Other businesses' agents may share the database: only this one's are looked at.
    await handoffs.sign_out_lapsed(world.services, now=world.clock.now())
    assert await online() == {"Noa": True, "Eli": True}
    world.clock.at += timedelta(hours=13)
    await handoffs.sign_out_lapsed(world.services, now=world.clock.now())
    assert await online() == {"Noa": False, "Eli": True}
    assert [h.agent_id for h in await _handoffs(world, "a")] == [eli.id]


async def test_nobody_answering_within_the_sla_gets_one_honest_update_and_an_alert(
    world: World,
) -> None:
    await world.say("sam", ASK_PERSON)
    # The watch serves every business (on PostgreSQL earlier tests' too): count this one's.
    told = []
    for minutes in (9, 2, 60):
        world.clock.at += timedelta(minutes=minutes)
        await sla.watch_sla(world.services, now=world.clock.now())
        told.append(len(await _texts(world, "sam")))

    assert told == [1, 2, 2]
    assert "haven't forgotten you" in (await _texts(world, "sam"))[-1]
    customer = await world.customer_id("sam")
    async with world.services.uow() as uow:
        kinds = [e.kind for e in await uow.events.for_customer(customer, limit=20)]
    assert kinds.count("handoff_overdue") == 1


async def test_a_request_on_friday_evening_is_told_the_team_is_back_on_sunday(
    world: World,
) -> None:
    world.clock.at = datetime(2026, 12, 4, 18, 0, tzinfo=ISRAEL)
    await world.say("sam", ASK_PERSON)

    assert "back on Sunday at 09:00" in (await _texts(world, "sam"))[-1]
    (handoff,) = await _handoffs(world, "sam")
    assert handoff.sla_due_at == datetime(2026, 12, 6, 9, 10, tzinfo=ISRAEL)


async def test_resolving_returns_the_conversation_to_the_bot_and_asks_later_if_it_was_solved(
    world: World,
) -> None:
    noa = await _agent(world, "Noa")
    await world.say("sam", ASK_PERSON)
    (handoff,) = await _handoffs(world, "sam")
    async with world.services.uow() as uow:
        await handoffs.resolve(uow, world.business, handoff.id, agent=noa, now=world.clock.now())
        await uow.commit()

    await world.say("sam", "thanks, bye")
    # Writing again after the resolve puts the conversation back in the team's queue.
    assert (await _texts(world, "sam"))[-1].startswith("Thanks for writing again.")

    await world.walk(SUNDAY_TEN + timedelta(days=3, hours=2))
    assert "did Clinic manage to solve" in (await _texts(world, "sam"))[-1]
    await world.tap("sam", "no")
    handed = await _handoffs(world, "sam")
    assert [h.state for h in handed] == ["assigned", "resolved"]
    assert handed[0].reason == "follow_up_unsolved"


async def test_an_nps_detractor_is_handed_off_once_the_why_is_answered(world: World) -> None:
    await world.say("sam", "hello")
    await world.apply({"schedules": [{"name": "nps", "flow": "nps", "when": {"every": "30d"}}]})
    await world.walk(SUNDAY_TEN + timedelta(days=31))
    await world.say("sam", "3")
    assert not await _handoffs(world, "sam")
    await world.say("sam", "the delivery was late")

    (handoff,) = await _handoffs(world, "sam")
    assert (handoff.trigger, handoff.reason) == ("low_score", "nps score 3")


async def test_with_offer_set_a_low_score_is_offered_a_person_and_yes_hands_off(
    world: World,
) -> None:
    async with world.services.uow() as uow:
        await uow.businesses.set_handoff_rules(world.business.id, {"low_score": "offer"})
        await uow.commit()
        world.business = await uow.businesses.get(world.business.id)
    await world.say("sam", "hello")
    await world.apply({"schedules": [{"name": "csat", "flow": "csat", "when": {"every": "30d"}}]})
    await world.walk(SUNDAY_TEN + timedelta(days=31))
    await world.say("sam", "1")
    await world.say("sam", "rude staff")
    assert not await _handoffs(world, "sam")

    await world.walk(world.clock.at + timedelta(minutes=2), step=timedelta(minutes=1))
    assert "Would you like someone from the Clinic team" in (await _texts(world, "sam"))[-1]
    await world.tap("sam", "yes")
    (handoff,) = await _handoffs(world, "sam")
    assert handoff.trigger == "low_score"


async def test_a_checkin_answer_not_understood_twice_hands_off(world: World) -> None:
    await world.say("sam", "hello")
    await world.apply(
        {"schedules": [{"name": "weekly", "flow": "checkin", "when": {"every": "7d"}}]}
    )
    await world.walk(SUNDAY_TEN + timedelta(days=8))
    for _ in range(3):
        await world.say("sam", "purple")

    (handoff,) = await _handoffs(world, "sam")
    assert handoff.trigger == "not_understood"


async def test_outside_the_whatsapp_window_free_text_from_an_agent_is_refused_with_the_reason(
    world: World,
) -> None:
    world.phone.capabilities = Capabilities(  # type: ignore[misc]
        buttons=False, max_text=1600, can_initiate=False, reply_window=timedelta(hours=24)
    )
    noa = await _agent(world, "Noa")
    await world.say("sam", ASK_PERSON)
    (handoff,) = await _handoffs(world, "sam")
    world.clock.at += timedelta(hours=25)

    async with world.services.uow() as uow:
        conversation = await uow.conversations.get(handoff.conversation_id)
        identity = await uow.identities.get(conversation.identity_id)
        assert not reach.window_open(world.services, identity, now=world.clock.now())
        with pytest.raises(InvalidInput) as refused:
            await handoffs.reply(
                uow, world.services, world.business, handoff.id, noa, "hi", now=world.clock.now()
            )
    assert refused.value.code == "window_closed"
    assert "no approved template" in refused.value.message


async def test_a_reply_to_a_customer_who_opted_out_is_refused_as_not_to_be_sent(
    world: World,
) -> None:
    noa = await _agent(world, "Noa")
    await world.say("sam", ASK_PERSON)
    (handoff,) = await _handoffs(world, "sam")
    await world.say("sam", "STOP")
    sent = len(world.phone.to("sam"))

    with pytest.raises(InvalidInput) as refused:
        await _reply(world, handoff, noa, "Hi Sam, how can I help?")

    assert refused.value.code == "opted_out"
    assert "would not be sent" in refused.value.message
    assert len(world.phone.to("sam")) == sent
    customer = await world.customer_id("sam")
    async with world.services.uow() as uow:
        said = [m.text for m in await uow.messages.for_customer(customer, limit=50)]
    assert "Hi Sam, how can I help?" not in said


async def test_an_opted_out_customer_who_asks_for_a_person_is_answered_by_the_agent(
    world: World,
) -> None:
    noa = await _agent(world, "Noa")
    await world.say("sam", "hello")
    await world.say("sam", "STOP")
    world.clock.at += timedelta(minutes=3)
    await world.say("sam", ASK_PERSON)
    (handoff,) = await _handoffs(world, "sam")

    await _reply(world, handoff, noa, "Hi Sam, Noa here. How can I help?")

    assert "Hi Sam, Noa here. How can I help?" in await _texts(world, "sam")


async def test_an_admin_may_answer_any_handoff_of_the_business(world: World) -> None:
    await _agent(world, "Noa")
    async with world.services.uow() as uow:
        boss = await create_agent(
            uow,
            world.business,
            email=f"boss-{uuid.uuid4().hex[:6]}@clinic.test",
            name="Boss",
            password="correct horse battery",
            role=AgentRole.ADMIN,
            passwords=world.services.passwords,
            now=world.clock.now(),
        )
        await uow.commit()
    await world.say("sam", ASK_PERSON)
    (handoff,) = await _handoffs(world, "sam")
    await _reply(world, handoff, boss, "On it.")
    assert (await _texts(world, "sam"))[-1] == "On it."


@pytest.mark.parametrize(
    ("sensitivity", "ask", "question", "answered"),
    [
        ("balanced", "אני רוצה לדבר עם נציג", "עוד שאלה: אפשר לשנות כתובת משלוח?", "תודה שכתבתם"),
        (
            "sensitive",
            ASK_PERSON,
            "One more thing - can I still change the delivery address?",
            "Thanks for writing",
        ),
    ],
)
async def test_after_a_resolved_handoff_an_ordinary_question_is_the_bots_to_answer(
    world: World, sensitivity: str, ask: str, question: str, answered: str
) -> None:
    """A resolved handoff is the agent's judgement that the matter is closed: it is not a
    recent-handoff signal, so the next ordinary question opens no new handoff."""
    async with world.services.uow() as uow:
        await uow.businesses.set_detector_sensitivity(world.business.id, sensitivity)
        await uow.commit()
        world.business = await uow.businesses.get(world.business.id)
    noa = await _agent(world, "Noa")
    await world.say("sam", ask)
    (handoff,) = await _handoffs(world, "sam")
    await _reply(world, handoff, noa, "Done, your order is on its way.")
    async with world.services.uow() as uow:
        await handoffs.resolve(uow, world.business, handoff.id, agent=noa, now=world.clock.now())
        await uow.commit()

    world.clock.at += timedelta(minutes=1)
    await world.say("sam", question)

    assert [h.state for h in await _handoffs(world, "sam")] == ["resolved"]
    assert answered in (await _texts(world, "sam"))[-1]
    async with world.services.uow() as uow:
        conversation = await uow.conversations.get(handoff.conversation_id)
        (asked,) = await uow.messages.from_customer(
            handoff.conversation_id, since=world.clock.now(), before_id=None, limit=5
        )
    assert conversation.mode is ConversationMode.BOT
    assert not any(r.startswith("handed off") for r in asked.frustration_reasons)


async def test_while_a_handoff_is_open_it_still_counts_as_a_recent_handoff(world: World) -> None:
    await world.say("sam", ASK_PERSON)
    world.clock.at += timedelta(minutes=1)
    await world.say("sam", "One more question: can I change the delivery address?")

    (handoff,) = await _handoffs(world, "sam")
    async with world.services.uow() as uow:
        (asked,) = await uow.messages.from_customer(
            handoff.conversation_id, since=world.clock.now(), before_id=None, limit=5
        )
    assert "handed off 1 min ago" in asked.frustration_reasons


@pytest.mark.parametrize(
    ("ask", "soon", "later"),
    [
        (ASK_PERSON, "usually within 10 minutes", "back today at 09:00"),
        ("אני רוצה לדבר עם נציג", "בדרך כלל תוך 10 דקות", "חוזר היום ב־09:00"),
    ],
)
async def test_before_opening_an_agent_online_is_promised_not_the_opening_hour(
    world: World, ask: str, soon: str, later: str
) -> None:
    world.clock.at = datetime(2026, 12, 6, 7, 30, tzinfo=ISRAEL)
    await world.say("early", ask)
    assert later in (await _texts(world, "early"))[-1]

    noa = await _agent(world, "Noa")
    await world.say("sam", ask)

    assert soon in (await _texts(world, "sam"))[-1]
    (handoff,) = await _handoffs(world, "sam")
    assert handoff.agent_id == noa.id


@pytest.mark.parametrize(
    ("question", "online", "later"),
    [
        ("Do you ship to Eilat?", "Someone from the team is online now", "The team is back"),
        ("אתם שולחים לאילת?", "מישהו מהצוות מחובר עכשיו", "הצוות חוזר"),
    ],
)
async def test_a_message_for_the_team_outside_hours_is_told_an_agent_is_online(
    world: World, question: str, online: str, later: str
) -> None:
    world.clock.at = datetime(2026, 12, 4, 18, 0, tzinfo=ISRAEL)
    await world.say("early", question)
    assert later in (await _texts(world, "early"))[-1]

    await _agent(world, "Noa")
    await world.say("sam", question)

    told = (await _texts(world, "sam"))[-1]
    assert online in told and later not in told
