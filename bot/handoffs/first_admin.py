"""A business's first admin, made from a one-time setup link (the first-run pattern of Grafana
and n8n): `kesher serve` issues a token for each business that has no admin and prints its
link; whoever opens it creates the owner's login, once.

Tokens live in the serving process only: a restart issues new ones. A token is single-use,
expires after an hour, is compared in constant time and is void once the business has an admin
(made by the link, the CLI or the API).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import Agent, AgentRole, Business, Forbidden
from bot.handoffs.agents import create_agent
from bot.ports import PasswordHasher, UnitOfWork

LIFETIME = timedelta(hours=1)


class SetupRefused(Forbidden):
    """The setup token is wrong, used or expired, or the business already has an admin."""

    def __init__(self) -> None:
        super().__init__("the setup link is wrong, used or expired", code="setup_refused")


@dataclass(slots=True)
class _Token:
    value: str
    business_id: int
    expires_at: datetime


class SetupLinks:
    """The setup tokens this process issued and has not seen used."""

    def __init__(self) -> None:
        self._tokens: list[_Token] = []

    def issue(self, business: Business, *, now: datetime) -> str:
        token = secrets.token_urlsafe(24)
        self._tokens.append(_Token(token, business.id, now + LIFETIME))
        return token

    def business_of(self, token: str, *, now: datetime) -> int | None:
        """The business a live token is for, without using it."""
        found = self._find(token, now=now)
        return found.business_id if found is not None else None

    def use(self, token: str, *, now: datetime) -> int | None:
        """The business a live token is for; the token is used up (its business's other
        tokens too, so one business gets one owner)."""
        found = self._find(token, now=now)
        if found is None:
            return None
        self.drop(found.business_id)
        return found.business_id

    def waiting(self, *, now: datetime) -> set[int]:
        """The businesses a live token is for."""
        return {t.business_id for t in self._tokens if t.expires_at > now}

    def drop(self, business_id: int) -> None:
        self._tokens = [t for t in self._tokens if t.business_id != business_id]

    def _find(self, token: str, *, now: datetime) -> _Token | None:
        # Every live token is compared, in constant time each, whatever matches first.
        found = None
        for candidate in self._tokens:
            if secrets.compare_digest(candidate.value.encode(), token.encode()):
                found = candidate
        return found if found is not None and found.expires_at > now else None


async def needs_admin(uow: UnitOfWork, business: Business) -> bool:
    return not any(a.role is AgentRole.ADMIN for a in await uow.agents.list(business.id))


async def businesses_without_admin(uow: UnitOfWork) -> list[Business]:
    return [b for b in await uow.businesses.all() if await needs_admin(uow, b)]


async def setup_open(uow: UnitOfWork, links: SetupLinks, *, now: datetime) -> bool:
    """Whether a business still waits for its first admin with a live link; the tokens of a
    business that got an admin otherwise (the CLI, the API) are dropped."""
    for business_id in links.waiting(now=now):
        if not await needs_admin(uow, await uow.businesses.get(business_id)):
            links.drop(business_id)
    return bool(links.waiting(now=now))


async def make_first_admin(
    uow: UnitOfWork,
    links: SetupLinks,
    token: str,
    *,
    email: str,
    name: str,
    password: str,
    language: str | None,
    now: datetime,
    passwords: PasswordHasher,
) -> tuple[Business, Agent]:
    """The business's first admin, from a live token (used up only when the admin is made);
    SetupRefused, or InvalidInput naming the field, otherwise. The caller commits."""
    business_id = links.business_of(token, now=now)
    if business_id is None:
        raise SetupRefused()
    business = await uow.businesses.get(business_id)
    if not await needs_admin(uow, business):
        raise SetupRefused()
    agent = await create_agent(
        uow,
        business,
        email=email,
        name=name,
        password=password,
        role=AgentRole.ADMIN,
        language=language,
        now=now,
        passwords=passwords,
    )
    # Taken only now, with no wait since it was checked: of two forms sent at once with the
    # same link, one makes the owner and the other is refused.
    if links.use(token, now=now) is None:
        raise SetupRefused()
    return business, agent
