"""FastAPI dependencies: the runtime the app was built on, its services and settings, the
business in the path, and who may call for it (its API key, or anyone in an open sandbox)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from app.bootstrap import Runtime
from app.settings import Settings
from app.web.errors import ApiError
from bot.accounts.businesses import business_named, hash_key
from bot.domain import Business
from bot.services import Services

BusinessSlug = Annotated[str, Path(max_length=64, description="the business's slug")]


def runtime(request: Request) -> Runtime:
    """The runtime `create_app` was given, kept on the app's state."""
    built: Runtime = request.app.state.runtime
    return built


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def services(runtime: RuntimeDep) -> Services:
    return runtime.services


def settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


ServicesDep = Annotated[Services, Depends(services)]
SettingsDep = Annotated[Settings, Depends(settings)]


async def named_business(services: ServicesDep, business: BusinessSlug) -> Business:
    return await business_named(services.uow, business)


async def _key_holder(request: Request, services: Services) -> Business | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    async with services.uow() as uow:
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
    request: Request,
    services: ServicesDep,
    business: Annotated[Business, Depends(named_business)],
) -> Business:
    holder = await _key_holder(request, services)
    _check_key(business, holder, "authorization" in request.headers)
    return business


async def sandbox_business(
    request: Request,
    runtime: RuntimeDep,
    business: Annotated[Business, Depends(named_business)],
) -> Business:
    if not business.sandbox_enabled:
        raise ApiError(404, "sandbox_disabled", f"the sandbox is off for '{business.slug}'")
    if not runtime.settings.sandbox_open:
        holder = await _key_holder(request, runtime.services)
        _check_key(business, holder, "authorization" in request.headers)
    return business


def key_hash(request: Request) -> str:
    """The hash of the API key the request carries."""
    return hash_key(request.headers.get("authorization", "").partition(" ")[2].strip())


def actor(key_hash: Annotated[str, Depends(key_hash)]) -> str:
    """Who is calling, for the audit log: the API key by the start of its hash, never the key."""
    return f"api-key:{key_hash[:12]}"


AdminBusiness = Annotated[Business, Depends(admin_business)]
SandboxBusiness = Annotated[Business, Depends(sandbox_business)]
KeyHash = Annotated[str, Depends(key_hash)]
Actor = Annotated[str, Depends(actor)]
