"""Businesses (the tenants), their admin API keys and their own settings."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.domain import ApiKey, Business, InvalidInput, NotFound
from bot.ports import UnitOfWork, UnitOfWorkFactory
from flows.consent import OPT_IN_WORDS, OPT_OUT_WORDS
from flows.frustration import Sensitivity
from flows.opening_hours import HoursError, OpeningHours, parse_hours, stored
from flows.text import normalise

DEMO_SLUG = "demo"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
KEY_PREFIX = "ksh_"
MAX_CONSENT_WORDS = 100


async def business_named(uow: UnitOfWorkFactory, slug: str) -> Business:
    """The business with this slug; NotFound (404 on the web, exit 1 in the CLI) otherwise."""
    async with uow() as work:
        business = await work.businesses.get_by_slug(slug)
    if business is None:
        raise NotFound(f"no business '{slug}'", code="unknown_business")
    return business


def hash_key(api_key: str) -> str:
    # API keys are 32 random bytes, so a fast hash is enough; passwords are another matter.
    return hashlib.sha256(api_key.encode()).hexdigest()


async def issue_key(uow: UnitOfWork, business: Business, *, now: datetime) -> str:
    """A new API key for the business; only its hash is kept, so show it to the owner once."""
    return (await create_key(uow, business, now=now))[1]


async def create_key(uow: UnitOfWork, business: Business, *, now: datetime) -> tuple[ApiKey, str]:
    """A new API key: its record and the key itself, which is never kept (the caller commits)."""
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = await uow.businesses.add_api_key(
        business.id, key_hash=hash_key(api_key), created_at=now
    )
    return record, api_key


async def revoke_key(
    uow: UnitOfWork, business: Business, key_id: int, *, now: datetime, spare: str | None = None
) -> ApiKey:
    """Revoke one of the business's keys; it stops working with the commit.

    `spare` is the hash of a key that may not revoke itself (the API caller's own): a client
    cannot lock itself out; the console, which needs no key, may revoke any of them.
    """
    found = next((k for k in await uow.businesses.api_keys(business.id) if k.id == key_id), None)
    if found is not None and found.key_hash == spare and found.revoked_at is None:
        raise InvalidInput(
            "a key cannot revoke itself: use another key or the console", code="own_key"
        )
    revoked = await uow.businesses.revoke_api_key(business.id, key_id, at=now)
    if revoked is None:
        raise NotFound(f"no API key {key_id}", code="unknown_key")
    return revoked


MAX_NAME = 200


async def create_business(
    uow: UnitOfWork, slug: str, *, name: str, sandbox: bool, now: datetime
) -> tuple[Business, str]:
    """Create a business and its first API key; the caller commits."""
    if not _SLUG.match(slug):
        raise InvalidInput(
            "slug must be 2 to 63 lowercase letters, digits or '-', starting with a letter or digit",
            code="invalid_slug",
        )
    if not name.strip():
        raise InvalidInput("name must not be empty", code="invalid_name")
    if len(name.strip()) > MAX_NAME:  # PostgreSQL's column holds no more
        raise InvalidInput(f"name must be at most {MAX_NAME} characters", code="invalid_name")
    if await uow.businesses.get_by_slug(slug) is not None:
        raise InvalidInput(f"business '{slug}' already exists", code="business_exists")
    business = await uow.businesses.add(
        slug, name=name.strip(), sandbox_enabled=sandbox, created_at=now
    )
    return business, await issue_key(uow, business, now=now)


async def set_consent_words(
    uow: UnitOfWork, business: Business, *, opt_out: Sequence[str], opt_in: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Keep the business's own opt-out and opt-in words (whole-message matches); caller commits.

    Returns them as matched: case-folded, without niqqud or punctuation.
    """
    out = _consent_words("opt_out", opt_out)
    back = _consent_words("opt_in", opt_in)
    both = set(out) & set(back)
    if both:
        raise InvalidInput(
            f"opt_in: '{sorted(both)[0]}' is also an opt-out word", code="invalid_consent_words"
        )
    # A business's word must not turn a standard one around: an opt-out word "start" would
    # leave a customer told to send START no way back.
    for field, words, standard, kind in (
        ("opt_out", out, OPT_IN_WORDS, "opt-in"),
        ("opt_in", back, OPT_OUT_WORDS, "opt-out"),
    ):
        clash = sorted(set(words) & standard)
        if clash:
            raise InvalidInput(
                f"{field}: '{clash[0]}' is a standard {kind} word", code="invalid_consent_words"
            )
    await uow.businesses.set_consent_words(business.id, opt_out=out, opt_in=back)
    return out, back


def _consent_words(field: str, words: Sequence[str]) -> list[str]:
    if len(words) > MAX_CONSENT_WORDS:
        raise InvalidInput(
            f"{field}: at most {MAX_CONSENT_WORDS} words or phrases", code="invalid_consent_words"
        )
    kept: list[str] = []
    for word in words:
        plain = normalise(word)
        if not plain or len(plain) > 40:
            raise InvalidInput(
                f"{field}: {word!r} must be 1 to 40 letters once punctuation is dropped",
                code="invalid_consent_words",
            )
        if plain not in kept:
            kept.append(plain)
    return kept


SENSITIVITIES = tuple(s.value for s in Sensitivity)


async def set_sensitivity(uow: UnitOfWork, business: Business, sensitivity: str) -> str:
    """How readily a frustrated customer is handed to a person (the caller commits)."""
    value = sensitivity.strip().casefold()
    if value not in SENSITIVITIES:
        raise InvalidInput(
            f"detector_sensitivity: {sensitivity!r} is not one of {', '.join(SENSITIVITIES)}",
            code="invalid_sensitivity",
        )
    await uow.businesses.set_detector_sensitivity(business.id, value)
    return value


async def set_opening_hours(
    uow: UnitOfWork, business: Business, hours: Mapping[str, object]
) -> OpeningHours:
    """When a person answers the inbox, by day of the week (the caller commits)."""
    try:
        parsed = parse_hours(hours)
    except HoursError as error:
        raise InvalidInput(str(error), code="invalid_opening_hours") from None
    await uow.businesses.set_opening_hours(business.id, stored(parsed))
    return parsed
