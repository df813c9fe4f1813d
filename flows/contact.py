"""Contact rules for every automated touch: quiet hours, Shabbat and holidays, a frequency cap, no nagging.

All pure: the moment, the customer's timezone and the facts about them are passed in.
`next_allowed` moves a planned touch out of quiet time; `may_contact` applies the frequency
cap; `may_reach_out` applies every rule that can skip a touch and says which one did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

Window = tuple[time, time] | None
"""Allowed local hours of one day, from the first (included) to the second (excluded)."""

WORKDAY = (time(9, 0), time(20, 0))
ISRAELI_WEEK: tuple[Window, ...] = (
    WORKDAY,  # Monday
    WORKDAY,
    WORKDAY,
    WORKDAY,  # Thursday
    (time(9, 0), time(13, 0)),  # Friday: Shabbat begins in the afternoon
    None,  # Saturday
    WORKDAY,  # Sunday
)
# Long enough to get past the Tishrei holidays with a closed week around them.
_SEARCH_DAYS = 60
_DURATION = re.compile(r"^\s*(\d{1,4})\s*([mhdw])\s*$")
_UNITS = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class ContactRules:
    """One business's rules; the defaults are an Israeli week.

    `week` is Monday to Sunday (None: no touches that day). Holidays are the public ones of
    `holiday_country` (a holiday starts at sunset on its eve, so the day before closes at
    `holiday_eve_closes`, None to leave it as the week says). `closed_dates` adds the
    business's own days. At most `max_touches` automated touches per `cap_window`; none while
    a run is active or a handoff is open, nor within `rest_after_answer` of the last answered
    survey or `rest_after_complaint` of the last complaint.
    """

    week: tuple[Window, ...] = ISRAELI_WEEK
    holidays: bool = True
    holiday_country: str = "IL"
    holiday_categories: tuple[str, ...] = ("public",)
    holiday_eve_closes: time | None = time(13, 0)
    closed_dates: frozenset[date] = frozenset()
    max_touches: int = 1
    cap_window: timedelta = timedelta(days=7)
    rest_after_answer: timedelta = timedelta(days=14)
    rest_after_complaint: timedelta = timedelta(days=14)
    remind_after: timedelta = timedelta(hours=24)
    expire_after: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError("week: must have 7 days, Monday first")
        for window in self.week:
            if window is not None and not window[0] < window[1]:
                raise ValueError(f"week: {window[0]}–{window[1]} opens after it closes")
        if self.max_touches < 0 or self.cap_window <= timedelta(0):
            raise ValueError("max_touches must be ≥ 0 and cap_window positive")


@lru_cache(maxsize=256)
def _holidays(country: str, categories: tuple[str, ...], year: int) -> frozenset[date]:
    calendar = holidays.country_holidays(country, years=year, categories=categories)
    return frozenset(calendar.keys())


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    """The library's country codes; listing them takes it a millisecond or two each time."""
    return frozenset(holidays.list_supported_countries())


def is_holiday(day: date, rules: ContactRules) -> bool:
    """A public holiday of the rules' country, or one of the business's closed dates."""
    if day in rules.closed_dates:
        return True
    return rules.holidays and day in _holidays(
        rules.holiday_country, rules.holiday_categories, day.year
    )


def window(day: date, rules: ContactRules) -> Window:
    """The hours touches are allowed on `day` (local), or None for none at all."""
    if is_holiday(day, rules):
        return None
    hours = rules.week[day.weekday()]
    closes = rules.holiday_eve_closes
    if hours is None or closes is None or not is_holiday(day + timedelta(days=1), rules):
        return hours
    return (hours[0], min(hours[1], closes)) if hours[0] < closes else None


def _at(day: date, moment: time, zone: ZoneInfo) -> datetime:
    # A wall time in the spring-forward gap is read on the old clock: 02:30 becomes 03:30.
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def next_allowed(moment: datetime, rules: ContactRules, *, timezone: str) -> datetime:
    """`moment` if touches are allowed then, else the start of the next allowed slot.

    The answer is in the customer's timezone. ValueError when nothing is allowed for weeks.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware")
    zone = ZoneInfo(timezone)
    instant = moment.astimezone(UTC)
    day = instant.astimezone(zone).date()
    for _ in range(_SEARCH_DAYS):
        hours = window(day, rules)
        if hours is not None:
            opens, closes = _at(day, hours[0], zone), _at(day, hours[1], zone)
            if instant < closes:
                return max(instant, opens).astimezone(zone)
        day += timedelta(days=1)
    raise ValueError(f"no allowed time to contact within {_SEARCH_DAYS} days of {moment}")


@dataclass(frozen=True, slots=True)
class AllowedDay:
    """One local day's allowed hours (UTC; None when closed) and the next day's opening.

    For any moment whose local date is `day`, `next_allowed` is the moment itself or `opens`
    when it falls before `closes`, else `next_opens` (None: nothing allowed within the search).
    A set-based planner joins on (timezone, day) with this and gets `next_allowed` exactly.
    """

    timezone: str
    day: date
    opens: datetime | None
    closes: datetime | None
    next_opens: datetime | None


def allowed_days(
    rules: ContactRules, *, timezone: str, first: date, last: date
) -> list[AllowedDay]:
    """`AllowedDay` for every local date from `first` to `last` in `timezone`."""
    zone = ZoneInfo(timezone)
    span = (last - first).days + 1
    slots: list[tuple[datetime, datetime] | None] = []
    for offset in range(span + _SEARCH_DAYS):
        day = first + timedelta(days=offset)
        hours = window(day, rules)
        slots.append(
            None if hours is None else (_at(day, hours[0], zone), _at(day, hours[1], zone))
        )
    found = []
    for offset in range(span):
        later = (s for s in slots[offset + 1 : offset + _SEARCH_DAYS] if s is not None)
        following = next(later, None)
        today = slots[offset]
        found.append(
            AllowedDay(
                timezone=timezone,
                day=first + timedelta(days=offset),
                opens=today[0] if today else None,
                closes=today[1] if today else None,
                next_opens=following[0] if following else None,
            )
        )
    return found


def next_allowed_on(moment: datetime, day: AllowedDay) -> datetime | None:
    """`next_allowed` read from the moment's `AllowedDay`: what the SQL planner computes."""
    if day.opens is not None and day.closes is not None and moment < day.closes:
        return max(moment, day.opens)
    return day.next_opens


def closes_at(moment: datetime, rules: ContactRules, *, timezone: str) -> datetime:
    """When the allowed hours `moment` falls in end (`moment` itself if they are closed)."""
    zone = ZoneInfo(timezone)
    day = moment.astimezone(zone).date()
    hours = window(day, rules)
    if hours is None:
        return moment
    return max(moment, _at(day, hours[1], zone).astimezone(zone))


class Skip(StrEnum):
    """Why a touch is not made."""

    OPTED_OUT = "opted_out"
    UNREACHABLE = "unreachable"
    HANDOFF_OPEN = "handoff_open"
    RUN_ACTIVE = "run_active"
    RECENT_COMPLAINT = "recent_complaint"
    RECENTLY_ANSWERED = "recently_answered"
    FREQUENCY_CAP = "frequency_cap"
    QUIET_HOURS = "quiet_hours"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Go (`reason` None, truthy) or skip for `reason`; `retry_at` when skipping ends by itself."""

    reason: Skip | None = None
    retry_at: datetime | None = None

    @property
    def allowed(self) -> bool:
        return self.reason is None

    def __bool__(self) -> bool:
        return self.reason is None


GO = Verdict()


def may_contact(
    now: datetime, recent_touches: Iterable[datetime], *, rules: ContactRules
) -> Verdict:
    """The frequency cap: fewer than `max_touches` automated touches in the `cap_window` before now."""
    since = now - rules.cap_window
    inside = sorted(t for t in recent_touches if since < t <= now)
    if len(inside) < rules.max_touches:
        return GO
    if rules.max_touches == 0:
        return Verdict(Skip.FREQUENCY_CAP)
    oldest_that_counts = inside[len(inside) - rules.max_touches]
    return Verdict(Skip.FREQUENCY_CAP, oldest_that_counts + rules.cap_window)


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """What is known about one customer when a touch is due."""

    recent_touches: tuple[datetime, ...] = ()
    run_active: bool = False
    last_answered: datetime | None = None
    handoff_open: bool = False
    last_complaint: datetime | None = None
    opted_out: bool = False
    reachable: bool = True


def may_reach_out(now: datetime, facts: CustomerFacts, *, rules: ContactRules) -> Verdict:
    """Every rule that can skip an automated touch, the most lasting reason first."""
    if facts.opted_out:
        return Verdict(Skip.OPTED_OUT)
    if not facts.reachable:
        return Verdict(Skip.UNREACHABLE)
    if facts.handoff_open:
        return Verdict(Skip.HANDOFF_OPEN)
    if facts.run_active:
        return Verdict(Skip.RUN_ACTIVE)
    if facts.last_complaint and now < facts.last_complaint + rules.rest_after_complaint:
        return Verdict(Skip.RECENT_COMPLAINT, facts.last_complaint + rules.rest_after_complaint)
    if facts.last_answered and now < facts.last_answered + rules.rest_after_answer:
        return Verdict(Skip.RECENTLY_ANSWERED, facts.last_answered + rules.rest_after_answer)
    return may_contact(now, facts.recent_touches, rules=rules)


class RulesError(ValueError):
    """Every problem in a business's rules, each as 'path: what is wrong'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_duration(value: object, path: str, problems: list[str]) -> timedelta:
    """'30m', '12h', '3d' or '2w'; a problem named by `path` otherwise."""
    if isinstance(value, str) and (found := _DURATION.match(value)) and int(found.group(1)) > 0:
        return int(found.group(1)) * _UNITS[found.group(2)]
    problems.append(f"{path}: must be a duration such as 12h, 3d or 2w")
    return timedelta(0)


def _window(raw: object, path: str, problems: list[str]) -> Window:
    if raw is None:
        return None
    found = _HOURS.match(raw) if isinstance(raw, str) else None
    if found is not None:
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        if h1 < 24 and h2 <= 24 and m1 < 60 and m2 < 60:
            opens = time(h1, m1)
            closes = time(23, 59, 59) if (h2, m2) == (24, 0) else time(h2 % 24, m2)
            if (h2, m2) == (24, 0) or opens < closes:
                return (opens, closes)
    problems.append(f"{path}: must be hours such as 09:00-20:00, or null for none")
    return None


def _whole(raw: Mapping[str, object], key: str, default: int, problems: list[str]) -> int:
    value = raw.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        problems.append(f"{key}: must be a whole number from 0 to 100")
        return default
    return value


_SPANS = ("cap_window", "rest_after_answer", "rest_after_complaint", "remind_after", "expire_after")
_RULE_KEYS = frozenset(
    {
        "hours",
        "holidays",
        "holiday_country",
        "closed_dates",
        "max_touches",
        "cap_window",
        "rest_after_answer",
        "rest_after_complaint",
        "remind_after",
        "expire_after",
    }
)


def parse_rules(raw: object) -> ContactRules:
    """A business's contact rules from its settings; missing keys keep the Israeli defaults.

    `hours` maps days (mon … sun) to '09:00-20:00' or null; durations are like '7d'.
    RulesError names every problem.
    """
    if raw is None:
        return ContactRules()
    if not isinstance(raw, Mapping):
        raise RulesError(["rules: must be a mapping"])
    problems: list[str] = []
    unknown = sorted(set(map(str, raw)) - _RULE_KEYS)
    if unknown:
        problems.append(f"rules: unknown keys {', '.join(unknown)}")
    defaults = ContactRules()
    week = list(defaults.week)
    hours = raw.get("hours", {})
    if not isinstance(hours, Mapping):
        problems.append("hours: must map days (mon … sun) to hours such as 09:00-20:00")
        hours = {}
    for day, value in hours.items():
        if day not in DAYS:
            problems.append(f"hours.{day}: not a day; use {', '.join(DAYS)}")
            continue
        week[DAYS.index(day)] = _window(value, f"hours.{day}", problems)
    if all(hours is None for hours in week):
        problems.append("hours: at least one day needs hours, or no one could be contacted")
    use_holidays = raw.get("holidays", True)
    if not isinstance(use_holidays, bool):
        problems.append("holidays: must be true or false")
        use_holidays = True
    country = raw.get("holiday_country", defaults.holiday_country)
    if not isinstance(country, str) or country not in _countries():
        problems.append("holiday_country: must be a country code such as IL")
        country = defaults.holiday_country
    closed: set[date] = set()
    dates = raw.get("closed_dates", [])
    if not isinstance(dates, list):
        problems.append("closed_dates: must be a list of dates such as 2026-12-25")
        dates = []
    for index, value in enumerate(dates):
        try:
            closed.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError:
            problems.append(f"closed_dates[{index}]: must be a date such as 2026-12-25")
    spans: dict[str, timedelta] = {
        key: parse_duration(raw[key], key, problems) if key in raw else getattr(defaults, key)
        for key in _SPANS
    }
    max_touches = _whole(raw, "max_touches", defaults.max_touches, problems)
    if problems:
        raise RulesError(problems)
    return ContactRules(
        week=tuple(week),
        holidays=use_holidays,
        holiday_country=country,
        closed_dates=frozenset(closed),
        max_touches=max_touches,
        cap_window=spans["cap_window"],
        rest_after_answer=spans["rest_after_answer"],
        rest_after_complaint=spans["rest_after_complaint"],
        remind_after=spans["remind_after"],
        expire_after=spans["expire_after"],
    )
