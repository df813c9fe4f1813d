"""The REST API for a business's own setup: its API keys, consent words, detector sensitivity
and opening hours."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from app.web.deps import AdminBusiness, KeyHash, ServicesDep
from app.web.text_json import TextJsonRoute
from bot.accounts.businesses import (
    create_key,
    revoke_key,
    set_consent_words,
    set_opening_hours,
    set_sensitivity,
)
from bot.domain import ApiKey, Business
from flows.opening_hours import parse_hours, stored

router = APIRouter(prefix="/api/v1/{business}", tags=["business"], route_class=TextJsonRoute)


class KeyOut(BaseModel):
    """A key as listed: never the key itself, nor its whole hash."""

    id: int
    fingerprint: str = Field(description="the start of the key's hash, as the audit log names it")
    created_at: datetime
    revoked_at: datetime | None


class NewKeyOut(KeyOut):
    key: str = Field(description="the key itself: shown this once, Kesher keeps only its hash")


def _key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        id=key.id, fingerprint=key.fingerprint, created_at=key.created_at, revoked_at=key.revoked_at
    )


@router.get("/keys", response_model=list[KeyOut])
async def list_keys(services: ServicesDep, business: AdminBusiness) -> list[KeyOut]:
    """The business's API keys, revoked ones included, oldest first."""
    async with services.uow() as uow:
        return [_key_out(k) for k in await uow.businesses.api_keys(business.id)]


@router.post("/keys", response_model=NewKeyOut, status_code=201)
async def post_key(services: ServicesDep, business: AdminBusiness) -> NewKeyOut:
    """A new API key, shown once in `key`: store it now, it cannot be shown again."""
    async with services.uow() as uow:
        record, key = await create_key(uow, business, now=services.clock.now())
        await uow.commit()
    return NewKeyOut(**_key_out(record).model_dump(), key=key)


@router.delete("/keys/{key_id}", response_model=KeyOut)
async def delete_key(
    services: ServicesDep,
    business: AdminBusiness,
    key_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    key_hash: KeyHash,
) -> KeyOut:
    """Revoke a key: it is refused (401) from the next request on. A key cannot revoke itself
    (400 `own_key`): use another key, or the console, which needs none."""
    async with services.uow() as uow:
        revoked = await revoke_key(uow, business, key_id, now=services.clock.now(), spare=key_hash)
        await uow.commit()
    return _key_out(revoked)


Words = list[Annotated[str, Field(max_length=200)]]


class ConsentWordsIn(BaseModel):
    opt_out: Words = Field(default_factory=list, examples=[["עצור", "basta"]])
    opt_in: Words = Field(default_factory=list, examples=[["חזרתי"]])


class ConsentWordsOut(BaseModel):
    """The business's own words, on top of the standard ones (STOP, הסר, START, התחל, ...),
    as they are matched: whole messages, case-folded, without niqqud or punctuation."""

    opt_out: list[str]
    opt_in: list[str]


@router.get("/consent-words", response_model=ConsentWordsOut)
async def get_consent_words(business: AdminBusiness) -> ConsentWordsOut:
    return ConsentWordsOut(opt_out=list(business.opt_out_words), opt_in=list(business.opt_in_words))


@router.put("/consent-words", response_model=ConsentWordsOut)
async def put_consent_words(
    services: ServicesDep, business: AdminBusiness, body: ConsentWordsIn
) -> ConsentWordsOut:
    """Replace both lists (an empty list clears it)."""
    async with services.uow() as uow:
        out, back = await set_consent_words(uow, business, opt_out=body.opt_out, opt_in=body.opt_in)
        await uow.commit()
    return ConsentWordsOut(opt_out=out, opt_in=back)


Sensitivity = Literal["sensitive", "balanced", "conservative"]


Span = Annotated[str, Field(max_length=20, examples=["09:00-18:00"])] | None


class OpeningHoursModel(BaseModel):
    """When a person from the team answers, in the business's timezone, Sunday first: each
    day `HH:MM-HH:MM`, or null when closed (a day left out is closed)."""

    model_config = ConfigDict(extra="forbid")

    sun: Span = None
    mon: Span = None
    tue: Span = None
    wed: Span = None
    thu: Span = None
    fri: Span = None
    sat: Span = None


class SettingsOut(BaseModel):
    detector_sensitivity: Sensitivity = Field(
        description="how readily a frustrated customer is handed to a person: sensitive "
        "(cut-off 0.45), balanced (0.65) or conservative (0.80)"
    )
    opening_hours: OpeningHoursModel = Field(
        description="the hours the bot promises a person answers in (default Sun-Thu 09:00-18:00)"
    )


class SettingsIn(BaseModel):
    detector_sensitivity: Sensitivity | None = None
    opening_hours: OpeningHoursModel | None = Field(None, description="the whole week, replaced")


def _hours(business: Business) -> OpeningHoursModel:
    return OpeningHoursModel(**stored(parse_hours(business.opening_hours)))


@router.get("/settings", response_model=SettingsOut)
async def get_settings(business: AdminBusiness) -> SettingsOut:
    return SettingsOut(
        detector_sensitivity=business.detector_sensitivity,  # type: ignore[arg-type]
        opening_hours=_hours(business),
    )


@router.put("/settings", response_model=SettingsOut)
async def put_settings(
    services: ServicesDep, business: AdminBusiness, body: SettingsIn
) -> SettingsOut:
    """Change the settings given; those left out stay as they are."""
    sensitivity = business.detector_sensitivity
    hours = _hours(business)
    async with services.uow() as uow:
        if body.detector_sensitivity is not None:
            sensitivity = await set_sensitivity(uow, business, body.detector_sensitivity)
        if body.opening_hours is not None:
            week = await set_opening_hours(uow, business, body.opening_hours.model_dump())
            hours = OpeningHoursModel(**stored(week))
        await uow.commit()
    return SettingsOut(
        detector_sensitivity=sensitivity,  # type: ignore[arg-type]
        opening_hours=hours,
    )
