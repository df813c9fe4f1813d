"""Signing in to the inbox, made to hold against guessing: attempts throttled per address and
per e-mail, each counted against its login before its password is checked (five failures in a
row lock the login for 15 minutes), and the same answer, in about the same time, whether the
business and e-mail name an agent or not.

A login is a business and an e-mail: the same e-mail may be an agent of several businesses.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from bot.domain import Overloaded, Rate
from bot.handoffs import agents
from bot.handoffs import service as handoffs
from bot.ports import RateLimiter
from bot.services import Services

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
# Attempts from one network address (an office behind one address signs in well under this),
# and at one e-mail across every business (its lockouts, one per business, stay the limit).
PER_ADDRESS = Rate(count=30, per=timedelta(minutes=1))
PER_EMAIL = Rate(count=10, per=timedelta(minutes=15))
# Seconds a sign-in refused for a full queue of passwords is asked to wait.
RETRY_BUSY = 1.0
# Counts of logins nobody has tried for a day are forgotten by the minute's tick.
FORGET_AFTER = timedelta(days=1)
FORGET_BATCH = 1000


class LoginRefused(Exception):
    """The sign-in failed. Never says which part was wrong, nor whether the login exists:
    `retry_after` (seconds) is set when there were too many attempts."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def locked(self) -> bool:
        return self.retry_after is not None


async def sign_in(
    services: Services,
    *,
    business: str,
    email: str,
    password: str,
    address: str,
    now: datetime,
) -> agents.SignedIn:
    """A new session for the business's agent, who is then online; LoginRefused otherwise.
    Overloaded when too many passwords are being checked already: not counted as an attempt
    when refused at once, counted when the queue filled between the count and the check."""
    slug, email = business.strip().lower(), email.strip().lower()
    if not services.passwords.has_room():
        # Refused before any other work, and before the attempt is counted against the login.
        raise Overloaded("too many passwords are being checked", retry_after=RETRY_BUSY)
    await _throttle(services.limiter, f"sign-in:address:{address}", PER_ADDRESS)
    await _throttle(services.limiter, f"sign-in:email:{agents.digest(email)}", PER_EMAIL)
    login = agents.login_hash(slug, email)
    async with services.uow() as uow:
        tenant = await uow.businesses.get_by_slug(slug)
        found = await uow.agents.credentials(tenant.id, email) if tenant is not None else None
        attempt = await uow.agents.take_attempt(login, now=now, limit=MAX_FAILURES, lockout=LOCKOUT)
        await uow.commit()
    if not attempt.allowed:
        raise _too_many(attempt.locked_until, now)
    matches = await services.passwords.verify(found[1] if found else None, password)
    if tenant is None or found is None or not matches:
        if attempt.locked_until is not None:
            raise _too_many(attempt.locked_until, now)
        raise LoginRefused("wrong business, email or password")
    agent, stored = found
    rehashed = (
        await services.passwords.hash(password) if services.passwords.needs_rehash(stored) else None
    )
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    async with services.uow() as uow:
        await uow.agents.clear_attempts(login)
        if rehashed is not None:
            await uow.agents.set_password(agent.id, rehashed)
        await uow.agents.add_session(
            agents.digest(token),
            agent_id=agent.id,
            csrf=csrf,
            created_at=now,
            expires_at=now + agents.SESSION_LIFETIME,
        )
        await handoffs.set_online(uow, tenant, agent, True, now=now)
        await uow.commit()
    return agents.SignedIn(agent=agent, token=token, csrf=csrf)


async def forget_old_attempts(services: Services, *, now: datetime) -> int:
    """The minute's tick drops the counts of logins nobody tried for a day (typed e-mails of
    no agent pile up otherwise); how many."""
    async with services.uow() as uow:
        forgotten = await uow.agents.forget_attempts(before=now - FORGET_AFTER, limit=FORGET_BATCH)
        await uow.commit()
    return forgotten


async def _throttle(limiter: RateLimiter, key: str, rate: Rate) -> None:
    if not await limiter.hit(key, rate):
        raise LoginRefused(
            "too many attempts", retry_after=max(1.0, await limiter.retry_after(key, rate))
        )


def _too_many(locked_until: datetime | None, now: datetime) -> LoginRefused:
    wait = (locked_until - now).total_seconds() if locked_until is not None else 0.0
    return LoginRefused("too many failed attempts", retry_after=max(1.0, wait))
