"""The console's customers page: import and export, a customer found by name, phone or
reference, their record exported or deleted for good (a privacy request) or merged with
another record of the same person (previewed first), the records that may be one person, and
the log of such requests."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse

from app.web.api.data import csv_download, json_download
from app.web.console.admins import Admin
from app.web.pages import SignedIn, context, form_fields, render, words
from bot.accounts import privacy
from bot.accounts.customers import csv_rows, decode_csv, import_customers, search_customers
from bot.accounts.merge import likely_duplicates, merge_customers
from bot.domain import Customer, KesherError, NotFound
from bot.insights import exports
from flows.text import normalise

router = APIRouter(prefix="/console", include_in_schema=False)

SEARCH_SHOWN = 20
SEARCH_LENGTH = 200
AUDIT_SHOWN = 10
DUPLICATES_SHOWN = 20


@router.get("/customers", response_class=HTMLResponse)
async def customers(
    request: Request,
    signed: Admin,
    q: str = "",
    deleted: str = "",
    merged: str = "",
    duplicates: str = "",
) -> HTMLResponse:
    """Import and export, and a customer found by name, phone or reference: their record
    exported, deleted for good (a privacy request) or merged with another; the records that
    may be one person (looked for on request: it reads every customer); the log of such
    requests."""
    return await _customers_page(
        request, signed, q=q, deleted=deleted, merged=merged, duplicates=bool(duplicates)
    )


async def _customers_page(
    request: Request,
    signed: SignedIn,
    *,
    q: str = "",
    deleted: str = "",
    merged: str = "",
    duplicates: bool = False,
    status: int = 200,
    **more: Any,
) -> HTMLResponse:
    q = q.strip()[:SEARCH_LENGTH]
    async with signed.services.uow() as uow:
        found = await search_customers(uow, signed.business, q, limit=SEARCH_SHOWN)
        identities = {c.id: await uow.identities.for_customer(c.id) for c in found}
        suggested = (
            await likely_duplicates(uow, signed.business, limit=DUPLICATES_SHOWN)
            if duplicates
            else None
        )
        log = await uow.audit.list(signed.business.id, limit=AUDIT_SHOWN)
        names = {
            f"agent:{i}": name for i, name in (await uow.agents.names(signed.business.id)).items()
        }
    return render(
        request,
        "console/customers.html",
        context(
            signed,
            q=q,
            found=[(c, _label(c), identities[c.id]) for c in found],
            duplicates=suggested,
            log=[(e, names.get(e.actor, e.actor)) for e in log],
            deleted=deleted if _is_uuid(deleted) else "",
            merged=merged if _is_uuid(merged) else "",
            **more,
        ),
        status=status,
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


@router.post("/customers/{customer_id}/merge", response_model=None)
async def merge(
    request: Request, signed: Admin, customer_id: str
) -> RedirectResponse | HTMLResponse:
    """Merge the record named in the form into this one: previewed first (nothing changes),
    then done when the admin confirms the preview."""
    form = await form_fields(request)
    services = signed.services
    other = form.get("other", "").strip()
    confirmed = form.get("confirm") == "yes"
    try:
        for given in (customer_id, other):
            if not _is_uuid(given):
                raise NotFound(f"no customer {given[:40]}", code="unknown_customer")
        async with services.uow() as uow:
            done = await merge_customers(
                uow,
                signed.business,
                uuid.UUID(customer_id),
                uuid.UUID(other),
                actor=_actor(signed),
                now=services.clock.now(),
                preview=not confirmed,
            )
            if confirmed:
                await uow.commit()
    except KesherError as refused:
        return await _customers_page(
            request,
            signed,
            q=form.get("q", ""),
            problem=refused.message,
            status=404 if isinstance(refused, NotFound) else 400,
        )
    if not confirmed:
        return await _customers_page(request, signed, q=form.get("q", ""), merge=done)
    return RedirectResponse(
        f"/console/customers?q={done.survivor.id}&merged={done.other.id}", status_code=303
    )


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
