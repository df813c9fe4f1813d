"""The REST API for the customer record: customers, their identities and their timeline, and
two records of one person merged."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from app.web.deps import Actor, AdminBusiness, ServicesDep
from app.web.errors import ApiError
from app.web.text_json import TextJsonRoute
from bot.accounts import privacy
from bot.accounts.customers import (
    csv_rows,
    decode_csv,
    import_customers,
    parse_customer,
    search_customers,
    upsert_customer,
)
from bot.accounts.merge import likely_duplicates, merge_customers
from bot.conversations.authors import Author, AuthorKind, authors
from bot.domain import ChannelName, Customer, Event, Identity, Message
from bot.ports import UnitOfWork

router = APIRouter(
    prefix="/api/v1/{business}/customers", tags=["customers"], route_class=TextJsonRoute
)


class IdentityOut(BaseModel):
    channel: str
    address: str
    reachable: bool


class CustomerOut(BaseModel):
    id: uuid.UUID
    external_id: str | None
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
    author: AuthorKind | None = Field(
        default=None, description="messages only: the customer, the bot, an agent or a schedule"
    )
    author_name: str | None = Field(
        default=None, description="the agent's display name, or the schedule's name"
    )
    channel: str | None = None
    text: str | None = None
    status: str | None = None
    kind: str | None = None
    data: dict[str, Any] | None = None
    frustration: float | None = Field(default=None, description="0..1, inbound messages only")
    reasons: list[str] | None = None
    edited_text: str | None = Field(default=None, description="the customer's latest edit")
    edited_at: datetime | None = None


class Timeline(BaseModel):
    customer_id: uuid.UUID
    items: list[TimelineItem]


def _out(customer: Customer, identities: list[Identity]) -> CustomerOut:
    return CustomerOut(
        id=customer.id,
        external_id=customer.external_id,
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
    services: ServicesDep,
    business: AdminBusiness,
    channel: ChannelName | None = None,
    address: Annotated[str | None, Query(max_length=255)] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="search: a customer id, your external id, a phone in any form, or a "
            "part of the name (newest first, up to `limit`)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> CustomerPage:
    """All customers, oldest first; or the one customer at `channel` + `address`; or those `q`
    finds."""
    async with services.uow() as uow:
        if q is not None:
            customers = list(await search_customers(uow, business, q, limit=limit))
            more = False
        elif channel is not None or address is not None:
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


class CustomerIn(BaseModel):
    external_id: str | None = Field(default=None, max_length=128, description="your own id")
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40, description="E.164 or Israeli local")
    language: str | None = Field(default=None, description="he or en")
    timezone: str | None = Field(default=None, description="IANA, e.g. Asia/Jerusalem")
    attributes: dict[str, Any] = Field(default_factory=dict)


class RowErrorOut(BaseModel):
    line: int
    message: str


class ImportOut(BaseModel):
    created: int
    updated: int
    errors: list[RowErrorOut]


@router.post(
    "",
    response_model=CustomerOut,
    status_code=201,
    responses={200: {"model": CustomerOut, "description": "an existing customer was updated"}},
)
async def put_customer(
    services: ServicesDep, business: AdminBusiness, body: CustomerIn, response: Response
) -> CustomerOut:
    """Create a customer, or update the one with the same `external_id` (else `phone`)."""
    fields = parse_customer(body.model_dump(exclude_none=True))
    async with services.uow() as uow:
        customer, created = await upsert_customer(
            uow, business, fields, now=services.clock.now(), source="api"
        )
        identities = list(await uow.identities.for_customer(customer.id))
        await uow.commit()
    response.status_code = 201 if created else 200
    return _out(customer, identities)


@router.post(
    "/import",
    response_model=ImportOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "UTF-8 CSV with a header row: external_id, name, phone, language, "
            "timezone, tags; other columns become attributes",
        }
    },
)
async def import_csv(request: Request, services: ServicesDep, business: AdminBusiness) -> ImportOut:
    """Import customers from CSV; bad rows are reported by line and the good ones kept."""
    rows = csv_rows(decode_csv(await request.body()))
    report = await import_customers(services.uow, business, rows, now=services.clock.now)
    return ImportOut(
        created=report.created,
        updated=report.updated,
        errors=[RowErrorOut(line=e.line, message=e.message) for e in report.errors],
    )


class DuplicatesOut(BaseModel):
    reason: Literal["phone", "email", "external_id"]
    value: str
    customers: list[CustomerOut]


class DuplicatesPage(BaseModel):
    groups: list[DuplicatesOut]


@router.get("/duplicates", response_model=DuplicatesPage)
async def duplicates(
    services: ServicesDep,
    business: AdminBusiness,
    limit: Annotated[int, Query(ge=1, le=200, description="groups of each reason")] = 50,
) -> DuplicatesPage:
    """Customers who may be one person, for a person to confirm with a merge: the same phone
    (unless each has an external id of their own: a family sharing a phone), the same `email`
    attribute in any case, or the same external id in another form ("C-0042", "c 0042";
    "00731", "731"). Kesher
    never merges them on its own."""
    async with services.uow() as uow:
        found = await likely_duplicates(uow, business, limit=limit)
        groups = [
            DuplicatesOut(
                reason=group.reason,  # type: ignore[arg-type]
                value=group.value,
                customers=[
                    _out(c, list(await uow.identities.for_customer(c.id))) for c in group.customers
                ],
            )
            for group in found
        ]
    return DuplicatesPage(groups=groups)


class MergeIn(BaseModel):
    other: uuid.UUID = Field(description="the customer merged into this one, who goes")
    preview: bool = Field(default=False, description="say what would happen; change nothing")


class MergeOut(BaseModel):
    survivor: CustomerOut = Field(description="this customer, as the merge leaves them")
    merged_id: uuid.UUID
    moved: dict[str, int] = Field(description="how many rows of each kind move to the survivor")
    preview: bool


@router.post("/{customer_id}/merge", response_model=MergeOut)
async def merge(
    services: ServicesDep,
    business: AdminBusiness,
    customer_id: uuid.UUID,
    body: MergeIn,
    actor: Actor,
) -> MergeOut:
    """Merge `other` into this customer: identities, messages, conversations, events and notes,
    survey answers, check-ins, handoffs and knowledge-base questions move here in one
    transaction; the other record is deleted and the audit log keeps the merge. This customer
    keeps its fields and takes each one it lacks from the other; opted out on either record
    stays opted out. With `preview`, nothing changes."""
    async with services.uow() as uow:
        done = await merge_customers(
            uow,
            business,
            customer_id,
            body.other,
            actor=actor,
            now=services.clock.now(),
            preview=body.preview,
        )
        identities = list(await uow.identities.for_customer(customer_id))
        if body.preview:
            identities += await uow.identities.for_customer(body.other)
        else:
            await uow.commit()
    return MergeOut(
        survivor=_out(done.survivor, identities),
        merged_id=done.other.id,
        moved=dict(done.moved),
        preview=done.preview,
    )


@router.get("/{customer_id}", response_model=CustomerOut)
async def get_customer(
    services: ServicesDep, business: AdminBusiness, customer_id: uuid.UUID
) -> CustomerOut:
    async with services.uow() as uow:
        customer = await _customer(uow, business.id, customer_id)
        return _out(customer, list(await uow.identities.for_customer(customer.id)))


def _message_item(message: Message, author: Author) -> TimelineItem:
    return TimelineItem(
        type="message",
        at=message.created_at,
        direction=message.direction.value,
        author=author.kind,
        author_name=author.name,
        channel=message.channel.value,
        text=message.text,
        status=message.status.value,
        frustration=message.frustration,
        reasons=list(message.frustration_reasons) if message.frustration is not None else None,
        edited_text=message.edited_text,
        edited_at=message.edited_at,
    )


def _event_item(event: Event) -> TimelineItem:
    return TimelineItem(type="event", at=event.occurred_at, kind=event.kind, data=dict(event.data))


@router.get("/{customer_id}/export")
async def export(
    services: ServicesDep, business: AdminBusiness, customer_id: uuid.UUID, actor: Actor
) -> Any:
    """Everything kept about the customer (a privacy request): the profile, identities,
    messages, events and notes, answers, check-ins and handoffs; written to the audit log."""
    async with services.uow() as uow:
        record = await privacy.export_customer(
            uow, business, customer_id, actor=actor, now=services.clock.now()
        )
        await uow.commit()
    return jsonable_encoder(record)


class Deleted(BaseModel):
    customer_id: uuid.UUID
    deleted: dict[str, int] = Field(description="how many of each were removed")


@router.delete("/{customer_id}", response_model=Deleted)
async def delete(
    services: ServicesDep, business: AdminBusiness, customer_id: uuid.UUID, actor: Actor
) -> Deleted:
    """Delete the customer and everything about them for good (a privacy request); the audit
    log keeps only the id, who asked, when and the counts."""
    async with services.uow() as uow:
        counts = await privacy.delete_customer(
            uow, business, customer_id, actor=actor, now=services.clock.now()
        )
        await uow.commit()
    return Deleted(customer_id=customer_id, deleted=counts)


@router.get("/{customer_id}/timeline", response_model=Timeline)
async def timeline(
    services: ServicesDep,
    business: AdminBusiness,
    customer_id: uuid.UUID,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Timeline:
    """The customer's messages and events together, oldest first (the newest `limit` of each)."""
    async with services.uow() as uow:
        customer = await _customer(uow, business.id, customer_id)
        messages = await uow.messages.for_customer(customer.id, limit=limit)
        events = await uow.events.for_customer(customer.id, limit=limit)
        written = await authors(uow, business.id, customer.id, messages)
    items = [_message_item(m, written[m.id]) for m in messages]
    items += [_event_item(e) for e in events]
    items.sort(key=lambda item: item.at)
    return Timeline(customer_id=customer.id, items=items)
