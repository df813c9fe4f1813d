"""Insights from answers and events: NPS, CSAT, response rates and each customer's health.

Pure: the answers, events and the moment are passed in. Weeks start on Sunday, as the
Israeli working week does, in the business's timezone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flows.nps import group
from flows.text import Text

Scored = tuple[datetime, int]


@dataclass(frozen=True, slots=True)
class NpsSummary:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def total(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> int | None:
        """-100 … 100: the share of promoters less the share of detractors; None with no answers."""
        if not self.total:
            return None
        return round(100 * (self.promoters - self.detractors) / self.total)


def nps(scores: Iterable[int]) -> NpsSummary:
    counts = {"promoter": 0, "passive": 0, "detractor": 0}
    for score in scores:
        counts[group(score)] += 1
    return NpsSummary(counts["promoter"], counts["passive"], counts["detractor"])


@dataclass(frozen=True, slots=True)
class CsatSummary:
    total: int = 0
    average: float | None = None
    satisfied: float | None = None
    """The share answering 4 or 5."""


def csat(scores: Iterable[int]) -> CsatSummary:
    found = list(scores)
    if not found:
        return CsatSummary()
    return CsatSummary(
        total=len(found),
        average=round(sum(found) / len(found), 2),
        satisfied=round(sum(1 for s in found if s >= 4) / len(found), 3),
    )


def week_of(moment: datetime, timezone: str) -> date:
    """The Sunday that starts the moment's week, in the given timezone."""
    return sunday_of(moment.astimezone(ZoneInfo(timezone)).date())


def sunday_of(day: date) -> date:
    """The Sunday that starts the day's week."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


def by_week(scored: Iterable[Scored], *, timezone: str) -> dict[date, list[int]]:
    weeks: dict[date, list[int]] = defaultdict(list)
    for moment, score in scored:
        weeks[week_of(moment, timezone)].append(score)
    return dict(sorted(weeks.items()))


@dataclass(frozen=True, slots=True)
class Rate:
    sent: int
    answered: int

    @property
    def share(self) -> float | None:
        return round(self.answered / self.sent, 3) if self.sent else None


def response_rate(statuses: Mapping[str, int]) -> Rate:
    """Touches made (sent, answered, expired) and those answered."""
    made = sum(statuses.get(s, 0) for s in ("sent", "answered", "expired"))
    return Rate(sent=made, answered=statuses.get("answered", 0))


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a health score is lower, in words for either language."""

    text: Text
    fields: Mapping[str, str] = field(default_factory=dict)
    points: int = 0

    def render(self, language: str) -> str:
        return self.text.render(language, **self.fields)


OPTED_OUT = Text(he="ביקש/ה להפסיק לקבל הודעות", en="opted out of messages")
NPS_FELL = Text(he="ה־NPS ירד מ־{before} ל־{after}", en="NPS fell from {before} to {after}")
DETRACTOR = Text(he="ציון NPS אחרון {score} (מלעיז/ה)", en="last NPS {score} (a detractor)")
PASSIVE = Text(he="ציון NPS אחרון {score} (פסיבי/ת)", en="last NPS {score} (passive)")
LOW_CSAT = Text(he="שביעות רצון אחרונה {score} מתוך 5", en="last CSAT {score} of 5")
COMPLAINTS = Text(he="{n} תלונות ב־30 הימים האחרונים", en="{n} complaints in 30 days")
HANDOFFS = Text(he="{n} העברות לנציג ב־30 הימים האחרונים", en="{n} handoffs to a person in 30 days")
UNANSWERED = Text(he="{n} פניות שלא נענו", en="{n} check-ins left unanswered")
SILENT = Text(he="אין קשר כבר {n} ימים", en="no contact for {n} days")

RECENT = timedelta(days=30)
SILENCE = timedelta(days=60)


@dataclass(frozen=True, slots=True)
class Health:
    """0 (about to leave) … 100 (well); `reasons` explain every point taken off."""

    score: int
    reasons: tuple[Reason, ...]

    @property
    def risk(self) -> str:
        return "high" if self.score < 50 else "medium" if self.score < 75 else "low"


def health(
    *,
    now: datetime,
    nps_scores: Sequence[Scored] = (),
    csat_scores: Sequence[Scored] = (),
    complaints: Sequence[datetime] = (),
    handoffs: Sequence[datetime] = (),
    unanswered: int = 0,
    last_contact: datetime | None = None,
    opted_out: bool = False,
) -> Health:
    """A customer's health from their scores and their trend, complaints, handoffs and silence."""
    reasons: list[Reason] = []
    if opted_out:
        reasons.append(Reason(OPTED_OUT, points=50))
    ordered = sorted(nps_scores)
    if ordered:
        last = ordered[-1][1]
        if len(ordered) > 1 and ordered[-2][1] - last >= 3:
            before = str(ordered[-2][1])
            reasons.append(Reason(NPS_FELL, {"before": before, "after": str(last)}, 15))
        if group(last) == "detractor":
            reasons.append(Reason(DETRACTOR, {"score": str(last)}, 25))
        elif group(last) == "passive":
            reasons.append(Reason(PASSIVE, {"score": str(last)}, 5))
    if csat_scores and (last_csat := sorted(csat_scores)[-1][1]) <= 2:
        reasons.append(Reason(LOW_CSAT, {"score": str(last_csat)}, 20))
    for moments, text, each, most in (
        (complaints, COMPLAINTS, 10, 30),
        (handoffs, HANDOFFS, 10, 20),
    ):
        recent = sum(1 for m in moments if now - m <= RECENT)
        if recent:
            reasons.append(Reason(text, {"n": str(recent)}, min(recent * each, most)))
    if unanswered >= 2:
        reasons.append(Reason(UNANSWERED, {"n": str(unanswered)}, 10))
    if last_contact is not None and now - last_contact >= SILENCE:
        reasons.append(Reason(SILENT, {"n": str((now - last_contact).days)}, 10))
    score = max(0, 100 - sum(r.points for r in reasons))
    return Health(score, tuple(sorted(reasons, key=lambda r: -r.points)))
