"""The REST API for check-in schedules: made, changed, paused and deleted, and a schedule's
contacts in the next days previewed before it is saved."""

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
from bot.checkins import catalog, planning
from bot.checkins.configuration import DefinitionError, remove_schedule, save_schedule
from bot.domain import ScheduleRecord
from bot.ports import UnitOfWork
from flows.schedules import ScheduleError, describe, parse_schedule

router = APIRouter(prefix="/api/v1/{business}", tags=["check-ins"], route_class=TextJsonRoute)

Definition = Annotated[dict[str, Any], Body(description="the definition, as in the YAML file")]


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
    return flow.removeprefix(catalog.CUSTOM)


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
        if not await remove_schedule(uow, business.id, name):
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
    total, shown = await planning.preview(
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
