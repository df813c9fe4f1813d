"""Schedules as data: when to reach out, to whom, with which flow; validated with clear errors.

A schedule comes from the REST API or a YAML file a business keeps in git. `parse_schedule`
checks it and names the exact path of every problem; `describe` says it in plain Hebrew or
English for the console; `next_due` says when one customer is next due. Time is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from flows.contact import ContactRules, next_allowed, parse_duration
from flows.text import Text

FLOWS = ("checkin", "nps", "csat")
CHANNELS = ("sandbox", "telegram", "whatsapp")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DATE_TOUCH_TIME = time(10, 0)
LATE = timedelta(days=1)
"""A date or campaign touch more than this late is not made at all."""


class ScheduleError(ValueError):
    """Every problem in one definition, each as 'path: what is wrong'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Segment:
    """Who a schedule is for; an empty segment is everyone."""

    tags: tuple[str, ...] = ()
    language: str | None = None
    channel: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)

    def matches(
        self,
        *,
        tags: frozenset[str],
        language: str,
        channels: frozenset[str],
        attributes: Mapping[str, Any],
    ) -> bool:
        return (
            all(tag in tags for tag in self.tags)
            and (self.language is None or self.language == language)
            and (self.channel is None or self.channel in channels)
            and all(str(attributes.get(k)) == v for k, v in self.attributes.items())
        )


@dataclass(frozen=True, slots=True)
class Every:
    """Every `period` since the customer's last check-in (or last conversation)."""

    period: timedelta


@dataclass(frozen=True, slots=True)
class AfterEvent:
    event: str
    delay: timedelta


@dataclass(frozen=True, slots=True)
class BeforeDate:
    """`days` before the date in a customer attribute (a renewal, a birthday)."""

    attribute: str
    days: int


@dataclass(frozen=True, slots=True)
class Once:
    at: datetime


When = Every | AfterEvent | BeforeDate | Once


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    flow: str
    when: When
    segment: Segment = field(default_factory=Segment)
    active: bool = True
    priority: int = 0


@dataclass(frozen=True, slots=True)
class CustomerTimes:
    """The facts about one customer that decide when a schedule is due for them."""

    last_touch: datetime | None = None
    events: Mapping[str, datetime] = field(default_factory=dict)
    dates: Mapping[str, date] = field(default_factory=dict)
    timezone: str = "Asia/Jerusalem"


def _segment(raw: object, problems: list[str]) -> Segment:
    if raw is None:
        return Segment()
    if not isinstance(raw, Mapping):
        problems.append("segment: must be a mapping of tags, language, channel, attributes")
        return Segment()
    unknown = sorted(set(raw) - {"tags", "language", "channel", "attributes"})
    if unknown:
        problems.append(f"segment: unknown keys {', '.join(map(str, unknown))}")
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        problems.append("segment.tags: must be a list of words")
        tags = []
    language = raw.get("language")
    if language is not None and language not in ("he", "en"):
        problems.append("segment.language: must be he or en")
    channel = raw.get("channel")
    if channel is not None and channel not in CHANNELS:
        problems.append(f"segment.channel: must be one of {', '.join(CHANNELS)}")
    attributes = raw.get("attributes", {})
    if not isinstance(attributes, Mapping):
        problems.append("segment.attributes: must be a mapping of name: value")
        attributes = {}
    return Segment(
        tags=tuple(tags),
        language=language if isinstance(language, str) else None,
        channel=channel if isinstance(channel, str) else None,
        attributes={str(k): str(v) for k, v in attributes.items()},
    )


def _when(raw: object, problems: list[str]) -> When:
    if not isinstance(raw, Mapping):
        problems.append("when: must say every, after_event, before_date or at")
        return Every(timedelta(days=1))
    kinds = [kind for kind in ("every", "after_event", "before_date", "at") if kind in raw]
    if len(kinds) > 1:
        problems.append(
            f"when: one of every, after_event, before_date or at, not {' and '.join(kinds)}"
        )
    if "every" in raw:
        return Every(parse_duration(raw["every"], "when.every", problems))
    if "after_event" in raw:
        event = raw["after_event"]
        if not isinstance(event, str) or not _NAME.match(event):
            problems.append("when.after_event: must be an event type such as purchase")
        return AfterEvent(str(event), parse_duration(raw.get("delay"), "when.delay", problems))
    if "before_date" in raw:
        days = raw.get("days")
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 365:
            problems.append("when.days: must be a whole number of days from 0 to 365")
            days = 0
        return BeforeDate(str(raw["before_date"]), days)
    if "at" in raw:
        return _once(raw, problems)
    problems.append("when: must say every, after_event, before_date or at")
    return Every(timedelta(days=1))


FIRST_YEAR, LAST_YEAR = 2000, 2999


def _once(raw: Mapping[str, Any], problems: list[str]) -> Once:
    """`at` with its offset, or a local `at` with the `timezone` it is read in."""
    zone = raw.get("timezone")
    if zone is not None and (not isinstance(zone, str) or zone not in available_timezones()):
        problems.append(
            f"when.timezone: unknown timezone {zone!r}; use a name such as Asia/Jerusalem"
        )
        zone = None
    try:
        at = (
            raw["at"] if isinstance(raw["at"], datetime) else datetime.fromisoformat(str(raw["at"]))
        )
    except ValueError:
        at = None
    if at is not None and at.tzinfo is None and isinstance(zone, str):
        at = at.replace(tzinfo=ZoneInfo(zone))
    if at is None or at.tzinfo is None:
        problems.append(
            "when.at: must be a date and time with its offset, e.g. 2026-12-01T10:00:00+02:00,"
            " or a local time with when.timezone"
        )
        return Once(datetime.fromtimestamp(0).astimezone())
    if not FIRST_YEAR <= at.year <= LAST_YEAR:
        # Hours are looked up days ahead of a touch: the calendar's last days have none.
        problems.append(f"when.at: must be in the years {FIRST_YEAR} to {LAST_YEAR}")
    return Once(at)


def parse_schedule(raw: object, *, custom_flows: frozenset[str] = frozenset()) -> Schedule:
    """A checked schedule, or ScheduleError naming every problem by its path."""
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        raise ScheduleError(["schedule: must be a mapping"])
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append("name: 1 to 63 lowercase letters, digits, '-' or '_'")
    flow = raw.get("flow")
    allowed = (*FLOWS, *(f"custom:{c}" for c in sorted(custom_flows)))
    if flow not in allowed:
        problems.append(f"flow: must be one of {', '.join(allowed)}")
    unknown = sorted(set(raw) - {"name", "flow", "when", "segment", "active", "priority"})
    if unknown:
        problems.append(f"schedule: unknown keys {', '.join(map(str, unknown))}")
    active = raw.get("active", True)
    if not isinstance(active, bool):
        problems.append("active: must be true or false")
    priority = raw.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 100:
        problems.append("priority: must be a whole number from 0 to 100 (higher goes first)")
        priority = 0
    when = _when(raw.get("when"), problems)
    segment = _segment(raw.get("segment"), problems)
    if problems:
        raise ScheduleError(problems)
    return Schedule(str(name), str(flow), when, segment, bool(active), priority)


EVERY = Text(he="כל {span} מאז הפנייה האחרונה", en="every {span} since the last touch")
EVERY_DAY = Text(he="כל יום מאז הפנייה האחרונה", en="every day since the last touch")
AFTER = Text(he="{delay} אחרי כל {event}", en="{delay} after every {event}")
BEFORE = Text(he="{n} ימים לפני {attribute}", en="{n} days before {attribute}")
ONCE = Text(he="פעם אחת, ב־{at}", en="once, on {at}")
HOURS = Text(he="{n} שעות", en="{n} hours")
MINUTES = Text(he="{n} דקות", en="{n} minutes")
DAYS = Text(he="{n} ימים", en="{n} days")
EVENTS = {
    "purchase": Text(he="רכישה", en="purchase"),
    "ticket_closed": Text(he="סגירת פנייה", en="closed ticket"),
    "signup": Text(he="הרשמה", en="signup"),
}


def _span(delta: timedelta, language: str) -> str:
    if delta % timedelta(days=1) == timedelta(0):
        return DAYS.render(language, n=str(delta.days))
    if delta % timedelta(hours=1) == timedelta(0):
        return HOURS.render(language, n=str(int(delta.total_seconds() // 3600)))
    return MINUTES.render(language, n=str(int(delta.total_seconds() // 60)))


def describe(schedule: Schedule, language: str) -> str:
    """Plain words for the console: '3 days after every purchase', '3 ימים אחרי כל רכישה'."""
    when = schedule.when
    if isinstance(when, Every):
        if when.period == timedelta(days=1):
            return EVERY_DAY.render(language)
        return EVERY.render(language, span=_span(when.period, language))
    if isinstance(when, AfterEvent):
        event = EVENTS.get(when.event)
        return AFTER.render(
            language,
            delay=_span(when.delay, language),
            event=event.render(language) if event else when.event,
        )
    if isinstance(when, BeforeDate):
        return BEFORE.render(language, n=str(when.days), attribute=when.attribute)
    return ONCE.render(language, at=when.at.strftime("%Y-%m-%d %H:%M"))


def next_due(schedule: Schedule, times: CustomerTimes, *, start_of: datetime) -> datetime | None:
    """When this customer is next due (before contact rules move it); None if never.

    `start_of` is when the schedule took effect: a cadence counts from it for customers never
    touched, so a new schedule does not message everyone at once on its first minute.
    """
    when = schedule.when
    if isinstance(when, Every):
        return (times.last_touch or start_of) + when.period
    if isinstance(when, AfterEvent):
        happened = times.events.get(when.event)
        return happened + when.delay if happened is not None else None
    if isinstance(when, BeforeDate):
        day = times.dates.get(when.attribute)
        if day is None:
            return None
        target = day - timedelta(days=when.days)
        return datetime.combine(target, DATE_TOUCH_TIME, tzinfo=ZoneInfo(times.timezone))
    return when.at


@dataclass(frozen=True, slots=True)
class Touch:
    """One planned touch: the occurrence it stands for, when it was due and when to send it."""

    occurrence: str
    due: datetime
    send_at: datetime
    moved: bool


def plan_touch(
    schedule: Schedule,
    times: CustomerTimes,
    *,
    start_of: datetime,
    now: datetime,
    occurrences: int,
    rules: ContactRules,
) -> Touch | None:
    """The customer's next touch by this schedule, moved out of quiet time; None if none.

    Touches after an event are planned when the event is posted, not here. A cadence names
    its occurrences 1, 2, 3 …; a date touch by the date; a campaign is 'once'.
    """
    when = schedule.when
    if isinstance(when, AfterEvent):
        return None
    due = next_due(schedule, times, start_of=start_of)
    if due is None or (not isinstance(when, Every) and due < now - LATE):
        return None
    if isinstance(when, Every):
        occurrence = str(occurrences + 1)
    elif isinstance(when, BeforeDate):
        occurrence = times.dates[when.attribute].isoformat()
    else:
        occurrence = "once"
    return touch_at(occurrence, due, now=now, rules=rules, timezone=times.timezone)


def touch_at(
    occurrence: str, due: datetime, *, now: datetime, rules: ContactRules, timezone: str
) -> Touch:
    """A touch due at `due` (or now, if that has passed), moved to the customer's next allowed time."""
    earliest = max(due, now)
    send_at = next_allowed(earliest, rules, timezone=timezone)
    return Touch(occurrence, due, send_at, moved=send_at > earliest)


def dates_in(attributes: Mapping[str, Any]) -> dict[str, date]:
    """The attributes that hold a date ('2026-12-31'), as dates."""
    found = {}
    for name, value in attributes.items():
        if isinstance(value, str) and len(value) == 10:
            try:
                found[name] = date.fromisoformat(value)
            except ValueError:
                continue
    return found
