"""A business's contact rules read from its settings, and touches planned against them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from flows.contact import ContactRules, RulesError, parse_rules
from flows.schedules import CustomerTimes, parse_schedule, plan_touch

ISRAEL = ZoneInfo("Asia/Jerusalem")
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)  # Sunday 10:00 in Israel


def test_missing_rules_keep_the_israeli_week() -> None:
    assert parse_rules({}) == ContactRules()
    assert parse_rules(None) == ContactRules()


def test_rules_set_hours_days_off_caps_and_reminder_timing() -> None:
    rules = parse_rules(
        {
            "hours": {"fri": None, "sat": "18:00-22:00", "sun": "08:00-24:00"},
            "holidays": False,
            "closed_dates": ["2026-12-25"],
            "max_touches": 2,
            "cap_window": "14d",
            "remind_after": "4h",
            "expire_after": "2d",
        }
    )

    assert rules.week[4] is None
    assert rules.week[5] == (time(18, 0), time(22, 0))
    assert rules.week[6] == (time(8, 0), time(23, 59, 59))
    assert rules.holidays is False and rules.closed_dates == frozenset({date(2026, 12, 25)})
    assert (rules.max_touches, rules.cap_window) == (2, timedelta(days=14))
    assert (rules.remind_after, rules.expire_after) == (timedelta(hours=4), timedelta(days=2))


def test_rules_with_no_hours_on_any_day_are_refused() -> None:
    with pytest.raises(RulesError) as raised:
        parse_rules({"hours": dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))})

    assert raised.value.problems == [
        "hours: at least one day needs hours, or no one could be contacted"
    ]


def test_every_bad_rule_is_named_by_its_path() -> None:
    with pytest.raises(RulesError) as raised:
        parse_rules(
            {
                "hours": {"fri": "13:00-09:00", "someday": "09:00-10:00"},
                "closed_dates": ["tomorrow"],
                "max_touches": -1,
                "cap_window": "a while",
                "colour": "red",
            }
        )

    assert raised.value.problems == [
        "rules: unknown keys colour",
        "hours.fri: must be hours such as 09:00-20:00, or null for none",
        "hours.someday: not a day; use mon, tue, wed, thu, fri, sat, sun",
        "closed_dates[0]: must be a date such as 2026-12-25",
        "cap_window: must be a duration such as 12h, 3d or 2w",
        "max_touches: must be a whole number from 0 to 100",
    ]


def test_a_cadence_counts_from_the_last_touch_and_numbers_its_occurrences() -> None:
    schedule = parse_schedule({"name": "w", "flow": "checkin", "when": {"every": "7d"}})
    touched = NOW - timedelta(days=2)

    touch = plan_touch(
        schedule,
        CustomerTimes(last_touch=touched),
        start_of=NOW - timedelta(days=30),
        now=NOW,
        occurrences=3,
        rules=ContactRules(),
    )

    assert touch is not None
    assert (touch.occurrence, touch.due, touch.send_at, touch.moved) == (
        "4",
        touched + timedelta(days=7),
        touched + timedelta(days=7),
        False,
    )


def test_a_renewal_touch_is_named_by_its_date_and_moved_off_shabbat() -> None:
    schedule = parse_schedule(
        {"name": "r", "flow": "nps", "when": {"before_date": "renewal", "days": 1}}
    )

    touch = plan_touch(
        schedule,
        CustomerTimes(dates={"renewal": date(2026, 11, 29)}),  # the day before is Saturday
        start_of=NOW,
        now=NOW,
        occurrences=0,
        rules=ContactRules(),
    )

    assert touch is not None
    assert touch.occurrence == "2026-11-29" and touch.moved
    assert touch.send_at == datetime(2026, 11, 29, 9, 0, tzinfo=ISRAEL)


def test_a_campaign_long_past_is_not_sent_late_and_after_event_waits_for_events() -> None:
    past = parse_schedule(
        {"name": "p", "flow": "csat", "when": {"at": "2026-11-01T10:00:00+02:00"}}
    )
    after = parse_schedule(
        {"name": "a", "flow": "csat", "when": {"after_event": "purchase", "delay": "1d"}}
    )

    for schedule in (past, after):
        assert (
            plan_touch(
                schedule,
                CustomerTimes(),
                start_of=NOW,
                now=NOW,
                occurrences=0,
                rules=ContactRules(),
            )
            is None
        )
