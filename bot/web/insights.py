"""The REST API for insights: NPS and CSAT with their weekly trend, response rates, churn risk."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from bot.domain import Business
from bot.web.access import AdminBusiness, runtime_of
from flows.insights import by_week, csat, health, nps, response_rate

router = APIRouter(prefix="/api/v1/{business}/insights", tags=["insights"])

Weeks = Annotated[int, Query(ge=1, le=104, description="how many weeks back")]
NO_SCHEDULE = "(none)"


class NpsOut(BaseModel):
    score: int | None = Field(description="-100 … 100; null with no answers")
    promoters: int
    passives: int
    detractors: int
    total: int


class NpsWeek(NpsOut):
    week: date = Field(description="the Sunday that starts the week")


class NpsSchedule(NpsOut):
    schedule: str


class NpsReport(NpsOut):
    weeks: list[NpsWeek]
    schedules: list[NpsSchedule]


class CsatOut(BaseModel):
    total: int
    average: float | None
    satisfied: float | None = Field(description="the share answering 4 or 5")


class CsatWeek(CsatOut):
    week: date


class CsatSchedule(CsatOut):
    schedule: str


class CsatReport(CsatOut):
    weeks: list[CsatWeek]
    schedules: list[CsatSchedule]


async def _scores(
    request: Request, business: Business, kind: str, weeks: int
) -> tuple[list[tuple[datetime, int]], dict[str, list[int]]]:
    services = runtime_of(request).services
    since = services.clock.now() - timedelta(weeks=weeks)
    async with services.uow() as uow:
        rows = await uow.insights.scores(business.id, kind=kind, since=since)
        names = {s.id: s.name for s in await uow.schedules.list(business.id)}
    per_schedule: dict[str, list[int]] = defaultdict(list)
    for _, score, schedule in rows:
        per_schedule[names.get(schedule, NO_SCHEDULE) if schedule else NO_SCHEDULE].append(score)
    return [(at, score) for at, score, _ in rows], dict(sorted(per_schedule.items()))


def _nps(scores: Sequence[int]) -> dict[str, Any]:
    summary = nps(scores)
    return NpsOut(
        score=summary.score,
        promoters=summary.promoters,
        passives=summary.passives,
        detractors=summary.detractors,
        total=summary.total,
    ).model_dump()


@router.get("/nps", response_model=NpsReport)
async def nps_report(request: Request, business: AdminBusiness, weeks: Weeks = 12) -> NpsReport:
    """Net Promoter Score: promoters (9–10), passives (7–8), detractors (0–6), by week and schedule."""
    scored, per_schedule = await _scores(request, business, "nps", weeks)
    return NpsReport(
        **_nps([s for _, s in scored]),
        weeks=[
            NpsWeek(week=week, **_nps(scores))
            for week, scores in by_week(scored, timezone=business.timezone).items()
        ],
        schedules=[NpsSchedule(schedule=name, **_nps(s)) for name, s in per_schedule.items()],
    )


def _csat(scores: Sequence[int]) -> dict[str, Any]:
    summary = csat(scores)
    return CsatOut(
        total=summary.total, average=summary.average, satisfied=summary.satisfied
    ).model_dump()


@router.get("/csat", response_model=CsatReport)
async def csat_report(request: Request, business: AdminBusiness, weeks: Weeks = 12) -> CsatReport:
    """Customer satisfaction (1–5): average and share satisfied, by week and schedule."""
    scored, per_schedule = await _scores(request, business, "csat", weeks)
    return CsatReport(
        **_csat([s for _, s in scored]),
        weeks=[
            CsatWeek(week=week, **_csat(scores))
            for week, scores in by_week(scored, timezone=business.timezone).items()
        ],
        schedules=[CsatSchedule(schedule=name, **_csat(s)) for name, s in per_schedule.items()],
    )


class RateOut(BaseModel):
    schedule: str
    sent: int = Field(description="touches made")
    answered: int
    rate: float | None
    skipped: int


@router.get("/response-rates", response_model=list[RateOut])
async def response_rates(
    request: Request, business: AdminBusiness, weeks: Weeks = 12
) -> list[RateOut]:
    """Per schedule: touches made, answered, the share answered, and touches skipped."""
    services = runtime_of(request).services
    since = services.clock.now() - timedelta(weeks=weeks)
    async with services.uow() as uow:
        outcomes = await uow.insights.outcomes(business.id, since=since)
        names = {s.id: s.name for s in await uow.schedules.list(business.id)}
    statuses: dict[str, dict[str, int]] = defaultdict(dict)
    for schedule, status, count in outcomes:
        name = names.get(schedule, NO_SCHEDULE) if schedule else NO_SCHEDULE
        statuses[name][status] = statuses[name].get(status, 0) + count
    out = []
    for name, counts in sorted(statuses.items()):
        rate = response_rate(counts)
        out.append(
            RateOut(
                schedule=name,
                sent=rate.sent,
                answered=rate.answered,
                rate=rate.share,
                skipped=counts.get("skipped", 0),
            )
        )
    return out


class RiskOut(BaseModel):
    customer_id: uuid.UUID
    name: str | None
    health: int = Field(description="0 (about to leave) … 100 (well)")
    risk: Literal["high", "medium", "low"]
    reasons: list[str]


@router.get("/churn-risk", response_model=list[RiskOut])
async def churn_risk(
    request: Request,
    business: AdminBusiness,
    lang: Annotated[Literal["he", "en"] | None, Query(description="reasons' language")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[RiskOut]:
    """Customers by health, lowest first, each score explained."""
    services = runtime_of(request).services
    now = services.clock.now()
    async with services.uow() as uow:
        signals = await uow.insights.signals(business.id, since=now - timedelta(days=90))
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
        language = lang or business.language
        judged.append(
            RiskOut(
                customer_id=s.customer_id,
                name=s.name,
                health=verdict.score,
                risk=verdict.risk,  # type: ignore[arg-type]
                reasons=[r.render(language) for r in verdict.reasons],
            )
        )
    judged.sort(key=lambda r: r.health)
    return judged[:limit]
