"""The weekly digest for management: last week's NPS, CSAT and answers against the week before,
who is at risk and why, and what customers wrote about.

One `Digest` feeds every form of it: the console page, the PDF (here) and CSV (`bot.exports`)
downloads, the API, and what each admin gets once a week, on Sunday from 09:00 in the
business's timezone (the start of the Israeli working week): a Telegram message if they
linked Telegram, and an e-mail with the PDF if a mail server is configured.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.domain import (
    Agent,
    AgentRole,
    Attachment,
    Business,
    ChannelAccount,
    ChannelName,
    SendFailed,
)
from bot.handoffs.alert_media import tell
from bot.insights import performance
from bot.insights import reports as insights
from bot.ports import Mailer
from bot.services import Services
from flows.insights import CsatSummary, NpsSummary, Rate, csat, nps, week_of
from flows.text import Text, detect_language
from flows.themes import quoted

log = logging.getLogger(__name__)

SEND_AT = time(9)
AT_RISK = 5
THEMES = 5
KEY_TTL = timedelta(days=8)


@dataclass(frozen=True, slots=True)
class Digest:
    business: Business
    week: date
    """The Sunday that starts the week reported."""
    nps: NpsSummary
    nps_before: NpsSummary
    csat: CsatSummary
    csat_before: CsatSummary
    touches: Rate
    at_risk: list[insights.Risk]
    themes: insights.Themes
    team: list[performance.AgentWeek]
    """Each agent's figures for the week (`bot.insights.performance`)."""

    @property
    def last_day(self) -> date:
        return self.week + timedelta(days=6)


def last_week(now: datetime, timezone: str) -> date:
    """The Sunday that starts the last whole week before `now`, in the timezone."""
    return week_of(now, timezone) - timedelta(days=7)


def _start(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time(), ZoneInfo(timezone))


async def weekly(services: Services, business: Business, *, week: date, language: str) -> Digest:
    """The digest of the week that starts on the Sunday `week`."""
    start, end = _start(week, business.timezone), _start(week + timedelta(7), business.timezone)
    before = _start(week - timedelta(7), business.timezone)
    scored = {
        kind: [
            (await insights.scores(services, business, kind, since=since, until=until)).values
            for since, until in ((start, end), (before, start))
        ]
        for kind in ("nps", "csat")
    }
    rates = await insights.rates(services, business, since=start, until=end)
    risk = await insights.at_risk(services, business, language=language, limit=AT_RISK)
    return Digest(
        business=business,
        week=week,
        nps=nps(scored["nps"][0]),
        nps_before=nps(scored["nps"][1]),
        csat=csat(scored["csat"][0]),
        csat_before=csat(scored["csat"][1]),
        touches=Rate(
            sent=sum(r.rate.sent for r in rates), answered=sum(r.rate.answered for r in rates)
        ),
        at_risk=[r for r in risk if r.risk != "low"],
        themes=await insights.themes(
            services, business, since=start, until=end, language=language, most=THEMES
        ),
        team=await performance.weekly(services, business, first=week, weeks=1),
    )


TITLE = Text(he="סיכום שבועי · {business}", en="Weekly digest · {business}")
DAYS = Text(he="{first} – {last}", en="{first} – {last}")
NPS_LINE = Text(
    he="NPS {score} (בשבוע שלפני {before}) · {n} תשובות",
    en="NPS {score} (week before {before}) · {n} answers",
)
CSAT_LINE = Text(
    he="CSAT {score} מתוך 5 (בשבוע שלפני {before}) · {n} תשובות",
    en="CSAT {score} of 5 (week before {before}) · {n} answers",
)
TOUCHES = Text(
    he="ענו ל־{answered} מתוך {sent} פניות ({share})",
    en="{answered} of {sent} check-ins answered ({share})",
)
RISK_HEAD = Text(he="בסיכון", en="At risk")
NO_RISK = Text(he="אין לקוחות בסיכון גבוה או בינוני", en="No customer at high or medium risk")
THEMES_HEAD = Text(he="על מה כתבו", en="What customers wrote about")
NO_THEMES = Text(he="לא נכתב השבוע דבר שחוזר על עצמו", en="Nothing written twice this week")
THEME_LINE = Text(he="{label}: {n} פעמים", en="{label}: {n} times")
TEAM_HEAD = Text(he="הצוות", en="The team")
NO_TEAM = Text(he="לא טופלו שיחות השבוע", en="No conversations handled this week")
NOBODY = Text(he="ללא נציג/ה", en="No agent")
# Plurals by each language's rule: one, else many.
HANDLED_ONE = Text(he="שיחה אחת טופלה", en="1 conversation handled")
HANDLED_MANY = Text(he="{n} שיחות טופלו", en="{n} conversations handled")
RESOLVED_ONE = Text(he="פנייה אחת נסגרה", en="1 handoff resolved")
RESOLVED_MANY = Text(he="{n} פניות נסגרו", en="{n} handoffs resolved")
TEAM_LINE = Text(
    he="{agent}: {handled} · {resolved} · מענה ראשון {first} · עד סגירה {resolution} · נפתר לדברי הלקוחות {solved}",
    en="{agent}: {handled} · {resolved} · first answer {first} · to resolve {resolution} · solved, say customers {solved}",
)
SOMEONE = Text(he="לקוח/ה", en="a customer")
NONE = "—"


def _score(value: float | int | None) -> str:
    if value is None:
        return NONE
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def lines(digest: Digest, language: str) -> list[tuple[str, str]]:
    """The digest as (kind, text) lines in `language`: 'title', 'line', 'head', 'item', 'quote'."""
    t = language
    out = [
        ("title", TITLE.render(t, business=digest.business.name)),
        (
            "line",
            DAYS.render(
                t, first=digest.week.strftime("%d/%m/%Y"), last=digest.last_day.strftime("%d/%m/%Y")
            ),
        ),
        (
            "line",
            NPS_LINE.render(
                t,
                score=_score(digest.nps.score),
                before=_score(digest.nps_before.score),
                n=str(digest.nps.total),
            ),
        ),
        (
            "line",
            CSAT_LINE.render(
                t,
                score=_score(digest.csat.average),
                before=_score(digest.csat_before.average),
                n=str(digest.csat.total),
            ),
        ),
        (
            "line",
            TOUCHES.render(
                t,
                answered=str(digest.touches.answered),
                sent=str(digest.touches.sent),
                share=f"{digest.touches.share:.0%}" if digest.touches.share is not None else NONE,
            ),
        ),
        ("head", RISK_HEAD.render(t)),
    ]
    out += [
        ("item", f"{r.name or SOMEONE.render(t)} ({r.health}): {'; '.join(r.reasons)}")
        for r in digest.at_risk
    ] or [("line", NO_RISK.render(t))]
    out.append(("head", THEMES_HEAD.render(t)))
    for named in digest.themes.themes:
        out.append(("item", THEME_LINE.render(t, label=named.label, n=str(named.theme.count))))
        out += [("quote", f"“{quoted(q.text)}”") for q in named.theme.quotes(2)]
    if not digest.themes.themes:
        out.append(("line", NO_THEMES.render(t)))
    out.append(("head", TEAM_HEAD.render(t)))
    out += [("item", _team_line(row, t)) for row in digest.team] or [("line", NO_TEAM.render(t))]
    return out


def _team_line(row: performance.AgentWeek, language: str) -> str:
    resolved = (RESOLVED_ONE if row.handled == 1 else RESOLVED_MANY).render(
        language, n=str(row.handled)
    )
    handled = (HANDLED_ONE if row.conversations == 1 else HANDLED_MANY).render(
        language, n=str(row.conversations)
    )
    return TEAM_LINE.render(
        language,
        agent=row.agent or NOBODY.render(language),
        handled=handled,
        resolved=resolved,
        first=performance.duration(row.first_response, language),
        resolution=performance.duration(row.resolution, language),
        solved=f"{row.solved}/{row.follow_ups}" if row.follow_ups else NONE,
    )


def message(digest: Digest, language: str, link: str) -> str:
    """The digest as one plain-text message (Telegram)."""
    marks = {"title": "📊 ", "head": "\n", "item": "• ", "quote": "   "}
    body = "\n".join(marks.get(kind, "") + text for kind, text in lines(digest, language))
    return f"{body}\n\n{link}"


async def pdf(digest: Digest, language: str, *, font: str | None) -> bytes | None:
    """The digest as a PDF, drawn in a thread; None without the font."""
    return await asyncio.to_thread(_pdf, digest, language, font)


def _pdf(digest: Digest, language: str, font: str | None) -> bytes | None:
    """A one- or two-page PDF; Hebrew lines right to left (HarfBuzz shaping)."""
    if not font or not Path(font).is_file():
        return None
    # Imported here, in the digest's thread: fpdf (with fontTools, Pillow and NumPy) is a
    # quarter of the import time of every `kesher` command and worker that never draws a PDF.
    from fpdf import FPDF

    document = FPDF()
    document.set_title(TITLE.render(language, business=digest.business.name))
    document.add_page()
    document.add_font("body", fname=font)
    sizes = {"title": 18, "head": 14}
    for kind, text in lines(digest, language):
        rtl = detect_language(text) == "he"
        document.set_text_shaping(use_shaping_engine=True, direction="rtl" if rtl else "ltr")
        document.set_font("body", size=sizes.get(kind, 11))
        if kind == "head":
            document.ln(3)
        document.multi_cell(
            0, 8 if kind == "title" else 6, text, align="R" if rtl else "L", new_x="LMARGIN"
        )
    return bytes(document.output())


async def send_due(services: Services, *, now: datetime) -> int:
    """The scheduler's weekly round: from Sunday 09:00 in the business's timezone, every admin
    gets last week's digest once on Telegram (if they linked it) and once by e-mail (if a mail
    server is configured); how many were sent now. A send that failed is tried next minute."""
    async with services.uow() as uow:
        admins = await uow.agents.of_role(AgentRole.ADMIN)
    sent = 0
    for business_id, group in groupby(admins, key=lambda a: a.business_id):
        async with services.uow() as uow:
            business = await uow.businesses.get(business_id)
            account = await uow.accounts.get(business_id, ChannelName.TELEGRAM)
        this_week = week_of(now, business.timezone)
        if now < datetime.combine(this_week, SEND_AT, ZoneInfo(business.timezone)):
            continue
        for agent in group:
            sent += await _send(services, business, account, agent, this_week - timedelta(days=7))
    return sent


async def _send(
    services: Services,
    business: Business,
    account: ChannelAccount | None,
    agent: Agent,
    week: date,
) -> int:
    key = f"digest:{business.id}:{week.isoformat()}:{agent.id}"
    chat = agent.telegram_chat if account is not None else None
    telegram = chat is not None and not await services.idempotency.contains(key + ":telegram")
    mail = services.mailer is not None and not await services.idempotency.contains(key + ":mail")
    if not (telegram or mail):
        return 0
    found = await weekly(services, business, week=week, language=agent.language)
    link = f"{services.public_base}/console/digest?week={week.isoformat()}"
    text = message(found, agent.language, link)
    sent = 0
    if telegram and chat is not None:
        told = await tell(
            services, business.slug, account, chat, text, key=key + ":telegram", ttl=KEY_TTL
        )
        sent += told is True
    if mail and services.mailer is not None:
        sent += await _mail(services, services.mailer, agent, found, text, key=key + ":mail")
    return sent


async def _mail(
    services: Services, mailer: Mailer, agent: Agent, found: Digest, text: str, *, key: str
) -> int:
    if not await services.idempotency.add(key, ttl=KEY_TTL):
        return 0
    paper = await pdf(found, agent.language, font=services.pdf_font)
    name = f"{found.business.slug}-digest-{found.week.isoformat()}.pdf"
    attached = [Attachment(name, paper, "application/pdf")] if paper else []
    subject = f"{TITLE.render(agent.language, business=found.business.name)} · {found.week:%d/%m}"
    try:
        await mailer.send(agent.email, subject, text, attachments=attached)
    except SendFailed as error:
        log.warning("the digest could not be mailed to agent %s: %s", agent.id, error)
        if error.retryable:
            await services.idempotency.discard(key)
        return 0
    return 1
