"""Agents and their inbox logins: passwords (hashed by the PasswordHasher port), sessions,
Telegram links. Signing in is `bot.handoffs.signin`.

A session is a random token kept by the browser in an HttpOnly cookie; only its SHA-256 is
stored, beside the session's CSRF token, so a stolen database cannot sign anyone in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.accounts.channels import telegram_username
from bot.domain import Agent, AgentRole, Business, ChannelName, Inbound, InvalidInput, NotFound
from bot.ports import PasswordHasher, UnitOfWork
from flows import commands
from flows.staff_alerts import AlertPreferences, PreferencesError, parse_preferences

MIN_PASSWORD = 10
MAX_PASSWORD = 200
MAX_NAME = 200
MAX_EMAIL = 254
SESSION_LIFETIME = timedelta(hours=12)
DEFAULT_CAPACITY = 5
TELEGRAM_LINK_LIFETIME = timedelta(hours=1)
TELEGRAM_LINK_PREFIX = "a"


@dataclass(frozen=True, slots=True)
class SignedIn:
    agent: Agent
    token: str
    csrf: str


def digest(token: str) -> str:
    """What is kept of a session or link token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def login_hash(business: str, email: str) -> str:
    """The key a login's failed sign-ins are counted under: the business's slug and the
    e-mail as typed, normalised, whether or not they name an agent."""
    return digest(f"{business.strip().lower()}\n{email.strip().lower()}")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"the password must be at least {MIN_PASSWORD} characters", code="weak_password"
        )
    if len(password) > MAX_PASSWORD:
        # The login form takes no more than this, so a longer one could never sign in.
        raise InvalidInput(
            f"the password must be at most {MAX_PASSWORD} characters", code="weak_password"
        )


async def create_agent(
    uow: UnitOfWork,
    business: Business,
    *,
    email: str,
    name: str,
    password: str,
    role: AgentRole = AgentRole.AGENT,
    language: str | None = None,
    capacity: int = DEFAULT_CAPACITY,
    passwords: PasswordHasher,
    now: datetime,
) -> Agent:
    email = email.strip().lower()
    if "@" not in email or len(email) > MAX_EMAIL:
        raise InvalidInput("email: must be an email address", code="invalid_email")
    if not name.strip():
        raise InvalidInput("name: must not be empty", code="invalid_name")
    if len(name.strip()) > MAX_NAME:
        raise InvalidInput(f"name: at most {MAX_NAME} characters", code="invalid_name")
    if not 1 <= capacity <= 100:
        raise InvalidInput("capacity: must be from 1 to 100", code="invalid_capacity")
    _check_password(password)
    if await uow.agents.email_taken(business.id, email):
        raise InvalidInput(
            f"an agent with email {email} already exists in this business", code="agent_exists"
        )
    return await uow.agents.add(
        business.id,
        email=email,
        name=name.strip(),
        role=role,
        language=language or business.language,
        password_hash=await passwords.hash(password),
        capacity=capacity,
        created_at=now,
    )


async def change_agent(
    uow: UnitOfWork,
    business: Business,
    agent_id: int,
    *,
    capacity: int | None = None,
    role: AgentRole | None = None,
) -> Agent:
    """A new capacity or role for one of the business's agents; the last admin stays one."""
    agent = await uow.agents.get(agent_id)
    if agent is None or agent.business_id != business.id:
        raise NotFound(f"no agent {agent_id}", code="agent_not_found")
    if capacity is not None and not 1 <= capacity <= 100:
        raise InvalidInput("capacity: must be from 1 to 100", code="invalid_capacity")
    if role is AgentRole.AGENT and agent.role is AgentRole.ADMIN:
        admins = [
            a for a in await uow.agents.list(business.id) if a.role is AgentRole.ADMIN and a.active
        ]
        if len(admins) == 1:
            raise InvalidInput(
                "role: the business needs at least one admin; make another admin first",
                code="last_admin",
            )
    await uow.agents.set_profile(
        agent.id, capacity=capacity or agent.capacity, role=role or agent.role
    )
    changed = await uow.agents.get(agent.id)
    assert changed is not None
    return changed


async def reset_password(
    uow: UnitOfWork, business: Business, email: str, password: str, *, passwords: PasswordHasher
) -> Agent:
    """An admin sets a new password for one of the business's agents; their sessions end."""
    _check_password(password)
    agent = next(
        (a for a in await uow.agents.list(business.id) if a.email.lower() == email.lower()), None
    )
    if agent is None:
        raise NotFound(f"no agent {email!r} in {business.slug}", code="agent_not_found")
    await uow.agents.set_password(agent.id, await passwords.hash(password))
    await uow.agents.drop_sessions(agent.id)
    await uow.agents.clear_attempts(login_hash(business.slug, agent.email))
    return agent


async def change_own_password(
    uow: UnitOfWork,
    agent: Agent,
    *,
    current: str,
    new: str,
    keep_token: str,
    passwords: PasswordHasher,
) -> None:
    """The signed-in agent's new password, given their current one; their other sessions end,
    the one they changed it in (`keep_token`) stays."""
    found = await uow.agents.credentials(agent.business_id, agent.email)
    if found is None:
        raise NotFound("no such agent", code="agent_not_found")
    if not await passwords.verify(found[1], current):
        raise InvalidInput("the current password is wrong", code="wrong_password")
    _check_password(new)
    await uow.agents.set_password(agent.id, await passwords.hash(new))
    await uow.agents.drop_sessions(agent.id, keep=digest(keep_token))


async def session(uow: UnitOfWork, token: str, *, now: datetime) -> tuple[Agent, str] | None:
    """The agent a session token belongs to and its CSRF token, unless expired or unknown."""
    if not token:
        return None
    return await uow.agents.session_for(digest(token), now=now)


async def sign_out(uow: UnitOfWork, token: str) -> None:
    await uow.agents.drop_session(digest(token))


def same_token(given: str | None, expected: str) -> bool:
    """A form's token against the one its cookie or session holds; two empty ones never match."""
    if not given or not expected:
        return False
    return secrets.compare_digest(given.encode(), expected.encode())


async def telegram_link(uow: UnitOfWork, business: Business, agent: Agent, *, now: datetime) -> str:
    """A one-time t.me link: the agent opens it in their own Telegram and the business's bot
    sends them new handoffs from then on. Only its SHA-256 is kept, for an hour."""
    username = await telegram_username(uow, business)
    token = secrets.token_urlsafe(16)
    await uow.agents.set_telegram_link(
        agent.id, digest(token), expires_at=now + TELEGRAM_LINK_LIFETIME
    )
    return f"https://t.me/{username}?start={TELEGRAM_LINK_PREFIX}_{token}"


def telegram_link_token(inbound: Inbound) -> str | None:
    """The token of an agent's `/start a_<token>`, which is not a customer talking."""
    if inbound.channel is not ChannelName.TELEGRAM or inbound.command != commands.START:
        return None
    prefix, _, token = (inbound.payload or "").partition("_")
    return token if prefix == TELEGRAM_LINK_PREFIX and token else None


async def link_telegram(
    uow: UnitOfWork, business: Business, token: str, *, chat: str, now: datetime
) -> Agent | None:
    """Link the chat to the agent whose unexpired link this is (the link is then used up)."""
    agent = await uow.agents.by_telegram_link(business.id, digest(token), now=now)
    if agent is not None:
        await uow.agents.set_telegram_chat(agent.id, chat)
    return agent


async def set_alert_preferences(uow: UnitOfWork, agent: Agent, given: object) -> AlertPreferences:
    """Keep the agent's own choice of alerts (`flows.staff_alerts`); InvalidInput naming the
    field when it cannot be kept."""
    try:
        chosen = parse_preferences(given)
    except PreferencesError as wrong:
        raise InvalidInput(str(wrong), code="invalid_alerts") from None
    await uow.agents.set_alerts(agent.id, chosen.settings())
    return chosen
