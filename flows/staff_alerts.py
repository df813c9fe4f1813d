"""Which staff alerts an agent wants, by which media, and when: pure choices over a clock.

An agent picks, per event (a new handoff, an SLA about to be missed, a handoff past its SLA,
a new conversation), the media it reaches them by (e-mail, WhatsApp, Telegram, the inbox's
browser notifications), and optionally their working hours (days of the Israeli week, from
Sunday, and a time range in the business's timezone). Outside those hours an alert goes by
e-mail or not at all, as the agent chose. Stored as a small JSON mapping on the agent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flows.text import Text


class AlertEvent(StrEnum):
    NEW_HANDOFF = "new_handoff"
    SLA_WARNING = "sla_warning"
    SLA_MISSED = "sla_missed"
    NEW_CONVERSATION = "new_conversation"


class Medium(StrEnum):
    EMAIL = "email"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    BROWSER = "browser"


class OffHours(StrEnum):
    EMAIL = "email"
    NONE = "none"


# Days as the Israeli week counts them: 0 is Sunday.
WEEK = range(7)
DEFAULT_DAYS = frozenset(range(5))  # Sunday to Thursday
DEFAULT_START, DEFAULT_END = time(9), time(18)
_PHONE = re.compile(r"\+[1-9][0-9]{7,14}")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


_E = TypeVar("_E", bound=StrEnum)


class PreferencesError(ValueError):
    """Alert preferences that cannot be kept; the message names the field."""


@dataclass(frozen=True, slots=True)
class WorkingHours:
    days: frozenset[int] = DEFAULT_DAYS
    start: time = DEFAULT_START
    end: time = DEFAULT_END

    def contains(self, now: datetime, timezone: str) -> bool:
        local = now.astimezone(ZoneInfo(timezone))
        day = (local.weekday() + 1) % 7  # Python's Monday=0 → the Israeli week's Sunday=0
        return day in self.days and self.start <= local.time() < self.end


_DEFAULT_MEDIA: Mapping[AlertEvent, frozenset[Medium]] = {
    AlertEvent.NEW_HANDOFF: frozenset({Medium.TELEGRAM, Medium.BROWSER}),
    AlertEvent.SLA_WARNING: frozenset({Medium.TELEGRAM, Medium.BROWSER}),
    AlertEvent.SLA_MISSED: frozenset({Medium.TELEGRAM}),
    AlertEvent.NEW_CONVERSATION: frozenset(),
}


@dataclass(frozen=True, slots=True)
class AlertPreferences:
    """An agent's choices; `hours` None means at any hour."""

    media: Mapping[AlertEvent, frozenset[Medium]] = field(default_factory=lambda: _DEFAULT_MEDIA)
    hours: WorkingHours | None = None
    off_hours: OffHours = OffHours.NONE
    whatsapp: str | None = None

    def media_for(self, event: AlertEvent, *, now: datetime, timezone: str) -> frozenset[Medium]:
        """The media this event reaches the agent by at `now`."""
        chosen = self.media.get(event, frozenset())
        if not chosen or self.hours is None or self.hours.contains(now, timezone):
            return chosen
        return frozenset({Medium.EMAIL}) if self.off_hours is OffHours.EMAIL else frozenset()

    def settings(self) -> dict[str, Any]:
        """As stored on the agent (and read back by `parse_preferences`)."""
        return {
            "events": {e.value: sorted(m.value for m in self.media.get(e, ())) for e in AlertEvent},
            "hours": None
            if self.hours is None
            else {
                "days": sorted(self.hours.days),
                "from": self.hours.start.strftime("%H:%M"),
                "to": self.hours.end.strftime("%H:%M"),
            },
            "off_hours": self.off_hours.value,
            "whatsapp": self.whatsapp,
        }


def parse_preferences(raw: object) -> AlertPreferences:
    """Preferences from their stored (or submitted) mapping; missing parts keep the defaults."""
    if raw is None:
        return AlertPreferences()
    if not isinstance(raw, Mapping):
        raise PreferencesError("alerts: must be a mapping")
    return AlertPreferences(
        media=_media(raw.get("events")),
        hours=_hours(raw.get("hours")),
        off_hours=_choice(OffHours, raw.get("off_hours", OffHours.NONE.value), "off_hours"),
        whatsapp=_phone(raw.get("whatsapp")),
    )


def _media(raw: object) -> Mapping[AlertEvent, frozenset[Medium]]:
    if raw is None:
        return _DEFAULT_MEDIA
    if not isinstance(raw, Mapping):
        raise PreferencesError("events: must map events to media")
    media = dict(_DEFAULT_MEDIA)
    for name, chosen in raw.items():
        event = _choice(AlertEvent, name, "events")
        if not isinstance(chosen, list | tuple):
            raise PreferencesError(f"events.{event.value}: must be a list of media")
        media[event] = frozenset(_choice(Medium, m, f"events.{event.value}") for m in chosen)
    return media


def _hours(raw: object) -> WorkingHours | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise PreferencesError("hours: must be a mapping of days, from and to")
    days = raw.get("days", sorted(DEFAULT_DAYS))
    if not isinstance(days, list | tuple) or not all(d in WEEK for d in days) or not days:
        raise PreferencesError("hours.days: pick at least one day, 0 (Sunday) to 6 (Saturday)")
    start = _clock(raw.get("from", "09:00"), "hours.from")
    end = _clock(raw.get("to", "18:00"), "hours.to")
    if end <= start:
        raise PreferencesError("hours.to: must be after hours.from")
    return WorkingHours(days=frozenset(int(d) for d in days), start=start, end=end)


def _clock(raw: object, where: str) -> time:
    found = _CLOCK.fullmatch(raw) if isinstance(raw, str) else None
    if found is None:
        raise PreferencesError(f"{where}: a time like 09:00")
    return time(int(found.group(1)), int(found.group(2)))


def _phone(raw: object) -> str | None:
    if raw is None or raw == "":
        return None
    number = re.sub(r"[\s\-()]", "", raw) if isinstance(raw, str) else ""
    if not _PHONE.fullmatch(number):
        raise PreferencesError("whatsapp: a phone number in international form, like +972501234567")
    return number


def _choice(kind: type[_E], raw: object, where: str) -> _E:
    for member in kind:
        if member.value == raw:
            return member
    names = ", ".join(e.value for e in kind)
    raise PreferencesError(f"{where}: unknown {raw!r} (use {names})")


# The alerts' own words, for e-mail, WhatsApp and Telegram alike.
SLA_WARNING = Text(
    he="פנייה ב־{business} תחרוג מזמן המענה בעוד {minutes} דק׳: {customer} ({channel})\n{link}",
    en="A handoff at {business} will miss its answer time in {minutes} min: {customer} ({channel})\n{link}",
)
NEW_CONVERSATION = Text(
    he="שיחה חדשה ב־{business}: {customer} ({channel})\n{link}",
    en="New conversation at {business}: {customer} ({channel})\n{link}",
)
SUBJECTS: Mapping[AlertEvent, Text] = {
    AlertEvent.NEW_HANDOFF: Text(
        he="פנייה חדשה ב־{business}: {customer}", en="New handoff at {business}: {customer}"
    ),
    AlertEvent.SLA_WARNING: Text(
        he="פנייה ב־{business} עומדת לחרוג מזמן המענה: {customer}",
        en="A handoff at {business} is about to miss its answer time: {customer}",
    ),
    AlertEvent.SLA_MISSED: Text(
        he="פנייה ב־{business} חרגה מזמן המענה: {customer}",
        en="A handoff at {business} missed its answer time: {customer}",
    ),
    AlertEvent.NEW_CONVERSATION: Text(
        he="שיחה חדשה ב־{business}: {customer}", en="New conversation at {business}: {customer}"
    ),
}
