"""Opening hours: the Israeli week from Sunday in the business's timezone, read, told and kept."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from flows.opening_hours import (
    HoursError,
    describe,
    is_open,
    next_opening,
    parse_hours,
    stored,
)

ISRAEL = ZoneInfo("Asia/Jerusalem")
TZ = "Asia/Jerusalem"


def test_the_default_is_sunday_to_thursday_nine_to_six() -> None:
    hours = parse_hours({})

    assert describe(hours, "en") == "Sun–Thu 09:00–18:00"
    assert describe(hours, "he") == "א׳–ה׳ 09:00-18:00"
    assert stored(hours)["fri"] is None and stored(hours)["sun"] == "09:00-18:00"


def test_runs_of_days_with_the_same_hours_are_told_together() -> None:
    hours = parse_hours(
        {"sun": "08:00-17:00", "mon": "08:00-17:00", "tue": "10:00-19:00", "fri": "09:00-13:00"}
    )

    assert describe(hours, "en") == "Sun–Mon 08:00–17:00, Tue 10:00–19:00, Fri 09:00–13:00"
    assert describe(parse_hours({"sat": None, "sun": ""}), "en") == "no opening hours are set"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 12, 6, 9, 0, tzinfo=ISRAEL), True),  # Sunday 09:00
        (datetime(2026, 12, 6, 17, 59, tzinfo=ISRAEL), True),
        (datetime(2026, 12, 6, 18, 0, tzinfo=ISRAEL), False),
        (datetime(2026, 12, 11, 10, 0, tzinfo=ISRAEL), False),  # Friday
        (datetime(2026, 12, 12, 10, 0, tzinfo=ISRAEL), False),  # Saturday
    ],
)
def test_open_is_read_in_the_business_s_timezone(moment: datetime, expected: bool) -> None:
    assert is_open(moment, parse_hours({}), timezone=TZ) is expected


def test_after_thursday_evening_the_team_is_next_in_on_sunday_morning() -> None:
    thursday_night = datetime(2026, 12, 10, 20, 0, tzinfo=ISRAEL)

    opens = next_opening(thursday_night, parse_hours({}), timezone=TZ)

    assert opens == datetime(2026, 12, 13, 9, 0, tzinfo=ISRAEL)
    assert next_opening(thursday_night, parse_hours({"sat": None}), timezone=TZ) is None


@pytest.mark.parametrize(
    ("raw", "day"),
    [
        ({"sun": "9-18"}, "sun"),
        ({"mon": "18:00-09:00"}, "mon"),
        ({"tue": "25:00-26:00"}, "tue"),
        ({"funday": "09:00-10:00"}, "funday"),
        ({"wed": 9}, "wed"),
    ],
)
def test_hours_that_cannot_be_read_name_the_day(raw: dict[str, object], day: str) -> None:
    with pytest.raises(HoursError, match=day):
        parse_hours(raw)
