"""Which alerts an agent gets, by which media and when: the pure choices with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from flows.staff_alerts import (
    AlertEvent,
    AlertPreferences,
    Medium,
    OffHours,
    PreferencesError,
    WorkingHours,
    parse_preferences,
)

ZONE = "Asia/Jerusalem"  # UTC+2 in December
# Thursday 3 December 2026 17:59 and 18:00 in Israel; Friday the 4th at 10:00; Sunday the 6th 09:00.
THURSDAY_LATE = datetime(2026, 12, 3, 15, 59, tzinfo=UTC)
THURSDAY_CLOSED = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)
FRIDAY = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
SUNDAY_OPEN = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)

EVERY = frozenset({Medium.EMAIL, Medium.WHATSAPP, Medium.TELEGRAM, Medium.BROWSER})


def _working(off: OffHours) -> AlertPreferences:
    return AlertPreferences(
        media={AlertEvent.NEW_HANDOFF: EVERY, AlertEvent.SLA_WARNING: frozenset()},
        hours=WorkingHours(),
        off_hours=off,
    )


@pytest.mark.parametrize(
    ("now", "inside"),
    [(THURSDAY_LATE, True), (THURSDAY_CLOSED, False), (FRIDAY, False), (SUNDAY_OPEN, True)],
)
def test_working_hours_are_the_israeli_week_from_sunday_in_the_business_timezone(
    now: datetime, inside: bool
) -> None:
    assert WorkingHours().contains(now, ZONE) is inside


def test_outside_working_hours_an_alert_goes_by_email_or_not_at_all() -> None:
    assert _working(OffHours.EMAIL).media_for(
        AlertEvent.NEW_HANDOFF, now=FRIDAY, timezone=ZONE
    ) == {Medium.EMAIL}
    assert (
        _working(OffHours.NONE).media_for(AlertEvent.NEW_HANDOFF, now=FRIDAY, timezone=ZONE)
        == set()
    )
    inside = _working(OffHours.NONE).media_for(
        AlertEvent.NEW_HANDOFF, now=SUNDAY_OPEN, timezone=ZONE
    )
    assert inside == EVERY
    # An event not wanted at all is not sent by e-mail off hours either.
    unwanted = _working(OffHours.EMAIL).media_for(AlertEvent.SLA_WARNING, now=FRIDAY, timezone=ZONE)
    assert unwanted == set()


def test_without_preferences_telegram_and_the_browser_tell_of_handoffs_at_any_hour() -> None:
    chosen = parse_preferences(None)
    assert chosen.media_for(AlertEvent.NEW_HANDOFF, now=FRIDAY, timezone=ZONE) == {
        Medium.TELEGRAM,
        Medium.BROWSER,
    }
    assert chosen.media_for(AlertEvent.NEW_CONVERSATION, now=FRIDAY, timezone=ZONE) == set()


def test_preferences_read_back_what_they_store() -> None:
    given = {
        "events": {"new_handoff": ["email", "whatsapp"], "new_conversation": ["browser"]},
        "hours": {"days": [0, 1, 6], "from": "07:30", "to": "22:00"},
        "off_hours": "email",
        "whatsapp": "+972 50-111-2233",
    }
    chosen = parse_preferences(given)
    assert chosen.hours == WorkingHours(days=frozenset({0, 1, 6}), start=time(7, 30), end=time(22))
    assert chosen.whatsapp == "+972501112233"
    assert parse_preferences(chosen.settings()) == chosen
    assert chosen.settings()["events"]["sla_warning"] == ["browser", "telegram"]  # the default


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ([], "alerts"),
        ({"events": {"new_handoff": ["sms"]}}, "events.new_handoff"),
        ({"events": {"lunch": []}}, "events"),
        ({"events": {"new_handoff": "email"}}, "events.new_handoff"),
        ({"hours": {"days": [], "from": "09:00", "to": "18:00"}}, "hours.days"),
        ({"hours": {"days": [7]}}, "hours.days"),
        ({"hours": {"from": "9am"}}, "hours.from"),
        ({"hours": {"from": "18:00", "to": "09:00"}}, "hours.to"),
        ({"off_hours": "pager"}, "off_hours"),
        ({"whatsapp": "0501234567"}, "whatsapp"),
        ({"whatsapp": 972501234567}, "whatsapp"),
    ],
)
def test_preferences_that_cannot_be_kept_name_their_field(given: object, field: str) -> None:
    with pytest.raises(PreferencesError, match=f"^{field}:"):
        parse_preferences(given)
