"""The REST API for insights: NPS and CSAT with their weekly trend, response rates, churn risk,
feedback themes, and the weekly digest (JSON, CSV, PDF)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from app.web.deps import AdminBusiness, ServicesDep
from app.web.errors import ApiError
from app.web.text_json import TextJsonRoute
from bot.domain import Business
from bot.insights import digest, exports
from bot.insights import reports as insights
from bot.services import Services
from flows.insights import CsatSummary, NpsSummary, by_week, csat, nps, sunday_of
from flows.schedules import FIRST_YEAR, LAST_YEAR
from flows.themes import quoted

router = APIRouter(
    prefix="/api/v1/{business}/insights", tags=["insights"], route_class=TextJsonRoute
)

Weeks = Annotated[int, Query(ge=1, le=104, description="how many weeks back")]


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


Segment = Annotated[
    str,
    Field(description="`language:he`, `channel:telegram` or `tag:vip`; a customer counts in each"),
]


class NpsSegment(NpsOut):
    segment: Segment


class NpsReport(NpsOut):
    weeks: list[NpsWeek]
    schedules: list[NpsSchedule]
    segments: list[NpsSegment]


class CsatOut(BaseModel):
    total: int
    average: float | None
    satisfied: float | None = Field(description="the share answering 4 or 5")


class CsatWeek(CsatOut):
    week: date


class CsatSchedule(CsatOut):
    schedule: str


class CsatSegment(CsatOut):
    segment: Segment


class CsatReport(CsatOut):
    weeks: list[CsatWeek]
    schedules: list[CsatSchedule]
    segments: list[CsatSegment]


def _nps(scores: Sequence[int]) -> dict[str, Any]:
    return _nps_fields(nps(scores))


def _nps_fields(summary: NpsSummary) -> dict[str, Any]:
    return NpsOut(
        score=summary.score,
        promoters=summary.promoters,
        passives=summary.passives,
        detractors=summary.detractors,
        total=summary.total,
    ).model_dump()


@router.get("/nps", response_model=NpsReport)
async def nps_report(
    services: ServicesDep, business: AdminBusiness, weeks: Weeks = 12
) -> NpsReport:
    """Net Promoter Score: promoters (9–10), passives (7–8), detractors (0–6), by week, schedule
    and segment (the customer's language, channel and tags)."""
    found = await insights.scores(services, business, "nps", since=_since(services, weeks))
    return NpsReport(
        **_nps(found.values),
        weeks=[
            NpsWeek(week=week, **_nps(scores))
            for week, scores in by_week(found.scored, timezone=business.timezone).items()
        ],
        schedules=[NpsSchedule(schedule=name, **_nps(s)) for name, s in found.per_schedule.items()],
        segments=[NpsSegment(segment=name, **_nps(s)) for name, s in found.per_segment.items()],
    )


def _csat(scores: Sequence[int]) -> dict[str, Any]:
    return _csat_fields(csat(scores))


def _csat_fields(summary: CsatSummary) -> dict[str, Any]:
    return CsatOut(
        total=summary.total, average=summary.average, satisfied=summary.satisfied
    ).model_dump()


@router.get("/csat", response_model=CsatReport)
async def csat_report(
    services: ServicesDep, business: AdminBusiness, weeks: Weeks = 12
) -> CsatReport:
    """Customer satisfaction (1–5): average and share satisfied, by week, schedule and segment."""
    found = await insights.scores(services, business, "csat", since=_since(services, weeks))
    return CsatReport(
        **_csat(found.values),
        weeks=[
            CsatWeek(week=week, **_csat(scores))
            for week, scores in by_week(found.scored, timezone=business.timezone).items()
        ],
        schedules=[
            CsatSchedule(schedule=name, **_csat(s)) for name, s in found.per_schedule.items()
        ],
        segments=[CsatSegment(segment=name, **_csat(s)) for name, s in found.per_segment.items()],
    )


class RateOut(BaseModel):
    schedule: str
    sent: int = Field(description="touches made")
    answered: int
    rate: float | None
    skipped: int


@router.get("/response-rates", response_model=list[RateOut])
async def response_rates(
    services: ServicesDep, business: AdminBusiness, weeks: Weeks = 12
) -> list[RateOut]:
    """Per schedule: touches made, answered, the share answered, and touches skipped."""
    found = await insights.rates(services, business, since=_since(services, weeks))
    return [
        RateOut(
            schedule=r.schedule,
            sent=r.rate.sent,
            answered=r.rate.answered,
            rate=r.rate.share,
            skipped=r.skipped,
        )
        for r in found
    ]


class RiskOut(BaseModel):
    customer_id: uuid.UUID
    name: str | None
    health: int = Field(description="0 (about to leave) … 100 (well)")
    risk: Literal["high", "medium", "low"]
    reasons: list[str]


@router.get("/churn-risk", response_model=list[RiskOut])
async def churn_risk(
    services: ServicesDep,
    business: AdminBusiness,
    lang: Annotated[Literal["he", "en"] | None, Query(description="reasons' language")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[RiskOut]:
    """Customers by health, lowest first, each score explained."""
    found = await insights.at_risk(
        services, business, language=lang or business.language, limit=limit
    )
    return [_risk_out(r) for r in found]


def _risk_out(risk: insights.Risk) -> RiskOut:
    return RiskOut(
        customer_id=risk.customer_id,
        name=risk.name,
        health=risk.health,
        risk=risk.risk,  # type: ignore[arg-type]
        reasons=risk.reasons,
    )


class QuoteOut(BaseModel):
    customer_id: uuid.UUID
    text: str
    at: datetime
    source: Literal["answer", "feedback", "complaint"]


class ThemeWeek(BaseModel):
    week: date
    count: int


class ThemeOut(BaseModel):
    word: str = Field(description="the word the theme's remarks share")
    label: str = Field(description="the language model's name for it, or the word")
    summary: str | None = Field(description="the language model's summary; null without one")
    words: list[str] = Field(description="other words these remarks share")
    count: int
    customers: int
    weeks: list[ThemeWeek]
    quotes: list[QuoteOut]


class ThemesReport(BaseModel):
    total: int = Field(description="remarks looked at")
    unthemed: int = Field(description="remarks in no theme")
    themes: list[ThemeOut]


@router.get("/themes", response_model=ThemesReport)
async def themes_report(
    services: ServicesDep,
    business: AdminBusiness,
    weeks: Weeks = 12,
    lang: Annotated[Literal["he", "en"] | None, Query(description="labels' language")] = None,
) -> ThemesReport:
    """What customers write about: free-text answers, feedback and complaints grouped into
    themes by the words they share, each with its count, weekly trend and example quotes."""
    found = await insights.themes(
        services,
        business,
        since=_since(services, weeks),
        language=lang or business.language,
    )
    return _themes_out(found, business.timezone)


def _themes_out(found: insights.Themes, timezone: str) -> ThemesReport:
    return ThemesReport(
        total=found.total,
        unthemed=found.unthemed,
        themes=[
            ThemeOut(
                word=named.theme.word,
                label=named.label,
                summary=named.summary,
                words=list(named.theme.words),
                count=named.theme.count,
                customers=named.theme.customers,
                weeks=[
                    ThemeWeek(week=week, count=count)
                    for week, count in named.theme.weeks(timezone).items()
                ],
                quotes=[
                    QuoteOut(
                        customer_id=r.customer_id,
                        text=quoted(r.text),
                        at=r.at,
                        source=r.source,  # type: ignore[arg-type]
                    )
                    for r in named.theme.quotes()
                ],
            )
            for named in found.themes
        ],
    )


class AgentWeekOut(BaseModel):
    agent: int | None = Field(description="the agent's id; null for handoffs no agent held")
    name: str | None
    conversations_handled: int = Field(
        description="conversations the agent replied to or resolved, each once in the week"
    )
    handoffs_resolved: int
    first_responses: int
    first_response_seconds: int | None = Field(
        description="average from the request to a person's first answer, over the week's"
    )
    resolution_seconds: int | None = Field(
        description="average from the request to the resolution, over the week's resolutions"
    )
    follow_up_answers: int = Field(description='answers to "did we solve it?" after a handoff')
    solved: int = Field(description="of those, how many said yes")


def _seconds(value: timedelta | None) -> int | None:
    return int(value.total_seconds()) if value is not None else None


class DigestOut(BaseModel):
    week: date = Field(description="the Sunday that starts the week")
    last_day: date
    nps: NpsOut
    nps_week_before: NpsOut
    csat: CsatOut
    csat_week_before: CsatOut
    checkins_sent: int
    checkins_answered: int
    at_risk: list[RiskOut] = Field(description="customers at high or medium risk, lowest first")
    themes: ThemesReport
    team: list[AgentWeekOut] = Field(description="each agent's handoffs in the week")


# A week and the weeks either side of it must be dates: nothing outside these years is asked.
Week = Annotated[
    date | None,
    Query(
        ge=date(FIRST_YEAR, 1, 1),
        le=date(LAST_YEAR, 12, 31),
        description=f"any day of the week wanted ({FIRST_YEAR}-{LAST_YEAR}); "
        "by default the last whole week",
    ),
]
Language = Annotated[Literal["he", "en"] | None, Query(description="the digest's language")]


async def digest_of(
    services: Services, business: Business, week: date | None, language: str
) -> digest.Digest:
    start = sunday_of(week) if week else digest.last_week(services.clock.now(), business.timezone)
    return await digest.weekly(services, business, week=start, language=language)


@router.get("/digest", response_model=DigestOut)
async def weekly_digest(
    services: ServicesDep, business: AdminBusiness, week: Week = None, lang: Language = None
) -> DigestOut:
    """The weekly digest for management: the week's NPS and CSAT against the week before,
    check-ins answered, who is at risk and why, and the week's top themes."""
    found = await digest_of(services, business, week, lang or business.language)
    return DigestOut(
        week=found.week,
        last_day=found.last_day,
        nps=NpsOut(**_nps_fields(found.nps)),
        nps_week_before=NpsOut(**_nps_fields(found.nps_before)),
        csat=CsatOut(**_csat_fields(found.csat)),
        csat_week_before=CsatOut(**_csat_fields(found.csat_before)),
        checkins_sent=found.touches.sent,
        checkins_answered=found.touches.answered,
        at_risk=[_risk_out(r) for r in found.at_risk],
        themes=_themes_out(found.themes, business.timezone),
        team=[
            AgentWeekOut(
                agent=row.agent_id,
                name=row.agent,
                conversations_handled=row.conversations,
                handoffs_resolved=row.handled,
                first_responses=row.answered,
                first_response_seconds=_seconds(row.first_response),
                resolution_seconds=_seconds(row.resolution),
                follow_up_answers=row.follow_ups,
                solved=row.solved,
            )
            for row in found.team
        ],
    )


@router.get("/digest.csv", response_class=Response)
async def weekly_digest_csv(
    services: ServicesDep, business: AdminBusiness, week: Week = None, lang: Language = None
) -> Response:
    """The weekly digest's figures as CSV: section, name, value."""
    return digest_csv(await digest_of(services, business, week, lang or business.language))


@router.get("/digest.pdf", response_class=Response)
async def weekly_digest_pdf(
    services: ServicesDep, business: AdminBusiness, week: Week = None, lang: Language = None
) -> Response:
    """The weekly digest as a PDF, right to left in Hebrew."""
    language = lang or business.language
    return await digest_pdf(services, await digest_of(services, business, week, language), language)


def _download(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def digest_csv(found: digest.Digest) -> Response:
    return Response(
        exports.digest_csv(found),
        media_type="text/csv; charset=utf-8",
        headers=_download(f"{found.business.slug}-digest-{found.week.isoformat()}.csv"),
    )


async def digest_pdf(services: Services, found: digest.Digest, language: str) -> Response:
    font = services.pdf_font
    paper = await digest.pdf(found, language, font=font)
    if paper is None:
        raise ApiError(
            503,
            "pdf_font_missing",
            f"PDF needs a TrueType font with Hebrew letters: {font} is missing "
            "(install fonts-dejavu-core or set KESHER_PDF_FONT)",
        )
    return Response(
        paper,
        media_type="application/pdf",
        headers=_download(f"{found.business.slug}-digest-{found.week.isoformat()}.pdf"),
    )


def _since(services: Services, weeks: int) -> datetime:
    return services.clock.now() - timedelta(weeks=weeks)
