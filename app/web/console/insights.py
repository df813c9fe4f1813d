"""The console's first page, insights at a glance: NPS and CSAT with their weekly trend,
answers per schedule, the segments, what customers write about and who is about to leave;
and the weekly digest for management, with its CSV and PDF.

The numbers come from the insights API's own functions; charts are SVG from the server."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.web.api.insights import (
    Week,
    churn_risk,
    csat_report,
    digest_csv,
    digest_of,
    digest_pdf,
    nps_report,
    response_rates,
)
from app.web.console import charts
from app.web.console.admins import Admin
from app.web.pages import context, render, words
from bot.insights import digest
from bot.insights import reports as insights_of
from flows.insights import week_of
from flows.themes import quoted

router = APIRouter(prefix="/console", include_in_schema=False)

WEEKS = 12


@router.get("", response_class=HTMLResponse)
async def insights(request: Request, signed: Admin) -> HTMLResponse:
    """NPS and CSAT with their weekly trend, answers per schedule, who is about to leave."""
    business, language = signed.business, signed.agent.language
    nps = await nps_report(signed.services, business, weeks=WEEKS)
    csat = await csat_report(signed.services, business, weeks=WEEKS)
    rates = await response_rates(signed.services, business, weeks=WEEKS)
    risk = await churn_risk(signed.services, business, lang=language, limit=10)  # type: ignore[arg-type]
    now = signed.services.clock.now()
    themes = await insights_of.themes(
        signed.services, business, since=now - timedelta(weeks=WEEKS), language=language
    )
    t = words(language)
    pictures = {
        "nps_split": charts.split(
            [
                (t["promoters"], nps.promoters, charts.GOOD),
                (t["passives"], nps.passives, charts.MIDDLE),
                (t["detractors"], nps.detractors, charts.BAD),
            ],
            empty=t["no_answers"],
        ),
        "nps_trend": charts.trend(
            "NPS",
            [(w.week.strftime("%d/%m"), w.score) for w in nps.weeks],
            low=-100,
            high=100,
            empty=t["no_answers"],
        ),
        "csat_trend": charts.trend(
            "CSAT",
            [(w.week.strftime("%d/%m"), w.average) for w in csat.weeks],
            low=1,
            high=5,
            empty=t["no_answers"],
        ),
        "rates": charts.bars(
            t["answered"],
            [(r.schedule, round(r.rate * 100) if r.rate is not None else None) for r in rates],
            high=100,
            empty=t["no_answers"],
        ),
        "themes": charts.ranking(
            t["remarks"], [(n.label, n.theme.count) for n in themes.themes], empty=t["no_remarks"]
        ),
    }
    by_nps = {s.segment: s for s in nps.segments}
    by_csat = {s.segment: s for s in csat.segments}
    segments = [
        {
            "kind": name.partition(":")[0],
            "value": name.partition(":")[2],
            "nps": by_nps.get(name),
            "csat": by_csat.get(name),
        }
        for name in sorted(by_nps.keys() | by_csat.keys())
    ]
    shown = {
        "total": themes.total,
        "unthemed": themes.unthemed,
        "themes": [_theme_shown(n, business.timezone, now) for n in themes.themes],
    }
    return render(
        request,
        "console/insights.html",
        context(
            signed,
            nps=nps,
            csat=csat,
            rates=rates,
            risk=risk,
            segments=segments,
            themes=shown,
            charts=pictures,
        ),
    )


def _theme_shown(named: insights_of.NamedTheme, timezone: str, now: datetime) -> dict[str, Any]:
    """A theme with its count this week and last, and its quotes cut to length."""
    weeks = named.theme.weeks(timezone)
    this = week_of(now, timezone)
    return {
        "label": named.label,
        "summary": named.summary,
        "theme": named.theme,
        "now": weeks.get(this, 0),
        "before": weeks.get(this - timedelta(days=7), 0),
        "quotes": [{"text": quoted(q.text), "source": q.source} for q in named.theme.quotes()],
    }


@router.get("/digest", response_class=HTMLResponse)
async def weekly_digest(request: Request, signed: Admin, week: Week = None) -> HTMLResponse:
    """Last week (or the week of `week`) for management, with its CSV and PDF."""
    language = signed.agent.language
    found = await digest_of(signed.services, signed.business, week, language)
    return render(
        request,
        "console/digest.html",
        context(
            signed,
            digest=found,
            lines=digest.lines(found, language),
            before=found.week - timedelta(days=7),
            after=found.week + timedelta(days=7),
            current=digest.last_week(signed.services.clock.now(), signed.business.timezone),
        ),
    )


@router.get("/digest.csv", response_class=Response)
async def weekly_digest_csv(request: Request, signed: Admin, week: Week = None) -> Response:
    return digest_csv(
        await digest_of(signed.services, signed.business, week, signed.agent.language)
    )


@router.get("/digest.pdf", response_class=Response)
async def weekly_digest_pdf(request: Request, signed: Admin, week: Week = None) -> Response:
    language = signed.agent.language
    found = await digest_of(signed.services, signed.business, week, language)
    return await digest_pdf(signed.services, found, language)
