"""Scheduled check-ins walked over simulated weeks with a settable clock, on both backends.

The tests drive the scheduler's tick by hand and run each queued task in place, so an hour
of simulated time is one loop; the channel is a recording sandbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.checkins import catalog, configuration, planning, touches
from bot.checkins.configuration import post_event, save_schedule
from bot.domain import ChannelName, CheckinStatus
from bot.handoffs import service as handoffs
from flows.schedules import parse_schedule
from tests.integration.conftest import running
from tests.integration.world import SettableClock, World, make_world

ISRAEL = ZoneInfo("Asia/Jerusalem")
SUNDAY_MORNING = datetime(2026, 11, 22, 10, 0, tzinfo=ISRAEL)


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def world(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    clock = SettableClock(SUNDAY_MORNING)
    async for runtime in running(request, tmp_path, clock=clock):
        yield await make_world(runtime, clock)


WEEKLY = {"name": "weekly", "flow": "checkin", "when": {"every": "7d"}}
HOW_EN = "How is everything with Clinic?"
HOW_HE = "איך הכל עם Clinic?"
REMINDERS = ("Just a quick reminder", "רק מזכירים")


async def test_a_weekly_cadence_asks_each_customer_once_a_week_at_allowed_local_times(
    world: World,
) -> None:
    await world.say("dana", "שלום")
    await world.say("sam", "hello")
    await world.apply({"schedules": [WEEKLY]})

    await world.walk(SUNDAY_MORNING + timedelta(days=22))

    for address, question in (("dana", HOW_HE), ("sam", HOW_EN)):
        asked = [
            at.astimezone(ISRAEL)
            for text, at in world.phone.to(address)
            if question in text and not text.startswith(REMINDERS)
        ]
        assert [a.date().isoformat() for a in asked] == ["2026-11-29", "2026-12-06", "2026-12-13"]
        assert all(9 <= a.hour < 20 and a.weekday() != 5 for a in asked)
        statuses = [c.status for c in await world.checkins(address)]
        # Two weeks reminded once and then ended; the third reminded; the fourth planned.
        assert statuses == [
            CheckinStatus.EXPIRED,
            CheckinStatus.EXPIRED,
            CheckinStatus.SENT,
            CheckinStatus.PLANNED,
        ]


async def test_a_schedule_that_cannot_be_planned_holds_back_no_other(world: World) -> None:
    """One stored before its dates were checked (the calendar ends in year 9999) fails alone."""
    await world.say("dana", "hello")
    async with world.services.uow() as uow:
        await uow.schedules.save(
            world.business.id,
            name="stale",
            flow="nps",
            definition={"name": "stale", "flow": "nps", "when": {"at": "9999-12-31T23:59-11:00"}},
            active=True,
            priority=9,
            now=world.clock.now(),
        )
        await uow.commit()
    soon = (SUNDAY_MORNING + timedelta(hours=2)).isoformat()
    await world.apply({"schedules": [{"name": "soon", "flow": "checkin", "when": {"at": soon}}]})

    await world.walk(SUNDAY_MORNING + timedelta(hours=4))

    assert [text for text, _ in world.phone.to("dana") if HOW_EN in text]


async def test_a_reminder_comes_once_after_a_day_and_then_the_run_expires(world: World) -> None:
    await world.say("sam", "hello")
    await world.apply({"schedules": [WEEKLY]})

    await world.walk(SUNDAY_MORNING + timedelta(days=9, hours=1))

    texts = [text for text, _ in world.phone.to("sam")][1:]
    assert len(texts) == 2
    assert texts[0].startswith(HOW_EN.split(" with")[0]) or HOW_EN in texts[0]
    assert texts[1].startswith("Just a quick reminder") and HOW_EN in texts[1]
    (first, _) = await world.checkins("sam")
    assert first.status is CheckinStatus.EXPIRED and first.reason == "unanswered"


async def test_answers_by_tap_and_in_words_land_on_the_record_and_end_the_run(
    world: World,
) -> None:
    await world.say("dana", "שלום")
    await world.apply({"schedules": [{"name": "nps", "flow": "nps", "when": {"every": "3d"}}]})
    await world.walk(SUNDAY_MORNING + timedelta(days=3))
    assert any("0" in text and "10" in text for text, _ in world.phone.to("dana"))

    await world.say("dana", "תשע")
    await world.say("dana", "השירות מהיר ואדיב")

    customer = await world.customer_id("dana")
    async with world.services.uow() as uow:
        answers = await uow.answers.for_customer(customer, limit=10)
        events = await uow.events.for_customer(customer, limit=50)
    assert [(a.question, a.value, a.score, a.score_kind) for a in answers] == [
        ("score", "9", 9, "nps"),
        ("why", "השירות מהיר ואדיב", None, "text"),
    ]
    assert [e.kind for e in events].count("survey_answered") == 2
    (done, *_) = await world.checkins("dana")
    assert done.status is CheckinStatus.ANSWERED


async def test_nps_and_csat_go_out_with_a_button_per_score_and_a_tap_is_the_number(
    world: World,
) -> None:
    await world.say("dana", "שלום")
    await world.say("sam", "hello")
    await world.apply(
        {
            "schedules": [
                {"name": "nps", "flow": "nps", "when": {"every": "3d"}},
                {"name": "csat", "flow": "csat", "when": {"every": "3d"}},
            ]
        }
    )
    await world.walk(SUNDAY_MORNING + timedelta(days=3))
    asked = {world.phone.buttons_to(who)[-1] for who in ("dana", "sam")}
    assert asked <= {tuple(str(n) for n in range(11)), tuple(str(n) for n in range(1, 6))}

    await world.tap("dana", world.phone.buttons_to("dana")[-1][-1])
    await world.say("sam", "4")

    for who, top in (("dana", None), ("sam", 4)):
        customer = await world.customer_id(who)
        async with world.services.uow() as uow:
            (answer,) = await uow.answers.for_customer(customer, limit=10)
        high = 10 if answer.score_kind == "nps" else 5
        assert answer.score == (top or high) and answer.value == str(answer.score)


async def test_a_tapped_button_reads_as_its_label_on_the_record_and_in_the_summary(
    world: World,
) -> None:
    await world.say("dana", "שלום")
    await world.apply({"schedules": [WEEKLY]})
    await world.walk(SUNDAY_MORNING + timedelta(days=7))
    assert world.phone.buttons_to("dana")[-1] == ("מצוין 😀", "בסדר 🙂", "יש בעיה 😕")

    await world.tap("dana", "problem")
    await world.say("dana", "ההזמנה הגיעה שבורה")
    await world.tap("dana", "yes")

    customer = await world.customer_id("dana")
    async with world.services.uow() as uow:
        messages = await uow.messages.for_customer(customer, limit=20)
        said = [m.text for m in messages]
        answers = await uow.answers.for_customer(customer, limit=10)
        handoff = await uow.handoffs.open_for(messages[-1].conversation_id)
        assert handoff is not None
        summary = await handoffs.summary(uow, handoff)
    assert "יש בעיה 😕" in said and "כן, בבקשה" in said
    assert "problem" not in said and "yes" not in said
    assert [a.shown for a in answers] == ["יש בעיה 😕", "ההזמנה הגיעה שבורה", "כן, בבקשה"]
    assert [a.value for a in answers][::2] == ["problem", "yes"]
    assert "checkin: mood = יש בעיה 😕" in summary.answers


async def test_a_problem_in_a_checkin_asks_what_happened_and_a_yes_requests_a_person(
    world: World,
) -> None:
    await world.say("sam", "hello")
    await world.apply({"schedules": [WEEKLY]})
    await world.walk(SUNDAY_MORNING + timedelta(days=7))

    await world.tap("sam", "problem")
    await world.say("sam", "My order arrived broken")
    await world.say("sam", "yes")

    texts = [text for text, _ in world.phone.to("sam")]
    assert "What happened?" in texts[-3] and "get back to you" in texts[-2]
    customer = await world.customer_id("sam")
    async with world.services.uow() as uow:
        kinds = [e.kind for e in await uow.events.for_customer(customer, limit=50)]
    assert "handoff_requested" in kinds


async def test_a_campaign_planned_in_quiet_time_moves_to_the_customers_next_morning(
    world: World,
) -> None:
    await world.say("sam", "hello")
    customer = await world.customer_id("sam")
    async with world.services.uow() as uow:
        from bot.domain import CustomerFields

        await uow.customers.update(customer, CustomerFields(timezone="America/New_York"))
        await uow.commit()
    # Tuesday 03:00 in Israel is Monday 20:00 in New York, just after its day closes.
    campaign = {
        "name": "launch",
        "flow": "csat",
        "when": {"at": "2026-11-24T03:00:00+02:00"},
    }
    await world.apply({"schedules": [campaign]})

    await world.walk(datetime(2026, 11, 25, 0, 0, tzinfo=ISRAEL))

    (touch,) = await world.checkins("sam")
    assert touch.reason == "quiet_hours"
    (asked,) = [at for _, at in world.phone.to("sam")][1:]
    assert asked.astimezone(ZoneInfo("America/New_York")) == datetime(
        2026, 11, 24, 9, 0, tzinfo=ZoneInfo("America/New_York")
    )


async def test_two_schedules_at_once_make_one_touch_and_the_other_waits_out_the_cap(
    world: World,
) -> None:
    await world.say("sam", "hello")
    await world.apply(
        {
            "schedules": [
                {"name": "low", "flow": "checkin", "when": {"every": "2d"}},
                {
                    "name": "high",
                    "flow": "csat",
                    "priority": 50,
                    "when": {"at": "2026-11-24T10:00:00+02:00"},
                },
            ]
        }
    )

    await world.walk(datetime(2026, 11, 27, 12, 0, tzinfo=ISRAEL))

    asked = [text for text, _ in world.phone.to("sam")][1:]
    assert len(asked) == 2  # the CSAT question and its reminder; the check-in waits
    assert "1 to 5" in asked[0] or "1–5" in asked[0] or "5" in asked[0]
    touches = {c.flow: c for c in await world.checkins("sam")}
    assert touches["checkin"].status is CheckinStatus.PLANNED
    assert touches["checkin"].reason == "frequency_cap"
    assert touches["checkin"].send_at >= datetime(2026, 12, 1, 10, 0, tzinfo=ISRAEL)


async def test_an_opted_out_customer_is_never_contacted_and_the_touch_says_why(
    world: World,
) -> None:
    await world.say("sam", "hello")
    await world.apply({"schedules": [WEEKLY]})
    await world.walk(SUNDAY_MORNING + timedelta(hours=2))
    await world.say("sam", "STOP")
    before = len(world.phone.to("sam"))

    await world.walk(SUNDAY_MORNING + timedelta(days=15))

    assert len(world.phone.to("sam")) == before
    (touch,) = await world.checkins("sam")
    assert touch.status is CheckinStatus.SKIPPED and touch.reason == "opted_out"


async def test_an_event_plans_a_touch_its_delay_later(world: World) -> None:
    await world.say("sam", "hello")
    await world.apply(
        {
            "schedules": [
                {
                    "name": "after-purchase",
                    "flow": "csat",
                    "when": {"after_event": "purchase", "delay": "2d"},
                }
            ]
        }
    )
    customer = await world.customer_id("sam")
    async with world.services.uow() as uow:
        found = await uow.customers.get(world.business.id, customer)
        assert found is not None
        planned = await post_event(
            uow,
            world.business,
            found,
            kind="purchase",
            occurred_at=world.clock.now(),
            now=world.clock.now(),
            data={},
        )
        again = await post_event(
            uow,
            world.business,
            found,
            kind="ticket_closed",
            occurred_at=world.clock.now(),
            now=world.clock.now(),
            data={},
        )
        await uow.commit()
    assert (planned, again) == (1, 0)

    await world.walk(SUNDAY_MORNING + timedelta(days=2, hours=1))

    asked = [at.astimezone(ISRAEL) for _, at in world.phone.to("sam")][1:]
    assert [a.isoformat() for a in asked] == ["2026-11-24T10:00:00+02:00"]


async def test_touches_lost_with_a_killed_worker_are_made_once_after_the_sweep(
    world: World,
) -> None:
    addresses = [f"c{n}" for n in range(12)]
    for address in addresses:
        await world.say(address, "hello")
    await world.apply({"schedules": [WEEKLY]})
    await world.walk(SUNDAY_MORNING + timedelta(days=7) - timedelta(hours=1))
    world.queue.lose_starts = 5  # the worker dies holding five claimed touches

    await world.walk(SUNDAY_MORNING + timedelta(days=7))
    assert len(world.queue.lost) == 5
    stuck = [c for a in addresses for c in await world.checkins(a) if c.id in world.queue.lost]
    assert {c.status for c in stuck} == {CheckinStatus.CLAIMED}

    await world.walk(SUNDAY_MORNING + timedelta(days=7, minutes=10), step=timedelta(minutes=1))

    for address in addresses:
        questions = [t for t, _ in world.phone.to(address) if t.startswith("Hi! How")]
        assert len(questions) == 1, address


async def test_the_same_claimed_touch_started_twice_is_made_once(world: World) -> None:
    await world.say("sam", "hello")
    await world.apply({"schedules": [WEEKLY]})
    await world.walk(SUNDAY_MORNING + timedelta(days=7) - timedelta(hours=1))
    world.queue.lose_starts = 1
    await world.walk(SUNDAY_MORNING + timedelta(days=7))
    (lost,) = world.queue.lost

    first = await touches.start_checkin(lost, world.services)
    second = await touches.start_checkin(lost, world.services)

    assert (first, second) == (CheckinStatus.SENT, None)
    assert len([t for t, _ in world.phone.to("sam") if t.startswith("Hi! How")]) == 1


async def test_a_schedule_saved_twice_keeps_one_touch_per_customer(world: World) -> None:
    await world.say("sam", "hello")
    await world.apply({"schedules": [WEEKLY]})
    await world.walk(SUNDAY_MORNING + timedelta(hours=2))
    async with world.services.uow() as uow:
        await save_schedule(uow, world.business, WEEKLY, now=world.clock.now())
        await uow.commit()

    await world.walk(SUNDAY_MORNING + timedelta(hours=4))

    assert len(await world.checkins("sam")) == 1


async def test_a_custom_flow_runs_from_yaml_and_its_answers_are_recorded(world: World) -> None:
    await world.say("dana", "שלום")
    await world.apply(
        {
            "flows": [
                {
                    "name": "visit",
                    "questions": [
                        {
                            "type": "scale",
                            "min": 1,
                            "max": 5,
                            "text": {"he": "איך היה הביקור?", "en": "How was your visit?"},
                        }
                    ],
                }
            ],
            "schedules": [
                {"name": "visits", "flow": "custom:visit", "when": {"every": "1d"}},
            ],
        }
    )
    await world.walk(SUNDAY_MORNING + timedelta(days=1))
    assert "איך היה הביקור?" in world.phone.to("dana")[-1][0]

    await world.say("dana", "ארבע")

    customer = await world.customer_id("dana")
    async with world.services.uow() as uow:
        (answer,) = await uow.answers.for_customer(customer, limit=5)
    assert (answer.flow, answer.value, answer.score) == ("custom:visit", "4", 4)


async def test_deleting_a_schedule_drops_the_touches_not_made_and_keeps_the_history(
    world: World,
) -> None:
    await world.say("dana", "שלום")
    await world.apply({"schedules": [{"name": "nps", "flow": "nps", "when": {"every": "3d"}}]})
    await world.walk(SUNDAY_MORNING + timedelta(days=3))
    await world.say("dana", "תשע")
    await world.say("dana", "השירות מהיר")
    await world.walk(SUNDAY_MORNING + timedelta(days=4))
    before = await world.checkins("dana")
    assert CheckinStatus.ANSWERED in {c.status for c in before}
    assert CheckinStatus.PLANNED in {c.status for c in before}

    async with world.services.uow() as uow:
        assert await configuration.remove_schedule(uow, world.business.id, "nps")
        await uow.commit()

    after = await world.checkins("dana")
    assert [c.status for c in after] == [
        c.status for c in before if c.status is not CheckinStatus.PLANNED
    ]
    assert all(c.schedule_id is None for c in after)
    customer = await world.customer_id("dana")
    async with world.services.uow() as uow:
        answers = await uow.answers.for_customer(customer, limit=10)
        assert not await configuration.remove_schedule(uow, world.business.id, "nps")
    assert [a.value for a in answers] == ["9", "השירות מהיר"]


@pytest.fixture(params=["postgres-redis"])
async def postgres_world(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    clock = SettableClock(SUNDAY_MORNING)
    async for runtime in running(request, tmp_path, clock=clock):
        yield await make_world(runtime, clock)


async def _by_the_rules(world: World, name: str) -> set[tuple[object, ...]]:
    """What planning the schedule customer by customer with the pure rules would add."""
    now = world.clock.now()
    async with world.services.uow() as uow:
        record = await uow.schedules.get(world.business.id, name)
        assert record is not None
        facts = await uow.checkins.planning_facts(
            world.business.id, record.id, after=None, limit=500
        )
    schedule = parse_schedule(record.definition)
    rules = catalog.contact_rules(world.business)
    touches = [planning.planned_touch(schedule, record, f, now=now, rules=rules) for f in facts]
    return {(t.customer_id, t.key, t.due_at, t.send_at, t.reason) for t in touches if t is not None}


async def _planned_rows(world: World, name: str) -> set[tuple[object, ...]]:
    async with world.services.uow() as uow:
        record = await uow.schedules.get(world.business.id, name)
        found = await uow.checkins.list(
            world.business.id, status=CheckinStatus.PLANNED, limit=500, offset=0
        )
    assert record is not None
    return {
        (c.customer_id, c.key, c.due_at, c.send_at, c.reason)
        for c in found
        if c.schedule_id == record.id
    }


async def test_a_cadence_planned_in_one_statement_picks_the_customers_and_times_the_rules_pick(
    postgres_world: World,
) -> None:
    world = postgres_world
    # Customers who last wrote at different hours (a Friday afternoon, an evening, before a
    # holiday), in two timezones, in two languages; one opted out, one unreachable.
    moments = [
        ("dana", "שלום", timedelta(0)),
        ("sam", "hello", timedelta(hours=11, minutes=17)),
        ("noa", "היי", timedelta(days=5, hours=6)),
        ("ny", "hello", timedelta(days=6, hours=1)),
        ("stop", "hello", timedelta(days=1)),
        ("gone", "hello", timedelta(days=2)),
        ("eve", "hello", timedelta(days=-66)),
    ]
    for address, words, after in moments:
        world.clock.at = SUNDAY_MORNING + after
        await world.say(address, words)
    world.clock.at = SUNDAY_MORNING + timedelta(days=6, hours=2)
    await world.say("stop", "STOP")
    async with world.services.uow() as uow:
        from bot.domain import CustomerFields

        await uow.customers.update(
            await world.customer_id("ny"), CustomerFields(timezone="America/New_York")
        )
        gone = await uow.identities.find(world.business.id, ChannelName.SANDBOX, "gone")
        assert gone is not None
        await uow.identities.set_reachable(gone.id, False)
        await uow.commit()
    schedules = [
        {"name": "weekly", "flow": "checkin", "when": {"every": "7d"}},
        {"name": "hebrew", "flow": "nps", "when": {"every": "3d"}, "segment": {"language": "he"}},
        {
            "name": "sandbox",
            "flow": "csat",
            "when": {"every": "2d"},
            "segment": {"channel": "sandbox"},
        },
    ]
    await world.apply({"schedules": schedules})

    # A first pass, then again after two weeks of touches with the planned ones dropped, so
    # that last touches and occurrences count too.
    rounds = []
    for _ in range(2):
        expected = {s["name"]: await _by_the_rules(world, s["name"]) for s in schedules}
        assert await planning.plan(world.services, now=world.clock.now()) == sum(
            map(len, expected.values())
        )
        for s in schedules:
            assert await _planned_rows(world, s["name"]) == expected[s["name"]], s["name"]
        rounds.append(expected)
        await world.walk(world.clock.at + timedelta(days=14), step=timedelta(hours=3))
        async with world.services.uow() as uow:
            for c in await uow.checkins.list(
                world.business.id, status=CheckinStatus.PLANNED, limit=500, offset=0
            ):
                await uow.checkins.finish(
                    c.id, CheckinStatus.EXPIRED, reason="test", now=world.clock.now()
                )
            await uow.commit()
        async with world.services.uow() as uow:
            for record in await uow.schedules.list(world.business.id):
                await uow.schedules.mark_planned(
                    record.id, at=world.clock.now() - timedelta(days=1)
                )
            await uow.commit()
