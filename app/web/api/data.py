"""The REST API for a business's data as files: customers, answers and conversations
exported, and the audit log of privacy requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from app.web.deps import AdminBusiness, ServicesDep
from app.web.text_json import TextJsonRoute
from bot.insights import exports

router = APIRouter(prefix="/api/v1/{business}", tags=["data"], route_class=TextJsonRoute)


class AuditOut(BaseModel):
    at: datetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]


@router.get("/audit", response_model=list[AuditOut])
async def audit(
    services: ServicesDep,
    business: AdminBusiness,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditOut]:
    """Exports and deletes of customers' records, newest first."""
    async with services.uow() as uow:
        entries = await uow.audit.list(business.id, limit=limit)
    return [
        AuditOut(
            at=e.at, actor=e.actor, action=e.action, subject=e.subject, details=dict(e.details)
        )
        for e in entries
    ]


def csv_download(chunks: AsyncIterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/export/customers.csv", response_class=StreamingResponse)
async def export_customers(services: ServicesDep, business: AdminBusiness) -> StreamingResponse:
    """Every customer as CSV in the import's columns (edit and import it again), then Kesher's
    own `kesher_id`, `kesher_opted_out`, `kesher_created_at`, which an import skips."""
    return csv_download(exports.customers_csv(services, business), f"{business.slug}-customers.csv")


@router.get("/export/answers.csv", response_class=StreamingResponse)
async def export_answers(services: ServicesDep, business: AdminBusiness) -> StreamingResponse:
    """Every survey answer as CSV: customer, flow, question, value, score, kind, when."""
    return csv_download(exports.answers_csv(services, business), f"{business.slug}-answers.csv")


@router.get("/export/conversations.csv", response_class=StreamingResponse)
async def export_conversations(services: ServicesDep, business: AdminBusiness) -> StreamingResponse:
    """Every message of every customer, in the order stored: message, customer and
    conversation ids, direction, channel, text, status, frustration (0..1, inbound), when."""
    return csv_download(
        exports.conversations_csv(services, business), f"{business.slug}-conversations.csv"
    )


@router.get("/export/conversations.json", response_class=StreamingResponse)
async def export_conversations_json(
    services: ServicesDep, business: AdminBusiness
) -> StreamingResponse:
    """The same messages as one JSON array (streamed), each an object with the CSV's columns."""
    return json_download(
        exports.conversations_json(services, business),
        f"{business.slug}-conversations.json",
    )


def json_download(chunks: AsyncIterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        chunks,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
