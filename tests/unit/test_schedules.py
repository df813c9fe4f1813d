"""Schedule definitions: checked with path-pointing errors, described in plain words, due on time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from flows.schedules import (
    AfterEvent,
    BeforeDate,
    CustomerTimes,
    Every,
    Once,
    ScheduleError,
    Segment,
    describe,
    next_due,
    parse_schedule,
)

START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def test_a_schedule_after_every_purchase_is_read_and_described_in_both_languages() -> None:
    schedule = parse_schedule(
        {
            "name": "after-purchase",
            "flow": "csat",
            "when": {"after_event": "purchase", "delay": "3d"},
            "segment": {"tags": ["vip"], "language": "he", "attributes": {"plan": "gold"}},
        }
    )

    assert schedule.when == AfterEvent("purchase", timedelta(days=3))
    assert schedule.segment == Segment(tags=("vip",), language="he", attributes={"plan": "gold"})
    assert describe(schedule, "en") == "3 days after every purchase"
    assert describe(schedule, "he") == "3 ימים אחרי כל רכישה"


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ({"every": "30d"}, Every(timedelta(days=30))),
        ({"every": "2w"}, Every(timedelta(weeks=2))),
        (
            {"after_event": "ticket_closed", "delay": "12h"},
            AfterEvent("ticket_closed", timedelta(hours=12)),
        ),
        ({"before_date": "renewal", "days": 14}, BeforeDate("renewal", 14)),
        ({"at": "2026-12-01T10:00:00+02:00"}, Once(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))),
    ],
)
def test_each_kind_of_timing_is_understood(when: dict, expected: object) -> None:
    assert parse_schedule({"name": "s", "flow": "nps", "when": when}).when == expected


@pytest.mark.parametrize(
    ("when", "words"),
    [
        (
            {"every": "12h"},
            ("every 12 hours since the last touch", "כל 12 שעות מאז הפנייה האחרונה"),
        ),
        (
            {"every": "30m"},
            ("every 30 minutes since the last touch", "כל 30 דקות מאז הפנייה האחרונה"),
        ),
        ({"every": "2w"}, ("every 14 days since the last touch", "כל 14 ימים מאז הפנייה האחרונה")),
    ],
)
def test_a_cadence_is_described_in_the_unit_it_was_given(when: dict, words: tuple) -> None:
    schedule = parse_schedule({"name": "s", "flow": "nps", "when": when})
    assert (describe(schedule, "en"), describe(schedule, "he")) == words


def test_a_timing_that_says_two_things_is_refused() -> None:
    with pytest.raises(ScheduleError) as raised:
        parse_schedule(
            {"name": "s", "flow": "nps", "when": {"every": "7d", "at": "2026-12-01T10:00+02:00"}}
        )
    assert raised.value.problems == [
        "when: one of every, after_event, before_date or at, not every and at"
    ]


@pytest.mark.parametrize("at", ["9999-12-31T23:59:00-11:00", "1999-12-31T10:00:00+02:00"])
def test_a_campaign_outside_the_calendar_kesher_plans_in_is_refused(at: str) -> None:
    with pytest.raises(ScheduleError) as raised:
        parse_schedule({"name": "s", "flow": "nps", "when": {"at": at}})
    assert raised.value.problems == ["when.at: must be in the years 2000 to 2999"]


def test_every_problem_is_reported_with_its_path() -> None:
    with pytest.raises(ScheduleError) as error:
        parse_schedule(
            {
                "name": "Bad Name",
                "flow": "survey",
                "when": {"after_event": "purchase", "delay": "soon"},
                "segment": {"language": "fr", "channel": "sms", "colour": "red"},
                "extra": 1,
            }
        )

    assert error.value.problems == [
        "name: 1 to 63 lowercase letters, digits, '-' or '_'",
        "flow: must be one of checkin, nps, csat",
        "schedule: unknown keys extra",
        "when.delay: must be a duration such as 12h, 3d or 2w",
        "segment: unknown keys colour",
        "segment.language: must be he or en",
        "segment.channel: must be one of sandbox, telegram, whatsapp",
    ]


@pytest.mark.parametrize(
    ("when", "problem"),
    [
        (None, "when: must say every, after_event, before_date or at"),
        ({"every": "0d"}, "when.every: must be a duration"),
        ({"before_date": "renewal", "days": -1}, "when.days: must be a whole number"),
        ({"at": "2026-12-01 10:00"}, "when.at: must be a date and time with its offset"),
    ],
)
def test_bad_timings_are_refused(when: object, problem: str) -> None:
    with pytest.raises(ScheduleError) as error:
        parse_schedule({"name": "s", "flow": "nps", "when": when})
    assert error.value.problems[0].startswith(problem)


def test_a_custom_flow_must_exist() -> None:
    definition = {"name": "s", "flow": "custom:onboarding", "when": {"every": "7d"}}
    assert (
        parse_schedule(definition, custom_flows=frozenset({"onboarding"})).flow
        == "custom:onboarding"
    )
    with pytest.raises(ScheduleError):
        parse_schedule(definition)


def test_a_segment_matches_only_customers_with_everything_it_asks_for() -> None:
    segment = Segment(tags=("vip",), language="he", channel="whatsapp", attributes={"plan": "gold"})
    facts = {
        "tags": frozenset({"vip", "new"}),
        "language": "he",
        "channels": frozenset({"whatsapp"}),
        "attributes": {"plan": "gold"},
    }
    assert segment.matches(**facts)
    assert not segment.matches(**{**facts, "language": "en"})
    assert not segment.matches(**{**facts, "channels": frozenset({"telegram"})})
    assert not segment.matches(**{**facts, "attributes": {"plan": "silver"}})
    assert Segment().matches(tags=frozenset(), language="en", channels=frozenset(), attributes={})


def test_a_cadence_counts_from_the_last_touch_or_from_when_the_schedule_began() -> None:
    schedule = parse_schedule({"name": "s", "flow": "checkin", "when": {"every": "30d"}})
    touched = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)

    assert next_due(
        schedule, CustomerTimes(last_touch=touched), start_of=START
    ) == touched + timedelta(days=30)
    assert next_due(schedule, CustomerTimes(), start_of=START) == START + timedelta(days=30)


def test_an_event_schedule_is_due_after_the_event_and_never_without_it() -> None:
    schedule = parse_schedule(
        {"name": "s", "flow": "csat", "when": {"after_event": "purchase", "delay": "3d"}}
    )
    bought = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)

    assert next_due(
        schedule, CustomerTimes(events={"purchase": bought}), start_of=START
    ) == bought + timedelta(days=3)
    assert next_due(schedule, CustomerTimes(), start_of=START) is None


def test_a_date_schedule_is_due_at_ten_in_the_morning_of_the_customers_own_day() -> None:
    schedule = parse_schedule(
        {"name": "s", "flow": "nps", "when": {"before_date": "renewal", "days": 14}}
    )
    times = CustomerTimes(dates={"renewal": date(2027, 1, 15)}, timezone="Asia/Jerusalem")

    due = next_due(schedule, times, start_of=START)
    assert due == datetime(2027, 1, 1, 10, 0, tzinfo=ZoneInfo("Asia/Jerusalem"))
    assert describe(schedule, "he") == "14 ימים לפני renewal"
