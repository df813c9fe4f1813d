"""The REST API for the customer record: customers, their identities and their timeline."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from bot.domain import ChannelName, Customer, Event, Identity, Message
from bot.ports import UnitOfWork
from bot.web.access import AdminBusiness, runtime_of
from bot.web.errors import ApiError

router = APIRouter(prefix="/api/v1/{business}/customers", tags=["customers"])


class IdentityOut(BaseModel):
    channel: str
    address: str
    reachable: bool


class CustomerOut(BaseModel):
    id: uuid.UUID
    name: str | None
    phone: str | None
    language: str
    timezone: str
    attributes: dict[str, Any]
    opted_out: bool
    created_at: datetime
    identities: list[IdentityOut]


class CustomerPage(BaseModel):
    customers: list[CustomerOut]
    next_offset: int | None


class TimelineItem(BaseModel):
    type: Literal["message", "event"]
    at: datetime
    direction: str | None = None
    channel: str | None = None
    text: str | None = None
    status: str | None = None
    kind: str | None = None
    data: dict[str, Any] | None = None


class Timeline(BaseModel):
    customer_id: uuid.UUID
    items: list[TimelineItem]


def _out(customer: Customer, identities: list[Identity]) -> CustomerOut:
    return CustomerOut(
        id=customer.id,
        name=customer.name,
        phone=customer.phone,
        language=customer.language,
        timezone=customer.timezone,
        attributes=dict(customer.attributes),
        opted_out=customer.opted_out,
        created_at=customer.created_at,
        identities=[
            IdentityOut(channel=i.channel.value, address=i.address, reachable=i.reachable)
            for i in identities
        ],
    )


async def _customer(uow: UnitOfWork, business_id: int, customer_id: uuid.UUID) -> Customer:
    customer = await uow.customers.get(business_id, customer_id)
    if customer is None:
        raise ApiError(404, "unknown_customer", f"no customer {customer_id}")
    return customer


@router.get("", response_model=CustomerPage)
async def list_customers(
    request: Request,
    business: AdminBusiness,
    channel: ChannelName | None = None,
    address: Annotated[str | None, Query(max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CustomerPage:
    """All customers, oldest first; or the one customer at `channel` + `address`."""
    async with runtime_of(request).services.uow() as uow:
        if channel is not None or address is not None:
            if channel is None or address is None:
                raise ApiError(
                    400, "invalid_query", "give both 'channel' and 'address', or neither"
                )
            identity = await uow.identities.find(business.id, channel, address)
            found = [await _customer(uow, business.id, identity.customer_id)] if identity else []
            customers, more = found, False
        else:
            customers = list(await uow.customers.list(business.id, limit=limit + 1, offset=offset))
            more = len(customers) > limit
            customers = customers[:limit]
        page = [_out(c, list(await uow.identities.for_customer(c.id))) for c in customers]
    return CustomerPage(customers=page, next_offset=offset + limit if more else None)


@router.get("/{customer_id}", response_model=CustomerOut)
async def get_customer(
    request: Request, business: AdminBusiness, customer_id: uuid.UUID
) -> CustomerOut:
    async with runtime_of(request).services.uow() as uow:
        customer = await _customer(uow, business.id, customer_id)
        return _out(customer, list(await uow.identities.for_customer(customer.id)))


def _message_item(message: Message) -> TimelineItem:
    return TimelineItem(
        type="message",
        at=message.created_at,
        direction=message.direction.value,
        channel=message.channel.value,
        text=message.text,
        status=message.status.value,
    )


def _event_item(event: Event) -> TimelineItem:
    return TimelineItem(type="event", at=event.occurred_at, kind=event.kind, data=dict(event.data))


@router.get("/{customer_id}/timeline", response_model=Timeline)
async def timeline(
    request: Request,
    business: AdminBusiness,
    customer_id: uuid.UUID,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Timeline:
    """The customer's messages and events together, oldest first (the newest `limit` of each)."""
    async with runtime_of(request).services.uow() as uow:
        customer = await _customer(uow, business.id, customer_id)
        messages = await uow.messages.for_customer(customer.id, limit=limit)
        events = await uow.events.for_customer(customer.id, limit=limit)
    items = [_message_item(m) for m in messages] + [_event_item(e) for e in events]
    items.sort(key=lambda item: item.at)
    return Timeline(customer_id=customer.id, items=items)
