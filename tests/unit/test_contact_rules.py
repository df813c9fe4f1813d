"""Contact rules with a fixed clock: quiet hours, Shabbat, holidays, DST, the cap, no nagging."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from flows.contact import (
    ContactRules,
    CustomerFacts,
    Skip,
    allowed_days,
    is_holiday,
    may_contact,
    may_reach_out,
    next_allowed,
    next_allowed_on,
)

ISRAEL = ZoneInfo("Asia/Jerusalem")
RULES = ContactRules()


def _local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ISRAEL)


def _next(moment: datetime, rules: ContactRules = RULES) -> datetime:
    return next_allowed(moment, rules, timezone="Asia/Jerusalem")


@pytest.mark.parametrize(
    ("planned", "moved_to"),
    [
        # Tuesday mid-morning is allowed as it is.
        (_local(2026, 3, 3, 10, 15), _local(2026, 3, 3, 10, 15)),
        # Too early: the same morning at nine.
        (_local(2026, 3, 3, 6, 0), _local(2026, 3, 3, 9, 0)),
        # Late evening: the next morning.
        (_local(2026, 3, 3, 21, 30), _local(2026, 3, 4, 9, 0)),
        (_local(2026, 3, 3, 20, 0), _local(2026, 3, 4, 9, 0)),
        # Friday afternoon: Shabbat, so Sunday morning.
        (_local(2026, 3, 6, 14, 0), _local(2026, 3, 8, 9, 0)),
        (_local(2026, 3, 6, 12, 59), _local(2026, 3, 6, 12, 59)),
        # Saturday: Sunday morning.
        (_local(2026, 3, 7, 11, 0), _local(2026, 3, 8, 9, 0)),
        # Thursday night: Friday's short morning.
        (_local(2026, 3, 5, 22, 0), _local(2026, 3, 6, 9, 0)),
    ],
)
def test_a_touch_in_quiet_time_moves_to_the_next_allowed_slot(
    planned: datetime, moved_to: datetime
) -> None:
    assert _next(planned) == moved_to


def test_yom_kippur_moves_a_touch_to_the_day_after() -> None:
    assert _next(_local(2026, 9, 21, 10, 0)) == _local(2026, 9, 22, 9, 0)
    assert _next(_local(2025, 10, 2, 10, 0)) == _local(2025, 10, 3, 9, 0)


def test_the_eve_of_a_holiday_closes_at_one_like_a_friday() -> None:
    assert _next(_local(2026, 9, 20, 12, 0)) == _local(2026, 9, 20, 12, 0)
    assert _next(_local(2026, 9, 20, 15, 0)) == _local(2026, 9, 22, 9, 0)


def test_rosh_hashana_next_to_shabbat_closes_three_days_in_a_row() -> None:
    assert _next(_local(2026, 9, 11, 14, 0)) == _local(2026, 9, 14, 9, 0)


def test_pesach_eve_afternoon_waits_for_the_morning_after_the_holiday() -> None:
    assert _next(_local(2026, 4, 1, 14, 0)) == _local(2026, 4, 3, 9, 0)


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 9, 12),  # Rosh Hashana
        date(2026, 9, 21),  # Yom Kippur
        date(2026, 9, 26),  # Sukkot
        date(2026, 4, 2),  # Pesach
        date(2026, 5, 22),  # Shavuot
        date(2026, 4, 22),  # Independence Day
    ],
)
def test_the_israeli_holidays_come_from_the_calendar(day: date) -> None:
    assert is_holiday(day, RULES)


def test_spring_forward_friday_opens_at_nine_on_the_new_clock() -> None:
    # Israel moved to summer time at 02:00 on Friday 27 March 2026.
    moved = _next(_local(2026, 3, 26, 22, 0))

    assert moved == _local(2026, 3, 27, 9, 0)
    assert moved.utcoffset() == timedelta(hours=3)
    assert moved.astimezone(UTC) == datetime(2026, 3, 27, 6, 0, tzinfo=UTC)


def test_fall_back_sunday_opens_at_nine_on_the_winter_clock() -> None:
    # Summer time ended at 02:00 on Sunday 25 October 2026.
    moved = _next(_local(2026, 10, 24, 12, 0))

    assert moved.astimezone(UTC) == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    assert moved.utcoffset() == timedelta(hours=2)


def test_an_opening_time_inside_the_missing_hour_is_read_on_the_old_clock() -> None:
    week = list(RULES.week)
    week[4] = (time(2, 30), time(13, 0))
    rules = ContactRules(week=tuple(week))

    moved = _next(_local(2026, 3, 27, 0, 0), rules)

    assert moved.astimezone(UTC) == datetime(2026, 3, 27, 0, 30, tzinfo=UTC)
    assert (moved.hour, moved.minute) == (3, 30)


def test_a_utc_moment_is_judged_in_the_customers_timezone() -> None:
    moved = next_allowed(datetime(2026, 3, 8, 6, 30, tzinfo=UTC), RULES, timezone="Asia/Jerusalem")
    assert moved == _local(2026, 3, 8, 9, 0)
    in_new_york = next_allowed(
        datetime(2026, 3, 8, 6, 30, tzinfo=UTC), RULES, timezone="America/New_York"
    )
    assert in_new_york == datetime(2026, 3, 8, 9, 0, tzinfo=ZoneInfo("America/New_York"))


def test_a_business_may_open_on_saturday_evening_and_ignore_holiday_eves() -> None:
    week = list(RULES.week)
    week[5] = (time(20, 0), time(22, 0))
    rules = ContactRules(
        week=tuple(week), holiday_eve_closes=None, closed_dates=frozenset({date(2026, 3, 8)})
    )

    assert _next(_local(2026, 3, 7, 11, 0), rules) == _local(2026, 3, 7, 20, 0)
    assert _next(_local(2026, 3, 7, 22, 0), rules) == _local(2026, 3, 9, 9, 0)
    assert _next(_local(2026, 9, 20, 15, 0), rules) == _local(2026, 9, 20, 15, 0)


def test_rules_that_never_allow_a_touch_say_so() -> None:
    with pytest.raises(ValueError, match="no allowed time"):
        _next(_local(2026, 3, 3, 10, 0), ContactRules(week=(None,) * 7))


def test_a_window_that_closes_before_it_opens_is_refused() -> None:
    with pytest.raises(ValueError, match="opens after it closes"):
        ContactRules(week=((time(20, 0), time(9, 0)),) * 7)


NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_one_touch_in_the_last_seven_days_caps_the_next_until_a_week_has_passed() -> None:
    touched = NOW - timedelta(days=3)

    verdict = may_contact(NOW, [touched], rules=RULES)

    assert not verdict
    assert verdict.reason is Skip.FREQUENCY_CAP
    assert verdict.retry_at == touched + timedelta(days=7)
    assert may_contact(NOW, [NOW - timedelta(days=7)], rules=RULES)
    assert may_contact(NOW, [], rules=RULES).allowed


def test_the_cap_counts_the_touches_a_business_allows_per_window() -> None:
    rules = ContactRules(max_touches=2, cap_window=timedelta(days=30))
    touches = [NOW - timedelta(days=20), NOW - timedelta(days=5), NOW - timedelta(days=40)]

    assert may_contact(NOW, touches[:1], rules=rules)
    verdict = may_contact(NOW, touches, rules=rules)
    assert verdict.reason is Skip.FREQUENCY_CAP
    assert verdict.retry_at == NOW + timedelta(days=10)


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (CustomerFacts(opted_out=True), Skip.OPTED_OUT),
        (CustomerFacts(reachable=False), Skip.UNREACHABLE),
        (CustomerFacts(handoff_open=True), Skip.HANDOFF_OPEN),
        (CustomerFacts(run_active=True), Skip.RUN_ACTIVE),
        (CustomerFacts(last_complaint=NOW - timedelta(days=2)), Skip.RECENT_COMPLAINT),
        (CustomerFacts(last_answered=NOW - timedelta(days=13)), Skip.RECENTLY_ANSWERED),
        (CustomerFacts(recent_touches=(NOW - timedelta(days=1),)), Skip.FREQUENCY_CAP),
        (CustomerFacts(opted_out=True, run_active=True), Skip.OPTED_OUT),
    ],
)
def test_a_touch_is_skipped_for_the_reason_that_lasts_longest(
    facts: CustomerFacts, reason: Skip
) -> None:
    assert may_reach_out(NOW, facts, rules=RULES).reason is reason


def test_a_recent_answer_says_when_asking_again_is_fine() -> None:
    answered = NOW - timedelta(days=13)

    verdict = may_reach_out(NOW, CustomerFacts(last_answered=answered), rules=RULES)

    assert verdict.retry_at == answered + timedelta(days=14)


def test_a_customer_with_nothing_against_a_touch_is_contacted() -> None:
    facts = CustomerFacts(
        recent_touches=(NOW - timedelta(days=8),),
        last_answered=NOW - timedelta(days=15),
        last_complaint=NOW - timedelta(days=30),
    )

    assert may_reach_out(NOW, facts, rules=RULES)


@pytest.mark.parametrize("zone", ["Asia/Jerusalem", "America/New_York", "Pacific/Kiritimati"])
@pytest.mark.parametrize(
    "rules",
    [
        RULES,
        ContactRules(week=((time(0, 0), time(23, 59, 59)),) * 7, holidays=False),
        ContactRules(week=(None, None, None, None, None, None, (time(22, 0), time(23, 0)))),
    ],
    ids=["israeli", "always", "sunday-night"],
)
def test_the_calendar_a_set_based_planner_joins_gives_the_same_times_as_next_allowed(
    zone: str, rules: ContactRules
) -> None:
    # Every 37 minutes through the autumn holidays and the clock change, in three zones.
    first, last = date(2026, 9, 8), date(2026, 11, 8)
    days = {
        (d.timezone, d.day): d for d in allowed_days(rules, timezone=zone, first=first, last=last)
    }
    assert len(days) == (last - first).days + 1
    moment = datetime.combine(first, time(0, 0), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    while moment.astimezone(ZoneInfo(zone)).date() < last:
        day = days[(zone, moment.astimezone(ZoneInfo(zone)).date())]
        # In UTC: a wall time in the hour repeated at fall-back never equals another zone's.
        expected = next_allowed(moment, rules, timezone=zone).astimezone(UTC)
        assert next_allowed_on(moment, day) == expected, moment
        moment += timedelta(minutes=37)


def test_a_calendar_day_with_nothing_allowed_for_weeks_has_no_next_opening() -> None:
    rules = ContactRules(week=(None,) * 7)
    (day,) = allowed_days(
        rules, timezone="Asia/Jerusalem", first=date(2026, 3, 3), last=date(2026, 3, 3)
    )
    assert (day.opens, day.closes, day.next_opens) == (None, None, None)
