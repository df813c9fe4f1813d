"""The business console for admins: insights at a glance; schedules, customers, channels,
agents, contact rules, API keys and the business's settings set up from forms; a customer's
record exported or deleted on request.

Same stack and login as the inbox (an admin's session); the numbers come from the insights
API's own functions and the forms call the same services as the API and the CLI, so they
never disagree. Charts are SVG from the server.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, File, Path, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from app.web import charts
from app.web.api.data import csv_download, json_download
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
from app.web.deps import SettingsDep
from app.web.errors import error_response
from app.web.pages import Signed, SignedIn, context, form_fields, render, words
from bot.accounts import privacy
from bot.accounts.businesses import (
    SENSITIVITIES,
    create_key,
    revoke_key,
    set_consent_words,
    set_sensitivity,
)
from bot.accounts.channels import (
    connect_telegram,
    connect_whatsapp,
    disconnect_telegram,
    disconnect_whatsapp,
    set_whatsapp_templates,
)
from bot.accounts.customers import csv_rows, decode_csv, import_customers, search_customers
from bot.checkins import dispatch as checkins
from bot.checkins.configuration import DefinitionError, save_rules, save_schedule
from bot.checkins.dispatch import contact_rules
from bot.domain import (
    AccountStatus,
    AgentRole,
    ChannelName,
    Customer,
    Forbidden,
    KesherError,
    NotFound,
    ScheduleRecord,
)
from bot.handoffs.agents import change_agent, create_agent
from bot.insights import digest, exports
from bot.insights import reports as insights_of
from bot.outbound.whatsapp_templates import KINDS, LANGUAGES, VARIABLES
from flows.contact import DAYS
from flows.insights import week_of
from flows.schedules import (
    FLOWS,
    AfterEvent,
    BeforeDate,
    Every,
    ScheduleError,
    describe,
    parse_schedule,
)
from flows.text import normalise
from flows.themes import quoted

router = APIRouter(prefix="/console", include_in_schema=False)

WEEKS = 12
PREVIEW_DAYS = 7
PREVIEW_SHOWN = 20
SEARCH_SHOWN = 20
MAX_ID = 2**31 - 1  # an integer column's largest id
SEARCH_LENGTH = 200
AUDIT_SHOWN = 10


class AdminsOnly(Forbidden):
    """An agent who is not an admin opened a console page."""

    def __init__(self, signed: SignedIn) -> None:
        super().__init__("the console is for the business's admins", code="admins_only")
        self.signed = signed


async def admin(signed: Signed) -> SignedIn:
    if signed.agent.role is not AgentRole.ADMIN:
        raise AdminsOnly(signed)
    return signed


Admin = Annotated[SignedIn, Depends(admin)]


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
        "console.html",
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
        "console_digest.html",
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


@router.get("/schedules", response_class=HTMLResponse)
async def schedules(request: Request, signed: Admin, error: str | None = None) -> HTMLResponse:
    return await _schedules_page(request, signed, error=error)


async def _schedules_page(
    request: Request,
    signed: SignedIn,
    *,
    error: str | None = None,
    typed: dict[str, str] | None = None,
    problems: list[str] | None = None,
    editing: ScheduleRecord | None = None,
) -> HTMLResponse:
    """The schedules and the form: new, or `editing` one; `typed` is what the form shows."""
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
    shown = {**NEW_SCHEDULE, **(typed or {})}
    if editing is not None and typed is None:
        shown = _typed_schedule(editing, frozenset(custom))
    return render(
        request,
        "console_schedules.html",
        context(
            signed,
            schedules=listed,
            flows=[*FLOWS, *(f"{checkins.CUSTOM}{c}" for c in custom)],
            error=error,
            typed=shown,
            problems=problems or [],
            editing=editing,
            keeps=_keeps(editing, frozenset(custom), language) if editing else {},
        ),
    )


NEW_SCHEDULE = {"when": "every", "days": "30"}


def _typed_schedule(record: ScheduleRecord, custom: frozenset[str]) -> dict[str, str]:
    """A saved schedule as the form shows it; a timing the form cannot say is kept as it is."""
    schedule = parse_schedule(record.definition, custom_flows=custom)
    typed = {"name": record.name, "flow": record.flow, "when": "keep", "days": ""}
    typed["tags"] = ", ".join(schedule.segment.tags)
    when, day = schedule.when, timedelta(days=1)
    if isinstance(when, Every) and when.period % day == timedelta(0):
        typed |= {"when": "every", "days": str(when.period.days)}
    elif isinstance(when, AfterEvent) and when.delay % day == timedelta(0):
        typed |= {"when": "after_event", "days": str(when.delay.days), "event": when.event}
    elif isinstance(when, BeforeDate):
        typed |= {"when": "before_date", "days": str(when.days), "attribute": when.attribute}
    return typed


def _keeps(record: ScheduleRecord, custom: frozenset[str], language: str) -> dict[str, str]:
    """What the edit form does not show and saving keeps: a timing in hours or at a set
    time, the segment's language, channel and attributes, the priority."""
    definition = record.definition
    segment = definition.get("segment") or {}
    kept = {
        f"segment.{k}": json.dumps(v, ensure_ascii=False) for k, v in segment.items() if k != "tags"
    }
    if "priority" in definition:
        kept["priority"] = str(definition["priority"])
    if _typed_schedule(record, custom)["when"] == "keep":
        kept["when"] = describe(parse_schedule(definition, custom_flows=custom), language)
    return kept


def definition_from(form: dict[str, str], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The schedule the console's form describes, in the YAML/API shape; editing, the saved
    `base` with what the form shows replaced (its name, priority and the rest of its segment
    kept, and its timing too when the form says "keep")."""
    kind = form.get("when", "every")
    when: Any
    if kind == "keep" and base is not None:
        when = base.get("when")
    elif kind == "after_event":
        when = {"after_event": form.get("event", "").strip(), "delay": f"{_days(form)}d"}
    elif kind == "before_date":
        when = {"before_date": form.get("attribute", "").strip(), "days": _days(form)}
    else:
        when = {"every": f"{_days(form)}d"}
    definition: dict[str, Any] = {
        **(base or {}),
        "name": base["name"] if base else form.get("name", "").strip(),
        "flow": form.get("flow", ""),
        "when": when,
    }
    segment = {k: v for k, v in (definition.pop("segment", None) or {}).items() if k != "tags"}
    tags = [t.strip() for t in form.get("tags", "").split(",") if t.strip()]
    if tags:
        segment["tags"] = tags
    if segment:
        definition["segment"] = segment
    return definition


def _days(form: dict[str, str]) -> int:
    value = form.get("days", "").strip()
    return int(value) if value.isdecimal() else 0


async def _saved_schedule(signed: SignedIn, name: str) -> ScheduleRecord:
    async with signed.services.uow() as uow:
        record = await uow.schedules.get(signed.business.id, name)
    if record is None:
        raise NotFound(f"no schedule named {name!r}", code="unknown_schedule")
    return record


@router.post("/schedules/preview", response_class=HTMLResponse)
async def preview(request: Request, signed: Admin) -> HTMLResponse:
    """Who the form's schedule would contact in the next week, and when; nothing is saved."""
    form = await form_fields(request)
    problems: list[str] = []
    total, shown, says, definition = 0, [], "", None
    try:
        base = await _saved_schedule(signed, form["editing"]) if form.get("editing") else None
        definition = definition_from(form, base.definition if base else None)
    except NotFound as missing:
        problems = [missing.message]
    services = signed.services
    async with services.uow() as uow:
        custom = await uow.flows.names(signed.business.id)
        unreachable = await uow.customers.unreachable(signed.business.id)
    try:
        schedule = parse_schedule(definition, custom_flows=custom)
    except ScheduleError as error:
        problems = problems or error.problems
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
            after_event=isinstance(definition, dict) and "after_event" in definition["when"],
            unreachable=unreachable,
        ),
    )


@router.post("/schedules")
async def create(request: Request, signed: Admin) -> Response:
    form = await form_fields(request)
    try:
        async with signed.services.uow() as uow:
            await save_schedule(
                uow, signed.business, definition_from(form), now=signed.services.clock.now()
            )
            await uow.commit()
    except DefinitionError as refused:
        return await _schedules_page(request, signed, typed=form, problems=refused.problems)
    return RedirectResponse("/console/schedules", status_code=303)


@router.get("/schedules/{name}/edit", response_class=HTMLResponse)
async def edit_schedule(request: Request, signed: Admin, name: str) -> HTMLResponse:
    """The form filled in with the schedule `name`, to change and save, or preview first."""
    try:
        record = await _saved_schedule(signed, name)
    except NotFound as missing:
        return await _schedules_page(request, signed, error=missing.message)
    return await _schedules_page(request, signed, editing=record)


@router.post("/schedules/{name}/edit")
async def update(request: Request, signed: Admin, name: str) -> Response:
    """Save the edited schedule through the same steps as `PUT /schedules/{name}`."""
    form = await form_fields(request)
    try:
        record = await _saved_schedule(signed, name)
    except NotFound as missing:
        return await _schedules_page(request, signed, error=missing.message)
    try:
        async with signed.services.uow() as uow:
            await save_schedule(
                uow,
                signed.business,
                definition_from(form, record.definition),
                now=signed.services.clock.now(),
            )
            await uow.commit()
    except DefinitionError as refused:
        return await _schedules_page(
            request, signed, typed=form, problems=refused.problems, editing=record
        )
    return RedirectResponse(f"/console/schedules#schedule-{name}", status_code=303)


@router.post("/schedules/{name}/delete")
async def delete_schedule(request: Request, signed: Admin, name: str) -> Response:
    """Delete once the box is ticked, as `DELETE /schedules/{name}`: the schedule and the
    touches it planned and has not made yet."""
    form = await form_fields(request)
    try:
        if form.get("confirm") != "on":
            raise KesherError(
                words(signed.agent.language)["delete_schedule_confirm"], code="not_confirmed"
            )
        async with signed.services.uow() as uow:
            if not await uow.schedules.delete(signed.business.id, name):
                raise NotFound(f"no schedule named {name!r}", code="unknown_schedule")
            await uow.commit()
    except KesherError as refused:
        return await _schedules_page(request, signed, error=refused.message)
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
async def channels(request: Request, signed: Admin) -> HTMLResponse:
    """Telegram and WhatsApp: connected or not, the bot or sender, the last error, the URLs;
    WhatsApp's approved templates per message kind and language."""
    return await _channels_page(request, signed)


async def _channels_page(
    request: Request,
    signed: SignedIn,
    *,
    error: str | None = None,
    typed: dict[str, dict[str, dict[str, str]]] | None = None,
    connecting: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The channels; a refused form's templates (`typed`) or WhatsApp connection fields
    (`connecting`, secrets left out) come back as the admin typed them."""
    async with signed.services.uow() as uow:
        accounts = {
            channel.value: await uow.accounts.get(signed.business.id, channel)
            for channel in (ChannelName.TELEGRAM, ChannelName.WHATSAPP)
        }
    whatsapp = accounts["whatsapp"]
    stored = dict(whatsapp.settings.get("templates") or {}) if whatsapp else {}
    shown = {
        kind: {
            language: {
                "sid": chosen.get("sid", ""),
                "variables": ", ".join(chosen.get("variables", [])),
            }
            for language in LANGUAGES
            for chosen in [stored.get(kind, {}).get(language) or {}]
        }
        for kind in KINDS
    }
    shown.update(typed or {})
    return render(
        request,
        "console_channels.html",
        context(
            signed,
            accounts=accounts,
            error=error,
            templates=shown,
            kinds=KINDS,
            languages=LANGUAGES,
            variables=VARIABLES,
            template_kind=next(iter(typed or {}), None),
            connecting=connecting or {},
        ),
    )


@router.post("/channels/whatsapp/templates/{kind}", response_model=None)
async def save_templates(
    request: Request, signed: Admin, kind: str
) -> RedirectResponse | HTMLResponse:
    """One message kind's templates (a Content SID and its variables per language), set with
    the others as they are, through the same steps as `PUT /channels/whatsapp/templates`."""
    form = await form_fields(request)
    typed = {
        language: {
            "sid": form.get(f"sid_{language}", "").strip(),
            "variables": form.get(f"variables_{language}", "").strip(),
        }
        for language in LANGUAGES
    }
    given = {
        language: {
            "sid": fields["sid"],
            "variables": [v for v in re.split(r"[\s,]+", fields["variables"]) if v],
        }
        for language, fields in typed.items()
        if fields["sid"]
    }
    services, business = signed.services, signed.business
    try:
        if kind not in KINDS:
            raise NotFound(f"no message kind {kind!r}", code="not_found")
        async with services.uow() as uow:
            account = await uow.accounts.get(business.id, ChannelName.WHATSAPP)
        if account is None or account.status is not AccountStatus.CONNECTED:
            raise NotFound(f"WhatsApp is not connected for '{business.slug}'", code="not_connected")
        templates = dict(account.settings.get("templates") or {})
        templates.pop(kind, None)
        if given:
            templates[kind] = given
        await set_whatsapp_templates(services, business, templates)
    except KesherError as refused:
        return await _channels_page(
            request, signed, error=refused.message, typed={kind: typed} if kind in KINDS else {}
        )
    return RedirectResponse("/console/channels#templates", status_code=303)


@router.post("/channels/{channel}/{action}")
async def change_channel(
    request: Request, settings: SettingsDep, signed: Admin, channel: str, action: str
) -> Response:
    """Connect or disconnect, with the same steps as `kesher telegram|whatsapp connect`."""
    form = await form_fields(request)
    services, business = signed.services, signed.business
    public = settings.public_base()
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
                mps=form.get("mps"),
            )
        elif (channel, action) == ("whatsapp", "disconnect"):
            await disconnect_whatsapp(services, business)
        else:
            raise NotFound(f"no {channel} {action}", code="not_found")
    except KesherError as refused:
        kept = {k: form.get(k, "") for k in ("account_sid", "sender", "mps")}
        return await _channels_page(request, signed, error=refused.message, connecting=kept)
    return RedirectResponse("/console/channels", status_code=303)


@router.get("/customers", response_class=HTMLResponse)
async def customers(
    request: Request, signed: Admin, q: str = "", deleted: str = ""
) -> HTMLResponse:
    """Import and export, and a customer found by name, phone or reference: their record
    exported or deleted for good (a privacy request), with the log of such requests."""
    return await _customers_page(request, signed, q=q, deleted=deleted)


async def _customers_page(
    request: Request, signed: SignedIn, *, q: str = "", deleted: str = "", **more: Any
) -> HTMLResponse:
    q = q.strip()[:SEARCH_LENGTH]
    async with signed.services.uow() as uow:
        found = await search_customers(uow, signed.business, q, limit=SEARCH_SHOWN)
        identities = {c.id: await uow.identities.for_customer(c.id) for c in found}
        log = await uow.audit.list(signed.business.id, limit=AUDIT_SHOWN)
        names = {f"agent:{a.id}": a.name for a in await uow.agents.list(signed.business.id)}
    return render(
        request,
        "console_customers.html",
        context(
            signed,
            q=q,
            found=[(c, _label(c), identities[c.id]) for c in found],
            log=[(e, names.get(e.actor, e.actor)) for e in log],
            deleted=deleted if _is_uuid(deleted) else "",
            **more,
        ),
    )


def _label(customer: Customer) -> str:
    """What the admin types to confirm a delete: the name, else the start of the id."""
    return (customer.name or "").strip() or str(customer.id)[:8]


def _confirms(typed: str, label: str) -> bool:
    """The label as typed: any case, and without the niqqud or emoji a keyboard may not have."""
    if typed.strip().casefold() == label.casefold():
        return True
    plain = normalise(label)
    return bool(plain) and normalise(typed) == plain


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _actor(signed: SignedIn) -> str:
    """Who did it, for the audit log: the admin by their id (the page shows their name)."""
    return f"agent:{signed.agent.id}"


@router.post("/customers/{customer_id}/export", response_model=None)
async def export_customer(
    request: Request, signed: Admin, customer_id: str
) -> JSONResponse | HTMLResponse:
    """The same record as the API's export, as a JSON file; written to the audit log."""
    services = signed.services
    try:
        if not _is_uuid(customer_id):
            raise NotFound(f"no customer {customer_id}", code="unknown_customer")
        async with services.uow() as uow:
            record = await privacy.export_customer(
                uow,
                signed.business,
                uuid.UUID(customer_id),
                actor=_actor(signed),
                now=services.clock.now(),
            )
            await uow.commit()
    except KesherError as refused:
        return await _customers_page(request, signed, problem=refused.message)
    return JSONResponse(
        jsonable_encoder(record),
        headers={
            "Content-Disposition": (
                f'attachment; filename="{signed.business.slug}-customer-{uuid.UUID(customer_id)}.json"'
            ),
            "Cache-Control": "no-store",
        },
    )


@router.post("/customers/{customer_id}/delete", response_model=None)
async def delete_customer(
    request: Request, signed: Admin, customer_id: str
) -> RedirectResponse | HTMLResponse:
    """Delete for good once the admin typed the customer's name (or the start of the id)."""
    form = await form_fields(request)
    services = signed.services
    t = words(signed.agent.language)
    try:
        async with services.uow() as uow:
            customer = (
                await uow.customers.get(signed.business.id, uuid.UUID(customer_id))
                if _is_uuid(customer_id)
                else None
            )
            if customer is None:
                raise NotFound(f"no customer {customer_id}", code="unknown_customer")
            if not _confirms(form.get("confirm", ""), _label(customer)):
                raise KesherError(
                    t["delete_confirm_wrong"].format(label=_label(customer)), code="not_confirmed"
                )
            await privacy.delete_customer(
                uow, signed.business, customer.id, actor=_actor(signed), now=services.clock.now()
            )
            await uow.commit()
    except KesherError as refused:
        return await _customers_page(request, signed, q=form.get("q", ""), problem=refused.message)
    return RedirectResponse(f"/console/customers?deleted={customer_id}", status_code=303)


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
    return await _customers_page(request, signed, report=report, error=error)


@router.get("/customers/export.csv", response_class=StreamingResponse)
async def export_file(signed: Admin) -> StreamingResponse:
    """The same file as the API's export: edit it and upload it again."""
    chunks = exports.customers_csv(signed.services, signed.business)
    return csv_download(chunks, f"{signed.business.slug}-customers.csv")


@router.get("/customers/conversations.csv", response_class=StreamingResponse)
async def export_conversations(signed: Admin) -> StreamingResponse:
    """Every message of every customer: the same file as the API's export."""
    chunks = exports.conversations_csv(signed.services, signed.business)
    return csv_download(chunks, f"{signed.business.slug}-conversations.csv")


@router.get("/customers/conversations.json", response_class=StreamingResponse)
async def export_conversations_json(signed: Admin) -> StreamingResponse:
    chunks = exports.conversations_json(signed.services, signed.business)
    return json_download(chunks, f"{signed.business.slug}-conversations.json")


@router.get("/agents", response_class=HTMLResponse)
async def agents(request: Request, signed: Admin, error: str | None = None) -> HTMLResponse:
    """The business's team: who is online, their capacity and load, and a form for a new one."""
    return await _agents_page(request, signed, error=error)


async def _agents_page(
    request: Request,
    signed: SignedIn,
    *,
    error: str | None = None,
    typed: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The team, and the new agent's form as the admin typed it (but the password) if refused."""
    async with signed.services.uow() as uow:
        team = await uow.agents.list(signed.business.id)
        holding = await uow.agents.holding(signed.business.id)
    kept = {k: v for k, v in (typed or {}).items() if k != "password"}
    return render(
        request,
        "console_agents.html",
        context(signed, team=team, holding=holding, error=error, typed=kept),
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
                capacity=int(capacity) if capacity.isdecimal() else 0,
                now=signed.services.clock.now(),
            )
            await uow.commit()
    except KesherError as refused:
        return await _agents_page(request, signed, error=refused.message, typed=form)
    return RedirectResponse("/console/agents", status_code=303)


@router.post("/agents/{agent_id}")
async def change_agent_form(
    request: Request, signed: Admin, agent_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    """A new capacity or role from the team table."""
    form = await form_fields(request)
    capacity = form.get("capacity", "")
    try:
        async with signed.services.uow() as uow:
            await change_agent(
                uow,
                signed.business,
                agent_id,
                capacity=int(capacity) if capacity.isdecimal() and len(capacity) < 4 else 0,
                role=AgentRole.ADMIN if form.get("role") == "admin" else AgentRole.AGENT,
            )
            await uow.commit()
    except KesherError as refused:
        return await agents(request, signed, error=refused.message)
    return RedirectResponse("/console/agents", status_code=303)


@router.get("/rules", response_class=HTMLResponse)
async def rules(request: Request, signed: Admin) -> HTMLResponse:
    """When Kesher may reach out: the hours of each day, holidays, closed days, how often."""
    return _rules_page(request, signed)


def _rules_page(
    request: Request,
    signed: SignedIn,
    *,
    error: str | None = None,
    typed: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The form with the saved rules, or with what the admin typed when it was refused."""
    current = contact_rules(signed.business)
    saved = {
        **{
            f"hours_{day}": f"{w[0]:%H:%M}-{w[1]:%H:%M}" if w else ""
            for day, w in zip(DAYS, current.week, strict=True)
        },
        "holidays": "on" if current.holidays else "",
        "closed_dates": ", ".join(sorted(d.isoformat() for d in current.closed_dates)),
        "max_touches": str(current.max_touches),
        "cap_days": str(current.cap_window.days),
        "rest_days": str(current.rest_after_answer.days),
    }
    values = {name: typed.get(name, "") for name in saved} if typed else saved
    return render(
        request, "console_rules.html", context(signed, days=DAYS, values=values, error=error)
    )


def rules_from(form: dict[str, str]) -> dict[str, Any]:
    """The contact rules the console's form describes, in the YAML/API shape."""
    return {
        "hours": {day: form.get(f"hours_{day}", "").strip() or None for day in DAYS},
        "holidays": form.get("holidays") == "on",
        "closed_dates": [d.strip() for d in form.get("closed_dates", "").split(",") if d.strip()],
        "max_touches": int(v) if (v := form.get("max_touches", "").strip()).isdecimal() else v,
        "cap_window": f"{form.get('cap_days', '').strip()}d",
        "rest_after_answer": f"{form.get('rest_days', '').strip()}d",
    }


@router.post("/rules")
async def save_contact_rules(request: Request, signed: Admin) -> Response:
    form = await form_fields(request)
    try:
        async with signed.services.uow() as uow:
            await save_rules(uow, signed.business, rules_from(form))
            await uow.commit()
    except DefinitionError as refused:
        return _rules_page(request, signed, error="; ".join(refused.problems), typed=form)
    return RedirectResponse("/console/rules", status_code=303)


@router.get("/keys", response_class=HTMLResponse)
async def keys(request: Request, signed: Admin, revoked: str = "") -> HTMLResponse:
    """The business's API keys: when each was made and revoked, by fingerprint only."""
    return await _keys_page(request, signed, revoked=revoked if revoked.isdecimal() else "")


async def _keys_page(request: Request, signed: SignedIn, **more: Any) -> HTMLResponse:
    async with signed.services.uow() as uow:
        listed = await uow.businesses.api_keys(signed.business.id)
    return render(
        request,
        "console_keys.html",
        context(signed, keys=list(reversed(listed)), **more),
    )


@router.post("/keys", response_class=HTMLResponse)
async def new_key(request: Request, signed: Admin) -> HTMLResponse:
    """A new key, on this page only: it is not kept, so it can never be shown again."""
    services = signed.services
    async with services.uow() as uow:
        record, key = await create_key(uow, signed.business, now=services.clock.now())
        await uow.commit()
    page = await _keys_page(request, signed, new_key=key, new_id=record.id)
    page.headers["Cache-Control"] = "no-store"
    return page


@router.post("/keys/{key_id}/revoke", response_model=None)
async def revoke(request: Request, signed: Admin, key_id: str) -> RedirectResponse | HTMLResponse:
    """Revoke once the box is ticked; any key may go (the console needs none)."""
    form = await form_fields(request)
    services = signed.services
    try:
        if form.get("confirm") != "on":
            raise KesherError(words(signed.agent.language)["revoke_confirm"], code="not_confirmed")
        if not key_id.isdecimal() or int(key_id) > MAX_ID:
            raise NotFound(f"no API key {key_id}", code="unknown_key")
        async with services.uow() as uow:
            await revoke_key(uow, signed.business, int(key_id), now=services.clock.now())
            await uow.commit()
    except KesherError as refused:
        return await _keys_page(request, signed, error=refused.message)
    return RedirectResponse(f"/console/keys?revoked={key_id}", status_code=303)


@router.get("/settings", response_class=HTMLResponse)
async def settings(request: Request, signed: Admin, saved: str = "") -> HTMLResponse:
    """The business's own opt-out and opt-in words, and how readily a person steps in."""
    return _settings_page(request, signed, saved=saved)


def _settings_page(request: Request, signed: SignedIn, **more: Any) -> HTMLResponse:
    business = signed.business
    shown = {
        "opt_out": "\n".join(business.opt_out_words),
        "opt_in": "\n".join(business.opt_in_words),
        "sensitivity": business.detector_sensitivity,
    }
    shown.update(more.pop("typed", {}))
    return render(
        request,
        "console_settings.html",
        context(signed, shown=shown, sensitivities=SENSITIVITIES, **more),
    )


def _word_list(text: str) -> list[str]:
    """Words from a text box: one a line, or separated by commas."""
    return [w for w in re.split(r"[\n,]", text) if w.strip()]


@router.post("/settings/words", response_model=None)
async def save_words(request: Request, signed: Admin) -> RedirectResponse | HTMLResponse:
    form = await form_fields(request)
    typed = {"opt_out": form.get("opt_out", ""), "opt_in": form.get("opt_in", "")}
    try:
        async with signed.services.uow() as uow:
            await set_consent_words(
                uow,
                signed.business,
                opt_out=_word_list(typed["opt_out"]),
                opt_in=_word_list(typed["opt_in"]),
            )
            await uow.commit()
    except KesherError as refused:
        field = refused.message.partition(":")[0]
        return _settings_page(
            request,
            signed,
            typed=typed,
            words_error=refused.message,
            error_field=field if field in typed else "opt_out",
        )
    return RedirectResponse("/console/settings?saved=words", status_code=303)


@router.post("/settings/sensitivity", response_model=None)
async def save_sensitivity(request: Request, signed: Admin) -> RedirectResponse | HTMLResponse:
    form = await form_fields(request)
    try:
        async with signed.services.uow() as uow:
            await set_sensitivity(uow, signed.business, form.get("sensitivity", ""))
            await uow.commit()
    except KesherError as refused:
        return _settings_page(request, signed, sensitivity_error=refused.message)
    return RedirectResponse("/console/settings?saved=sensitivity", status_code=303)


def install(app: FastAPI) -> None:
    """The console's routes, and its refusal of agents who are not admins: a page in their
    language with the way back to the inbox (JSON for a client that asks only for JSON)."""
    app.include_router(router)

    @app.exception_handler(AdminsOnly)
    async def _admins_only(request: Request, refused: AdminsOnly) -> Response:
        accept = request.headers.get("accept", "")
        if "application/json" in accept and "text/html" not in accept:
            return error_response(403, refused.code, refused.message)
        return render(request, "console_forbidden.html", context(refused.signed), status=403)
