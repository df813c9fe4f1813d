"""Who may call what: the business in the path, its API key, and the open sandbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from app.bootstrap import Runtime
from app.web.errors import ApiError
from bot.accounts.businesses import business_named, hash_key
from bot.domain import Business

BusinessSlug = Annotated[str, Path(max_length=64, description="the business's slug")]


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def named_business(request: Request, business: BusinessSlug) -> Business:
    return await business_named(runtime_of(request).services.uow, business)


async def _key_holder(request: Request) -> Business | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    async with runtime_of(request).services.uow() as uow:
        return await uow.businesses.find_by_api_key(hash_key(token.strip()))


def _check_key(business: Business, holder: Business | None, had_header: bool) -> None:
    if holder is None:
        raise ApiError(
            401,
            "unauthorized",
            "a valid API key is required: 'Authorization: Bearer <key>'"
            if had_header
            else "missing 'Authorization: Bearer <key>' header",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if holder.id != business.id:
        raise ApiError(403, "forbidden", f"this API key is not for business '{business.slug}'")


async def admin_business(
    request: Request, business: Annotated[Business, Depends(named_business)]
) -> Business:
    _check_key(business, await _key_holder(request), "authorization" in request.headers)
    return business


async def sandbox_business(
    request: Request, business: Annotated[Business, Depends(named_business)]
) -> Business:
    if not business.sandbox_enabled:
        raise ApiError(404, "sandbox_disabled", f"the sandbox is off for '{business.slug}'")
    if not runtime_of(request).settings.sandbox_open:
        _check_key(business, await _key_holder(request), "authorization" in request.headers)
    return business


def key_hash_of(request: Request) -> str:
    """The hash of the API key the request carries."""
    return hash_key(request.headers.get("authorization", "").partition(" ")[2].strip())


def actor_of(request: Request) -> str:
    """Who is calling, for the audit log: the API key by the start of its hash, never the key."""
    return f"api-key:{key_hash_of(request)[:12]}"


AdminBusiness = Annotated[Business, Depends(admin_business)]
SandboxBusiness = Annotated[Business, Depends(sandbox_business)]
