"""The console's API keys page: the keys by fingerprint, a new one shown once, any revoked."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.web.console.admins import Admin
from app.web.pages import SignedIn, context, form_fields, render, words
from bot.accounts.businesses import create_key, revoke_key
from bot.domain import KesherError, NotFound

router = APIRouter(prefix="/console", include_in_schema=False)

MAX_ID = 2**31 - 1  # an integer column's largest id


@router.get("/keys", response_class=HTMLResponse)
async def keys(request: Request, signed: Admin, revoked: str = "") -> HTMLResponse:
    """The business's API keys: when each was made and revoked, by fingerprint only."""
    return await _keys_page(request, signed, revoked=revoked if revoked.isdecimal() else "")


async def _keys_page(request: Request, signed: SignedIn, **more: Any) -> HTMLResponse:
    async with signed.services.uow() as uow:
        listed = await uow.businesses.api_keys(signed.business.id)
    return render(
        request,
        "console/keys.html",
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
