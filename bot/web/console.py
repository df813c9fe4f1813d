"""The business console for admins: insights at a glance; schedules, customers, channels,
agents and contact rules set up from forms.

Same stack and login as the inbox (an admin's session); the numbers come from the insights
API's own functions and the forms call the same services as the API and the CLI, so they
never disagree. Charts are SVG from the server.
"""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from bot import checkins, exports
from bot.agents import create_agent
from bot.channels import (
    connect_telegram,
    connect_whatsapp,
    disconnect_telegram,
    disconnect_whatsapp,
)
from bot.checkins import contact_rules
from bot.customers import csv_rows, decode_csv, import_customers
from bot.domain import AgentRole, ChannelName, Forbidden, KesherError, NotFound
from bot.schedules import DefinitionError, save_rules, save_schedule
from bot.web import charts
from bot.web.access import runtime_of
from bot.web.customers import csv_download
from bot.web.inbox import Desk, Signed, context, form_fields, render, templates
from bot.web.insights import churn_risk, csat_report, nps_report, response_rates
from flows.contact import DAYS
from flows.schedules import FLOWS, ScheduleError, describe, parse_schedule

router = APIRouter(prefix="/console", include_in_schema=False)

WEEKS = 12
PREVIEW_DAYS = 7
PREVIEW_SHOWN = 20


async def admin(signed: Signed) -> Desk:
    if signed.agent.role is not AgentRole.ADMIN:
        raise Forbidden("the console is for the business's admins", code="admins_only")
    return signed


Admin = Annotated[Desk, Depends(admin)]


@router.get("", response_class=HTMLResponse)
async def insights(request: Request, signed: Admin) -> HTMLResponse:
    """NPS and CSAT with their weekly trend, answers per schedule, who is about to leave."""
    business, language = signed.business, signed.agent.language
    nps = await nps_report(request, business, weeks=WEEKS)
    csat = await csat_report(request, business, weeks=WEEKS)
    rates = await response_rates(request, business, weeks=WEEKS)
    risk = await churn_risk(request, business, lang=language, limit=10)  # type: ignore[arg-type]
    t = _words(language)
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
    }
    return render(
        request,
        "console.html",
        context(signed, nps=nps, csat=csat, rates=rates, risk=risk, charts=pictures),
    )


def _words(language: str) -> dict[str, Any]:
    """The pages' own words (inbox_strings.html), for the charts' labels."""
    strings: dict[str, dict[str, Any]] = templates.env.get_template(
        "inbox_strings.html"
    ).module.strings  # type: ignore[attr-defined]
    return strings.get(language, strings["he"])


@router.get("/schedules", response_class=HTMLResponse)
async def schedules(request: Request, signed: Admin, error: str | None = None) -> HTMLResponse:
    async with signed.services.uow() as uow:
        records = await uow.schedules.list(signed.business.id)
        custom = sorted(await uow.flows.names(signed.business.id))
    language = signed.agent.language
    listed = [
        {
            "record": r,
            "says": describe(
                parse_schedule(r.definition, custom_flows=frozenset(custom)), language
            ),
        }
        for r in records
    ]
    return render(
        request,
        "console_schedules.html",
        context(
            signed,
            schedules=listed,
            flows=[*FLOWS, *(f"{checkins.CUSTOM}{c}" for c in custom)],
            error=error,
        ),
    )


def definition_from(form: dict[str, str]) -> dict[str, Any]:
    """The schedule the console's form describes, in the YAML/API shape."""
    kind = form.get("when", "every")
    when: dict[str, Any]
    if kind == "after_event":
        when = {"after_event": form.get("event", "").strip(), "delay": f"{_days(form)}d"}
    elif kind == "before_date":
        when = {"before_date": form.get("attribute", "").strip(), "days": _days(form)}
    else:
        when = {"every": f"{_days(form)}d"}
    definition: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "flow": form.get("flow", ""),
        "when": when,
    }
    tags = [t.strip() for t in form.get("tags", "").split(",") if t.strip()]
    if tags:
        definition["segment"] = {"tags": tags}
    return definition


def _days(form: dict[str, str]) -> int:
    value = form.get("days", "").strip()
    return int(value) if value.isdigit() else 0


@router.post("/schedules/preview", response_class=HTMLResponse)
async def preview(request: Request, signed: Admin) -> HTMLResponse:
    """Who the form's schedule would contact in the next week, and when; nothing is saved."""
    definition = definition_from(await form_fields(request))
    services = signed.services
    async with services.uow() as uow:
        custom = await uow.flows.names(signed.business.id)
        unreachable = await uow.customers.unreachable(signed.business.id)
    problems: list[str] = []
    total, shown, says = 0, [], ""
    try:
        schedule = parse_schedule(definition, custom_flows=custom)
    except ScheduleError as error:
        problems = error.problems
    else:
        says = describe(schedule, signed.agent.language)
        total, found = await checkins.preview(
            services,
            signed.business,
            schedule,
            now=services.clock.now(),
            days=PREVIEW_DAYS,
            limit=PREVIEW_SHOWN,
        )
        shown = [
            (c.name or str(c.id)[:8], at.astimezone(ZoneInfo(c.timezone)), channel.value)
            for c, at, channel in found
        ]
    return render(
        request,
        "console_preview.html",
        context(
            signed,
            problems=problems,
            total=total,
            shown=shown,
            says=says,
            days=PREVIEW_DAYS,
            after_event="after_event" in definition["when"],
            unreachable=unreachable,
        ),
    )


@router.post("/schedules")
async def create(request: Request, signed: Admin) -> Response:
    definition = definition_from(await form_fields(request))
    try:
        async with signed.services.uow() as uow:
            await save_schedule(uow, signed.business, definition, now=signed.services.clock.now())
            await uow.commit()
    except DefinitionError as refused:
        return await schedules(request, signed, error="; ".join(refused.problems))
    return RedirectResponse("/console/schedules", status_code=303)


@router.post("/schedules/{name}/pause")
@router.post("/schedules/{name}/resume")
async def pause(request: Request, signed: Admin, name: str) -> Response:
    active = request.url.path.endswith("/resume")
    try:
        async with signed.services.uow() as uow:
            record = await uow.schedules.get(signed.business.id, name)
            if record is None:
                raise NotFound(f"no schedule named {name!r}", code="unknown_schedule")
            await save_schedule(
                uow,
                signed.business,
                {**record.definition, "active": active},
                now=signed.services.clock.now(),
            )
            await uow.commit()
    except KesherError as refused:
        return await schedules(request, signed, error=refused.message)
    return RedirectResponse("/console/schedules", status_code=303)


@router.get("/channels", response_class=HTMLResponse)
async def channels(request: Request, signed: Admin, error: str | None = None) -> HTMLResponse:
    """Telegram and WhatsApp: connected or not, the bot or sender, the last error, the URLs."""
    async with signed.services.uow() as uow:
        accounts = {
            channel.value: await uow.accounts.get(signed.business.id, channel)
            for channel in (ChannelName.TELEGRAM, ChannelName.WHATSAPP)
        }
    return render(
        request,
        "console_channels.html",
        context(signed, accounts=accounts, error=error),
    )


@router.post("/channels/{channel}/{action}")
async def change_channel(request: Request, signed: Admin, channel: str, action: str) -> Response:
    """Connect or disconnect, with the same steps as `kesher telegram|whatsapp connect`."""
    form = await form_fields(request)
    services, business = signed.services, signed.business
    public = runtime_of(request).settings.public_base()
    try:
        if (channel, action) == ("telegram", "connect"):
            await connect_telegram(
                services, business, token=form.get("token", ""), public_base=public
            )
        elif (channel, action) == ("telegram", "disconnect"):
            await disconnect_telegram(services, business)
        elif (channel, action) == ("whatsapp", "connect"):
            await connect_whatsapp(
                services,
                business,
                account_sid=form.get("account_sid", ""),
                auth_token=form.get("auth_token", ""),
                sender=form.get("sender", ""),
                public_base=public,
            )
        elif (channel, action) == ("whatsapp", "disconnect"):
            await disconnect_whatsapp(services, business)
        else:
            raise NotFound(f"no {channel} {action}", code="not_found")
    except KesherError as refused:
        return await channels(request, signed, error=refused.message)
    return RedirectResponse("/console/channels", status_code=303)


@router.get("/customers", response_class=HTMLResponse)
async def customers(request: Request, signed: Admin) -> HTMLResponse:
    return render(request, "console_customers.html", context(signed))


@router.post("/customers/import", response_class=HTMLResponse)
async def import_file(
    request: Request, signed: Admin, file: Annotated[UploadFile, File()]
) -> HTMLResponse:
    """A CSV uploaded from the page: the good rows kept, each bad one named by its line."""
    services = signed.services
    report, error = None, None
    try:
        text = decode_csv(await file.read())
        report = await import_customers(
            services.uow, signed.business, csv_rows(text), now=services.clock.now
        )
    except KesherError as refused:
        error = refused.message
    return render(
        request,
        "console_customers.html",
        context(signed, report=report, error=error),
    )


@router.get("/customers/export.csv", response_class=StreamingResponse)
async def export_file(signed: Admin) -> StreamingResponse:
    """The same file as the API's export: edit it and upload it again."""
    chunks = exports.customers_csv(signed.services, signed.business)
    return csv_download(chunks, f"{signed.business.slug}-customers.csv")


@router.get("/agents", response_class=HTMLResponse)
async def agents(request: Request, signed: Admin, error: str | None = None) -> HTMLResponse:
    """The business's team: who is online, their capacity and load, and a form for a new one."""
    async with signed.services.uow() as uow:
        team = await uow.agents.list(signed.business.id)
        holding = await uow.agents.holding(signed.business.id)
    return render(
        request,
        "console_agents.html",
        context(signed, team=team, holding=holding, error=error),
    )


@router.post("/agents")
async def add_agent(request: Request, signed: Admin) -> Response:
    form = await form_fields(request)
    capacity = form.get("capacity", "")
    try:
        async with signed.services.uow() as uow:
            await create_agent(
                uow,
                signed.business,
                email=form.get("email", ""),
                name=form.get("name", ""),
                password=form.get("password", ""),
                role=AgentRole.ADMIN if form.get("role") == "admin" else AgentRole.AGENT,
                language=form.get("language") if form.get("language") in ("he", "en") else None,
                capacity=int(capacity) if capacity.isdigit() else 0,
                now=signed.services.clock.now(),
            )
            await uow.commit()
    except KesherError as refused:
        return await agents(request, signed, error=refused.message)
    return RedirectResponse("/console/agents", status_code=303)


@router.get("/rules", response_class=HTMLResponse)
async def rules(request: Request, signed: Admin, error: str | None = None) -> HTMLResponse:
    """When Kesher may reach out: the hours of each day, holidays, closed days, how often."""
    current = contact_rules(signed.business)
    hours = {
        day: f"{w[0]:%H:%M}-{w[1]:%H:%M}" if w else ""
        for day, w in zip(DAYS, current.week, strict=True)
    }
    return render(
        request,
        "console_rules.html",
        context(
            signed,
            days=DAYS,
            hours=hours,
            current=current,
            closed=", ".join(sorted(d.isoformat() for d in current.closed_dates)),
            error=error,
        ),
    )


def rules_from(form: dict[str, str]) -> dict[str, Any]:
    """The contact rules the console's form describes, in the YAML/API shape."""
    return {
        "hours": {day: form.get(f"hours_{day}", "").strip() or None for day in DAYS},
        "holidays": form.get("holidays") == "on",
        "closed_dates": [d.strip() for d in form.get("closed_dates", "").split(",") if d.strip()],
        "max_touches": int(v) if (v := form.get("max_touches", "").strip()).isdigit() else v,
        "cap_window": f"{form.get('cap_days', '').strip()}d",
        "rest_after_answer": f"{form.get('rest_days', '').strip()}d",
    }


@router.post("/rules")
async def save_contact_rules(request: Request, signed: Admin) -> Response:
    try:
        async with signed.services.uow() as uow:
            await save_rules(uow, signed.business, rules_from(await form_fields(request)))
            await uow.commit()
    except DefinitionError as refused:
        return await rules(request, signed, error="; ".join(refused.problems))
    return RedirectResponse("/console/rules", status_code=303)
