"""Insights for management: NPS and CSAT over time, answers per schedule, who is about to leave
and why, and what customers write about.

The REST API, the console and the weekly digest all read their numbers here, so they agree.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache

from stop_words import get_stop_words

from bot.domain import Business, Remark, ScoredAnswer, ThemeName
from bot.services import Services
from flows import themes as grouping
from flows.insights import Rate, Scored, health, response_rate
from flows.text import normalise

NO_SCHEDULE = "(none)"
RISK_WINDOW = timedelta(days=90)
THEMES = 8
COMPLAINT = "complaint"
FEEDBACK = "feedback"


@dataclass(frozen=True, slots=True)
class Scores:
    """Every score of one kind in a period, in time order, and the same grouped by schedule and
    by segment: `language:he`, `channel:telegram`, `tag:vip` (a customer with two tags counts
    in both)."""

    scored: list[Scored]
    per_schedule: dict[str, list[int]]
    per_segment: dict[str, list[int]]

    @property
    def values(self) -> list[int]:
        return [score for _, score in self.scored]


async def scores(
    services: Services,
    business: Business,
    kind: str,
    *,
    since: datetime,
    until: datetime | None = None,
) -> Scores:
    async with services.uow() as uow:
        rows = await uow.insights.scores(business.id, kind=kind, since=since, until=until)
        names = {s.id: s.name for s in await uow.schedules.list(business.id)}
    per_schedule: dict[str, list[int]] = defaultdict(list)
    per_segment: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        schedule = names.get(row.schedule_id, NO_SCHEDULE) if row.schedule_id else NO_SCHEDULE
        per_schedule[schedule].append(row.score)
        for segment in _segments(row):
            per_segment[segment].append(row.score)
    return Scores(
        [(row.at, row.score) for row in rows],
        dict(sorted(per_schedule.items())),
        dict(sorted(per_segment.items())),
    )


def _segments(row: ScoredAnswer) -> list[str]:
    found = [f"language:{row.language}"]
    if row.channel:
        found.append(f"channel:{row.channel}")
    return found + [f"tag:{tag}" for tag in sorted(set(row.tags))]


@dataclass(frozen=True, slots=True)
class ScheduleRate:
    schedule: str
    rate: Rate
    skipped: int


async def rates(
    services: Services, business: Business, *, since: datetime, until: datetime | None = None
) -> list[ScheduleRate]:
    """Per schedule, by name: touches made, answered, and skipped."""
    async with services.uow() as uow:
        outcomes = await uow.insights.outcomes(business.id, since=since, until=until)
        names = {s.id: s.name for s in await uow.schedules.list(business.id)}
    statuses: dict[str, dict[str, int]] = defaultdict(dict)
    for schedule, status, count in outcomes:
        name = names.get(schedule, NO_SCHEDULE) if schedule else NO_SCHEDULE
        statuses[name][status] = statuses[name].get(status, 0) + count
    return [
        ScheduleRate(name, response_rate(counts), counts.get("skipped", 0))
        for name, counts in sorted(statuses.items())
    ]


@dataclass(frozen=True, slots=True)
class Risk:
    customer_id: uuid.UUID
    name: str | None
    health: int
    risk: str
    reasons: list[str]


async def at_risk(
    services: Services, business: Business, *, language: str, limit: int
) -> list[Risk]:
    """Customers by health, lowest first, each score explained in `language`."""
    now = services.clock.now()
    async with services.uow() as uow:
        signals = await uow.insights.signals(business.id, since=now - RISK_WINDOW)
    judged = []
    for s in signals:
        verdict = health(
            now=now,
            nps_scores=s.nps,
            csat_scores=s.csat,
            complaints=s.complaints,
            handoffs=s.handoffs,
            unanswered=s.unanswered,
            last_contact=s.last_contact,
            opted_out=s.opted_out,
        )
        judged.append(
            Risk(
                customer_id=s.customer_id,
                name=s.name,
                health=verdict.score,
                risk=verdict.risk,
                reasons=[r.render(language) for r in verdict.reasons],
            )
        )
    judged.sort(key=lambda r: r.health)
    return judged[:limit]


def _as_read(remark: Remark) -> Remark:
    if remark.source == COMPLAINT and not grouping.reads_as_complaint(remark.text):
        return replace(remark, source=FEEDBACK)
    return remark


@cache
def _stop_words() -> frozenset[str]:
    return grouping.stop_words(
        [*get_stop_words("hebrew"), *get_stop_words("english"), *grouping.COURTESY]
    )


@dataclass(frozen=True, slots=True)
class NamedTheme:
    """A theme with what to call it: the language model's label and summary when one is
    configured and answered, else its word."""

    theme: grouping.Theme
    label: str
    summary: str | None = None


@dataclass(frozen=True, slots=True)
class Themes:
    themes: list[NamedTheme]
    total: int
    unthemed: int


async def themes(
    services: Services,
    business: Business,
    *,
    since: datetime,
    until: datetime | None = None,
    language: str,
    most: int = THEMES,
) -> Themes:
    """What customers wrote about since then, grouped into themes, largest first.

    The same words written twice by one customer count once (a feedback message that was also
    found frustrated counts as a complaint). A message found frustrated is quoted as a
    complaint only if it reads as one (`flows.themes.reads_as_complaint`); a neutral question
    the detector handed off for its conversation around it is quoted as feedback.
    """
    async with services.uow() as uow:
        found = await uow.insights.remarks(business.id, since=since)
    once: dict[tuple[uuid.UUID, str], Remark] = {}
    for remark in (_as_read(r) for r in found):
        key = (remark.customer_id, normalise(remark.text))
        if (until is None or remark.at < until) and (key not in once or remark.source == COMPLAINT):
            once[key] = remark
    remarks = sorted(once.values(), key=lambda r: r.at, reverse=True)
    grouped = grouping.group(remarks, stop_words=_stop_words(), most=most)
    names: Sequence[ThemeName | None] = [None] * len(grouped.themes)
    if services.theme_namer is not None and grouped.themes:
        namer = services.theme_namer
        names = await asyncio.gather(
            *(
                namer.name(
                    [grouping.quoted(r.text) for r in t.quotes(5)], word=t.word, language=language
                )
                for t in grouped.themes
            )
        )
    return Themes(
        themes=[
            NamedTheme(t, name.label, name.summary) if name else NamedTheme(t, t.word)
            for t, name in zip(grouped.themes, names, strict=True)
        ],
        total=grouped.total,
        unthemed=grouped.unthemed,
    )
