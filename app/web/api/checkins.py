"""The REST API for business events, which start check-ins, and the check-ins (touches)
planned and made."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.web.deps import AdminBusiness, ServicesDep
from app.web.errors import ApiError
from app.web.text_json import TextJsonRoute
from bot.accounts.customers import parse_customer, upsert_customer
from bot.checkins.configuration import RESERVED_EVENTS, post_event
from bot.domain import Business, Checkin, CheckinStatus, Customer
from bot.ports import UnitOfWork
from flows.schedules import FIRST_YEAR, LAST_YEAR

router = APIRouter(prefix="/api/v1/{business}", tags=["check-ins"], route_class=TextJsonRoute)


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
