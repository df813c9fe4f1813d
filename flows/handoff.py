"""Handing a conversation to a person: its states, who takes it, when it is late, what the customer hears.

One state machine: requested → waiting → assigned → active → resolved, after which the
conversation is the bot's again. All pure: time, business hours and the agents' loads are
passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from flows.contact import ContactRules, RulesError, closes_at, next_allowed, parse_duration
from flows.text import Text


class State(StrEnum):
    REQUESTED = "requested"
    WAITING = "waiting"
    ASSIGNED = "assigned"
    ACTIVE = "active"
    RESOLVED = "resolved"


OPEN = frozenset({State.REQUESTED, State.WAITING, State.ASSIGNED, State.ACTIVE})


class Action(StrEnum):
    QUEUE = "queue"
    ASSIGN = "assign"
    TRANSFER = "transfer"
    REPLY = "reply"
    UNASSIGN = "unassign"
    RESOLVE = "resolve"


_MOVES: Mapping[tuple[State, Action], State] = {
    (State.REQUESTED, Action.QUEUE): State.WAITING,
    (State.REQUESTED, Action.ASSIGN): State.ASSIGNED,
    (State.WAITING, Action.ASSIGN): State.ASSIGNED,
    (State.ASSIGNED, Action.TRANSFER): State.ASSIGNED,
    (State.ACTIVE, Action.TRANSFER): State.ASSIGNED,
    (State.ASSIGNED, Action.REPLY): State.ACTIVE,
    (State.ACTIVE, Action.REPLY): State.ACTIVE,
    (State.ASSIGNED, Action.UNASSIGN): State.WAITING,
    (State.ACTIVE, Action.UNASSIGN): State.WAITING,
    **{(state, Action.RESOLVE): State.RESOLVED for state in OPEN},
}


class TransitionError(ValueError):
    """An action the handoff's state does not allow (resolving twice, replying unassigned)."""


def move(state: State, action: Action) -> State:
    """The state after `action`, or TransitionError."""
    try:
        return _MOVES[(state, action)]
    except KeyError:
        raise TransitionError(f"a {state.value} handoff cannot {action.value}") from None


class Trigger(StrEnum):
    """What asked for a person."""

    DETECTOR = "detector"
    REQUEST = "request"
    LOW_SCORE = "low_score"
    NOT_UNDERSTOOD = "not_understood"
    API = "api"


class LowScore(StrEnum):
    """What an NPS detractor or a CSAT of 2 or less does: hand off, or offer a person first."""

    HAND_OFF = "handoff"
    OFFER = "offer"


@dataclass(frozen=True, slots=True)
class HandoffRules:
    """One business's handoff settings; `sla` counts business hours only."""

    sla: timedelta = timedelta(minutes=10)
    low_score: LowScore = LowScore.HAND_OFF
    follow_up_after: timedelta | None = timedelta(days=3)
    capacity: int = 5


_HANDOFF_KEYS = frozenset({"sla", "low_score", "follow_up_after", "capacity"})


def parse_handoff_rules(raw: object) -> HandoffRules:
    """Handoff settings; missing keys keep the defaults, `follow_up_after: null` plans none."""
    if raw is None:
        return HandoffRules()
    if not isinstance(raw, Mapping):
        raise RulesError(["handoff: must be a mapping"])
    problems: list[str] = []
    unknown = sorted(set(map(str, raw)) - _HANDOFF_KEYS)
    if unknown:
        problems.append(f"handoff: unknown keys {', '.join(unknown)}")
    defaults = HandoffRules()
    sla = parse_duration(raw["sla"], "sla", problems) if "sla" in raw else defaults.sla
    follow_up = defaults.follow_up_after
    if "follow_up_after" in raw:
        value = raw["follow_up_after"]
        follow_up = None if value is None else parse_duration(value, "follow_up_after", problems)
    low_score = defaults.low_score
    if "low_score" in raw:
        try:
            low_score = LowScore(raw["low_score"])
        except ValueError:
            problems.append("low_score: must be handoff or offer")
    capacity = raw.get("capacity", defaults.capacity)
    if not isinstance(capacity, int) or isinstance(capacity, bool) or not 1 <= capacity <= 100:
        problems.append("capacity: must be a whole number from 1 to 100")
        capacity = defaults.capacity
    if problems:
        raise RulesError(problems)
    return HandoffRules(sla=sla, low_score=low_score, follow_up_after=follow_up, capacity=capacity)


def is_low_score(score_kind: str | None, score: int) -> bool:
    """An NPS detractor (0–6) or a CSAT of 1 or 2."""
    return (score_kind == "nps" and score <= 6) or (score_kind == "csat" and score <= 2)


@dataclass(frozen=True, slots=True)
class AgentLoad:
    """An agent as assignment sees them: present or not, and how many handoffs they hold."""

    id: int
    online: bool
    capacity: int
    holding: int


def pick_agent(agents: Iterable[AgentLoad], *, after: int | None) -> int | None:
    """Round-robin: the next online agent under capacity after the last one given a handoff."""
    free = sorted(a.id for a in agents if a.online and a.holding < a.capacity)
    if not free:
        return None
    return next((i for i in free if after is None or i > after), free[0])


def sla_due(
    requested_at: datetime, *, sla: timedelta, rules: ContactRules, timezone: str
) -> datetime:
    """When an unanswered handoff is late: `sla` of open business time after the request."""
    left = sla
    moment = requested_at
    while True:
        opens = _opens(moment, rules, timezone)
        if opens is None:  # closed for weeks on end: the SLA runs in plain time
            return (moment + left).astimezone(UTC)
        moment = opens
        closing = closes_at(moment, rules, timezone=timezone)
        if moment + left <= closing:
            return (moment + left).astimezone(UTC)
        left -= closing - moment
        moment = closing


def _opens(moment: datetime, rules: ContactRules, timezone: str) -> datetime | None:
    """The next business time from `moment`; None when the rules allow none for weeks."""
    try:
        return next_allowed(moment, rules, timezone=timezone)
    except ValueError:
        return None


ACK_OPEN = Text(
    he="קיבלנו. מישהו מהצוות של {business} יענה לך כאן בהקדם, בדרך כלל תוך {minutes} דקות.",
    en="Got it. A person from the {business} team will answer you here soon, usually within {minutes} minutes.",
)
ACK_CLOSED = Text(
    he="קיבלנו. הצוות של {business} חוזר {when}, ואז מישהו יענה לך כאן.",
    en="Got it. The {business} team is back {when}, and a person will answer you here then.",
)
SLA_UPDATE = Text(
    he="לא שכחנו אותך: הצוות של {business} עסוק כרגע, ומישהו יענה לך כאן ברגע שיתפנה. תודה על הסבלנות 🙏",
    en="We haven't forgotten you: the {business} team is busy right now, and someone will answer you here as soon as they are free. Thanks for your patience 🙏",
)
AGENT_ALERT = Text(
    he="פנייה חדשה ב־{business}: {customer} ({channel})\nלמה: {reason}\n{link}",
    en="New handoff at {business}: {customer} ({channel})\nWhy: {reason}\n{link}",
)
AGENT_LATE = Text(
    he="פנייה ב־{business} ממתינה {minutes} דק׳ בלי מענה: {customer} ({channel})\n{link}",
    en="A handoff at {business} has waited {minutes} min without an answer: {customer} ({channel})\n{link}",
)
AGENT_LINKED = Text(
    he="מעכשיו פניות חדשות של {business} יגיעו אלייך גם כאן ✔",
    en="From now on new handoffs at {business} reach you here too ✔",
)
SOMEONE = Text(he="לקוח/ה", en="a customer")
# Sent to whoever opens an expired or used link: who they are is not known, so both languages.
AGENT_LINK_UNKNOWN = (
    "הקישור הזה כבר שומש או שפג תוקפו; צרו קישור חדש בתיבת הפניות.\n"
    "This link was used already or has expired; make a new one in the inbox."
)
_TODAY = Text(he="היום ב־{time}", en="today at {time}")
_TOMORROW = Text(he="מחר ב־{time}", en="tomorrow at {time}")
_ON_DAY = Text(he="ביום {day} ב־{time}", en="on {day} at {time}")
_DAY_NAMES = {
    "he": ("שני", "שלישי", "רביעי", "חמישי", "שישי", "שבת", "ראשון"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def expected_answer(
    now: datetime,
    *,
    language: str,
    business: str,
    sla: timedelta,
    rules: ContactRules,
    timezone: str,
    shown_in: str | None = None,
    staffed: bool = False,
) -> str:
    """The acknowledgement: within the SLA while an agent is online (`staffed`) or in business
    hours, else when the team is back.

    Business hours are read in the business's `timezone`; the time is told in `shown_in`
    (the customer's), if given.
    """
    opens = None if staffed else _opens(now, rules, timezone)
    if opens is None or opens <= now:
        minutes = str(max(1, round(sla.total_seconds() / 60)))
        return ACK_OPEN.render(language, business=business, minutes=minutes)
    when = opening_words(opens, now=now, language=language, timezone=shown_in or timezone)
    return ACK_CLOSED.render(language, business=business, when=when)


def opening_words(opens: datetime, *, now: datetime, language: str, timezone: str) -> str:
    """'today at 16:00', 'tomorrow at 09:00' or 'on Sunday at 09:00', in the customer's zone."""
    zone = ZoneInfo(timezone)
    local = opens.astimezone(zone)
    days = (local.date() - now.astimezone(zone).date()).days
    clock = local.strftime("%H:%M")
    if days == 0:
        return _TODAY.render(language, time=clock)
    if days == 1:
        return _TOMORROW.render(language, time=clock)
    names = _DAY_NAMES["he" if language == "he" else "en"]
    return _ON_DAY.render(language, day=names[local.weekday()], time=clock)
