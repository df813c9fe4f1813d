"""A business's opening hours: when a person from the team answers the inbox.

A week from Sunday (the Israeli week), each day closed or open between two local times, in the
business's timezone. Stored as `{"sun": "09:00-18:00", ..., "fri": null}`; an empty setting is
the default, Sunday to Thursday 09:00-18:00. Pure: the moment and the timezone are passed in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flows.text import Text

# The Israeli week: Sunday first.
WEEK = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_WEEKDAY = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")
DEFAULT = {day: ("09:00-18:00" if day in WEEK[:5] else None) for day in WEEK}

_SHORT_DAYS = {
    "he": {
        "sun": "א׳",
        "mon": "ב׳",
        "tue": "ג׳",
        "wed": "ד׳",
        "thu": "ה׳",
        "fri": "ו׳",
        "sat": "שבת",
    },
    "en": {
        "sun": "Sun",
        "mon": "Mon",
        "tue": "Tue",
        "wed": "Wed",
        "thu": "Thu",
        "fri": "Fri",
        "sat": "Sat",
    },
}
_NEVER = Text(he="אין כרגע שעות פעילות", en="no opening hours are set")

Span = tuple[time, time]


class HoursError(ValueError):
    """Opening hours that cannot be read; the message names the day."""


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Each day of the week (Sunday first) closed (None) or open from one time to another."""

    days: tuple[Span | None, ...]

    def on(self, day: str) -> Span | None:
        return self.days[WEEK.index(day)]


def _span(day: str, raw: object) -> Span | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    found = _SPAN.match(raw) if isinstance(raw, str) else None
    if found is not None:
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        if h1 < 24 and m1 < 60 and m2 < 60 and (h2 < 24 or (h2, m2) == (24, 0)):
            opens = time(h1, m1)
            closes = time(23, 59, 59) if h2 == 24 else time(h2, m2)
            if opens < closes:
                return opens, closes
    raise HoursError(f"{day}: must be hours such as 09:00-18:00, or empty when closed")


def parse_hours(raw: Mapping[str, object] | None) -> OpeningHours:
    """The stored setting (an empty one is the default week); HoursError names a bad day."""
    source: Mapping[str, object] = raw or DEFAULT
    unknown = sorted(set(source) - set(WEEK))
    if unknown:
        raise HoursError(f"{unknown[0]}: not a day (sun, mon, tue, wed, thu, fri, sat)")
    return OpeningHours(tuple(_span(day, source.get(day)) for day in WEEK))


def stored(hours: OpeningHours) -> dict[str, str | None]:
    """The setting as it is kept: each day's 'HH:MM-HH:MM', or None when closed."""
    return {day: _clock(span) if span else None for day, span in zip(WEEK, hours.days, strict=True)}


def _clock(span: Span) -> str:
    closes = "24:00" if span[1] == time(23, 59, 59) else span[1].strftime("%H:%M")
    return f"{span[0].strftime('%H:%M')}-{closes}"


def _day_of(moment: datetime) -> str:
    return WEEK[(moment.weekday() + 1) % 7]


def is_open(now: datetime, hours: OpeningHours, *, timezone: str) -> bool:
    local = now.astimezone(ZoneInfo(timezone))
    span = hours.on(_day_of(local))
    return span is not None and span[0] <= local.time() < span[1]


def next_opening(now: datetime, hours: OpeningHours, *, timezone: str) -> datetime | None:
    """When the team is next in (now, if open); None when no day of the week is open."""
    if is_open(now, hours, timezone=timezone):
        return now
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    for ahead in range(8):
        day = local.date() + timedelta(days=ahead)
        span = hours.on(WEEK[(day.weekday() + 1) % 7])
        if span is None:
            continue
        opens = datetime.combine(day, span[0], tzinfo=zone)
        if opens > now:
            return opens
    return None


def describe(hours: OpeningHours, language: str) -> str:
    """'Sun–Thu 09:00–18:00, Fri 09:00–13:00' ('א׳–ה׳ 09:00-18:00'): runs of days with the
    same hours, Sunday first."""
    names = _SHORT_DAYS["he" if language == "he" else "en"]
    runs: list[tuple[str, str, Span]] = []
    for day, span in zip(WEEK, hours.days, strict=True):
        if span is None:
            continue
        last = runs[-1] if runs else None
        if last is not None and last[2] == span and WEEK.index(last[1]) == WEEK.index(day) - 1:
            runs[-1] = (last[0], day, span)
        else:
            runs.append((day, day, span))
    if not runs:
        return _NEVER.render(language)
    # In right-to-left text an en dash between two times turns them around; a hyphen keeps
    # "09:00-18:00" in reading order.
    dash = "-" if language == "he" else "–"
    parts = []
    for first, last_day, span in runs:
        days = names[first] if first == last_day else f"{names[first]}–{names[last_day]}"
        parts.append(f"{days} {_clock(span).replace('-', dash)}")
    return ", ".join(parts)
