"""The REST API for check-ins: schedules, custom flows, contact rules, events and the touches made."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, Field

from app.web.deps import AdminBusiness, ServicesDep
from app.web.errors import ApiError
from app.web.text_json import TextJsonRoute
from bot.accounts.customers import parse_customer, upsert_customer
from bot.checkins import dispatch as checkins
from bot.checkins.configuration import (
    RESERVED_EVENTS,
    DefinitionError,
    delete_flow,
    post_event,
    save_flow,
    save_rules,
    save_schedule,
)
from bot.domain import Business, Checkin, CheckinStatus, Customer, ScheduleRecord
from bot.ports import UnitOfWork
from flows.schedules import FIRST_YEAR, LAST_YEAR, ScheduleError, describe, parse_schedule

router = APIRouter(prefix="/api/v1/{business}", tags=["check-ins"], route_class=TextJsonRoute)

Definition = Annotated[dict[str, Any], Body(description="the definition, as in the YAML file")]
Name = Annotated[str, Field(max_length=64)]


class ScheduleOut(BaseModel):
    name: str
    flow: str
    active: bool
    priority: int
    description: dict[str, str] = Field(description="plain words, in Hebrew and English")
    definition: dict[str, Any]
    starts_at: datetime


def _schedule_out(record: ScheduleRecord) -> ScheduleOut:
    schedule = parse_schedule(record.definition, custom_flows=frozenset({_custom(record.flow)}))
    return ScheduleOut(
        name=record.name,
        flow=record.flow,
        active=record.active,
        priority=record.priority,
        description={lang: describe(schedule, lang) for lang in ("he", "en")},
        definition=dict(record.definition),
        starts_at=record.starts_at,
    )


def _custom(flow: str) -> str:
    return flow.removeprefix(checkins.CUSTOM)


@router.get("/schedules", response_model=list[ScheduleOut])
async def list_schedules(services: ServicesDep, business: AdminBusiness) -> list[ScheduleOut]:
    async with services.uow() as uow:
        return [_schedule_out(r) for r in await uow.schedules.list(business.id)]


@router.post("/schedules", response_model=ScheduleOut, status_code=201)
async def create_schedule(
    services: ServicesDep, business: AdminBusiness, definition: Definition, response: Response
) -> ScheduleOut:
    """Create a schedule, or replace the one with the same name (200)."""
    async with services.uow() as uow:
        existing = await uow.schedules.get(business.id, str(definition.get("name", "")))
        record = await save_schedule(uow, business, definition, now=services.clock.now())
        await uow.commit()
    response.status_code = 200 if existing else 201
    return _schedule_out(record)


async def _named(uow: UnitOfWork, business_id: int, name: str) -> ScheduleRecord:
    record = await uow.schedules.get(business_id, name)
    if record is None:
        raise ApiError(404, "unknown_schedule", f"no schedule named {name!r}")
    return record


@router.get("/schedules/{name}", response_model=ScheduleOut)
async def get_schedule(services: ServicesDep, business: AdminBusiness, name: str) -> ScheduleOut:
    async with services.uow() as uow:
        return _schedule_out(await _named(uow, business.id, name))


@router.put("/schedules/{name}", response_model=ScheduleOut)
async def put_schedule(
    services: ServicesDep, business: AdminBusiness, name: str, definition: Definition
) -> ScheduleOut:
    """Replace the schedule `name` (the name in the path wins); `active: false` pauses it."""
    async with services.uow() as uow:
        record = await save_schedule(
            uow, business, {**definition, "name": name}, now=services.clock.now()
        )
        await uow.commit()
    return _schedule_out(record)


@router.delete("/schedules/{name}", status_code=204)
async def delete_schedule(services: ServicesDep, business: AdminBusiness, name: str) -> Response:
    """Delete a schedule and the touches it planned and has not made yet."""
    async with services.uow() as uow:
        if not await uow.schedules.delete(business.id, name):
            raise ApiError(404, "unknown_schedule", f"no schedule named {name!r}")
        await uow.commit()
    return Response(status_code=204)


class PreviewItem(BaseModel):
    customer_id: uuid.UUID
    name: str | None
    at: datetime = Field(description="in the customer's timezone")
    channel: str


class Preview(BaseModel):
    total: int = Field(description="customers who would be contacted in the window")
    days: int
    touches: list[PreviewItem]


@router.post("/schedules/preview", response_model=Preview)
async def preview_schedule(
    services: ServicesDep,
    business: AdminBusiness,
    definition: Definition,
    days: Annotated[int, Query(ge=1, le=60)] = 7,
) -> Preview:
    """Who a schedule would contact in the next `days`, when and on which channel; nothing is saved."""
    async with services.uow() as uow:
        custom = await uow.flows.names(business.id)
    try:
        schedule = parse_schedule(definition, custom_flows=custom)
    except ScheduleError as error:
        raise DefinitionError(error.problems) from error
    total, shown = await checkins.preview(
        services, business, schedule, now=services.clock.now(), days=days
    )
    return Preview(
        total=total,
        days=days,
        touches=[
            PreviewItem(
                customer_id=c.id,
                name=c.name,
                at=at.astimezone(ZoneInfo(c.timezone)),
                channel=channel.value,
            )
            for c, at, channel in shown
        ],
    )


class FlowOut(BaseModel):
    name: str
    flow: str = Field(description="what a schedule's `flow` says to run it: custom:<name>")
    definition: dict[str, Any]


@router.get("/flows", response_model=list[FlowOut])
async def list_flows(services: ServicesDep, business: AdminBusiness) -> list[FlowOut]:
    async with services.uow() as uow:
        names = sorted(await uow.flows.names(business.id))
        return [
            FlowOut(name=n, flow=f"{checkins.CUSTOM}{n}", definition=dict(d))
            for n in names
            if (d := await uow.flows.get(business.id, n)) is not None
        ]


@router.get("/flows/{name}", response_model=FlowOut)
async def get_flow(services: ServicesDep, business: AdminBusiness, name: str) -> FlowOut:
    async with services.uow() as uow:
        definition = await uow.flows.get(business.id, name)
    if definition is None:
        raise ApiError(404, "unknown_flow", f"no flow named {name!r}")
    return FlowOut(name=name, flow=f"{checkins.CUSTOM}{name}", definition=dict(definition))


@router.put("/flows/{name}", response_model=FlowOut)
async def put_flow(
    services: ServicesDep, business: AdminBusiness, name: str, definition: Definition
) -> FlowOut:
    """Create or replace a custom flow of questions (the name in the path wins)."""
    body = {**definition, "name": name}
    async with services.uow() as uow:
        flow = await save_flow(uow, business, body, now=services.clock.now())
        await uow.commit()
    return FlowOut(name=name, flow=flow, definition=body)


@router.delete("/flows/{name}", status_code=204)
async def remove_flow(services: ServicesDep, business: AdminBusiness, name: str) -> Response:
    """Delete a custom flow; refused (400 flow_in_use) while a schedule or a touch uses it."""
    async with services.uow() as uow:
        await delete_flow(uow, business, name)
        await uow.commit()
    return Response(status_code=204)


class RulesOut(BaseModel):
    rules: dict[str, Any]


@router.get("/rules", response_model=RulesOut)
async def get_rules(business: AdminBusiness) -> RulesOut:
    """The business's contact rules as saved; keys left out keep the defaults."""
    return RulesOut(rules=dict(business.contact_rules))


@router.put("/rules", response_model=RulesOut)
async def put_rules(services: ServicesDep, business: AdminBusiness, rules: Definition) -> RulesOut:
    async with services.uow() as uow:
        await save_rules(uow, business, rules)
        await uow.commit()
    return RulesOut(rules=rules)


class CustomerRef(BaseModel):
    id: uuid.UUID | None = None
    external_id: str | None = Field(default=None, max_length=128)
    phone: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=200, description="used when created")
    language: str | None = Field(default=None, description="used when created")


class EventIn(BaseModel):
    customer: CustomerRef
    type: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", examples=["purchase"])
    occurred_at: datetime | None = Field(default=None, description="with offset; default now")
    data: dict[str, Any] = Field(default_factory=dict)
    create_customer: bool = Field(
        default=False, description="create an unknown customer instead of answering 404"
    )


class EventOut(BaseModel):
    customer_id: uuid.UUID
    created_customer: bool
    planned: int = Field(description="check-ins this event planned")


async def _referenced(
    uow: UnitOfWork, business: Business, ref: CustomerRef, *, create: bool, now: datetime
) -> tuple[Customer, bool]:
    if ref.id is not None:
        found = await uow.customers.get(business.id, ref.id)
        if found is None:
            raise ApiError(404, "unknown_customer", f"customer.id: no customer {ref.id}")
        return found, False
    fields = parse_customer(ref.model_dump(exclude_none=True, exclude={"id"}))
    if not fields.external_id and not fields.phone:
        raise ApiError(400, "invalid_customer", "customer: give id, external_id or phone")
    existing = None
    if fields.external_id:
        existing = await uow.customers.find_by_external_id(business.id, fields.external_id)
    if existing is None and fields.phone:
        existing = await uow.customers.find_by_phone(business.id, fields.phone)
    if existing is not None:
        return existing, False
    if not create:
        raise ApiError(
            404,
            "unknown_customer",
            "customer: no such customer; send create_customer: true to create it",
        )
    return await upsert_customer(uow, business, fields, now=now, source="event")


@router.post("/events", response_model=EventOut, status_code=202)
async def create_event(services: ServicesDep, business: AdminBusiness, body: EventIn) -> EventOut:
    """Record a business event (a purchase, a closed ticket) and plan the check-ins it starts."""
    if body.type in RESERVED_EVENTS:
        raise ApiError(400, "invalid_event", f"type: {body.type!r} is reserved for Kesher's own")
    if body.occurred_at is not None and body.occurred_at.tzinfo is None:
        raise ApiError(400, "invalid_event", "occurred_at: needs its offset, e.g. +02:00")
    if body.occurred_at is not None and not FIRST_YEAR <= body.occurred_at.year <= LAST_YEAR:
        raise ApiError(
            400, "invalid_event", f"occurred_at: must be in the years {FIRST_YEAR} to {LAST_YEAR}"
        )
    now = services.clock.now()
    async with services.uow() as uow:
        customer, created = await _referenced(
            uow, business, body.customer, create=body.create_customer, now=now
        )
        planned = await post_event(
            uow,
            business,
            customer,
            kind=body.type,
            occurred_at=body.occurred_at or now,
            now=now,
            data=body.data,
        )
        await uow.commit()
    return EventOut(customer_id=customer.id, created_customer=created, planned=planned)


class CheckinOut(BaseModel):
    id: int
    customer_id: uuid.UUID
    schedule: str | None
    flow: str
    status: str
    reason: str | None = Field(description="why it was skipped or moved")
    due_at: datetime
    send_at: datetime
    channel: str | None
    sent_at: datetime | None
    finished_at: datetime | None


class CheckinPage(BaseModel):
    checkins: list[CheckinOut]
    next_offset: int | None


def _checkin_out(checkin: Checkin, names: dict[int, str]) -> CheckinOut:
    return CheckinOut(
        id=checkin.id,
        customer_id=checkin.customer_id,
        schedule=names.get(checkin.schedule_id) if checkin.schedule_id else None,
        flow=checkin.flow,
        status=checkin.status.value,
        reason=checkin.reason,
        due_at=checkin.due_at,
        send_at=checkin.send_at,
        channel=checkin.channel.value if checkin.channel else None,
        sent_at=checkin.sent_at,
        finished_at=checkin.finished_at,
    )


@router.get("/checkins", response_model=CheckinPage)
async def list_checkins(
    services: ServicesDep,
    business: AdminBusiness,
    status: CheckinStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> CheckinPage:
    """Planned, sent, answered, expired and skipped touches, by time, with their reasons."""
    async with services.uow() as uow:
        names = {s.id: s.name for s in await uow.schedules.list(business.id)}
        found = list(
            await uow.checkins.list(business.id, status=status, limit=limit + 1, offset=offset)
        )
    more = len(found) > limit
    return CheckinPage(
        checkins=[_checkin_out(c, names) for c in found[:limit]],
        next_offset=offset + limit if more else None,
    )
