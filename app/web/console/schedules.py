"""The console's schedules page: the schedules in plain words, made and edited from a form
(a timing it cannot say kept as it is), previewed, paused, resumed and deleted."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.web.console.admins import Admin
from app.web.pages import SignedIn, context, form_fields, render, words
from bot.checkins import catalog, planning
from bot.checkins.configuration import DefinitionError, remove_schedule, save_schedule
from bot.domain import KesherError, NotFound, ScheduleRecord
from flows.schedules import (
    FLOWS,
    AfterEvent,
    BeforeDate,
    Every,
    ScheduleError,
    describe,
    parse_schedule,
)

router = APIRouter(prefix="/console", include_in_schema=False)

PREVIEW_DAYS = 7
PREVIEW_SHOWN = 20


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
        "console/schedules.html",
        context(
            signed,
            schedules=listed,
            flows=[*FLOWS, *(f"{catalog.CUSTOM}{c}" for c in custom)],
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
        total, found = await planning.preview(
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
        "console/preview.html",
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
            if not await remove_schedule(uow, signed.business.id, name):
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
