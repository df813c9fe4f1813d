"""Connecting a business's channel accounts: keep the credentials, point the provider at Kesher."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid

from bot.accounts.customers import reach_on_whatsapp
from bot.domain import (
    AccountStatus,
    Business,
    ChannelAccount,
    ChannelName,
    InvalidInput,
    NotFound,
    ProviderError,
)
from bot.outbound.replies import queue_sends
from bot.outbound.whatsapp_templates import parse_templates, templates_settings
from bot.ports import ChannelSetup, UnitOfWork
from bot.services import Services

TELEGRAM = ChannelName.TELEGRAM
WHATSAPP = ChannelName.WHATSAPP
CUSTOMER_LINK_PREFIX = "c"
_TELEGRAM_TOKEN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$")


async def connect_telegram(
    services: Services, business: Business, *, token: str, public_base: str
) -> ChannelAccount:
    """Check the token (getMe), set the webhook with a fresh secret, and keep both."""
    token = token.strip()
    if not _TELEGRAM_TOKEN.match(token):
        raise InvalidInput(
            "that is not a bot token from @BotFather (it looks like 123456789:AA...)",
            code="invalid_token",
        )
    # Telegram accepts secret tokens of 1-256 characters from A-Z, a-z, 0-9, _ and -.
    credentials = {"token": token, "webhook_secret": secrets.token_urlsafe(32)}
    webhook_url = f"{public_base.rstrip('/')}/webhooks/telegram/{business.slug}"
    # Set first, then store: if storing fails, Telegram's deliveries are refused and retried
    # until `connect` is run again, and no secret is kept that Telegram does not know.
    settings = await _setup(services).connect(credentials, webhook_url=webhook_url)
    async with services.uow() as uow:
        account = await uow.accounts.save(
            business.id,
            TELEGRAM,
            status=AccountStatus.CONNECTED,
            credentials=credentials,
            settings=settings,
            last_error=None,
            at=services.clock.now(),
        )
        await uow.commit()
    return account


async def disconnect_telegram(services: Services, business: Business) -> ChannelAccount:
    """Remove the webhook and forget the token; a provider failure is kept as the last error."""
    async with services.uow() as uow:
        account = await uow.accounts.get(business.id, TELEGRAM)
    if account is None or account.status is not AccountStatus.CONNECTED:
        raise NotFound(f"Telegram is not connected for '{business.slug}'", code="not_connected")
    error: str | None = None
    try:
        await _setup(services).disconnect(account.credentials)
    except ProviderError as failed:
        error = failed.message
    async with services.uow() as uow:
        account = await uow.accounts.save(
            business.id,
            TELEGRAM,
            status=AccountStatus.DISCONNECTED,
            credentials={},
            settings=account.settings,
            last_error=error,
            at=services.clock.now(),
        )
        await uow.commit()
    return account


async def telegram_username(uow: UnitOfWork, business: Business) -> str:
    """The username of the business's connected Telegram bot, for t.me links."""
    account = await uow.accounts.get(business.id, TELEGRAM)
    username = account.settings.get("username") if account else None
    if account is None or account.status is not AccountStatus.CONNECTED or not username:
        raise InvalidInput(
            f"connect a Telegram bot to '{business.slug}' first", code="not_connected"
        )
    return str(username)


async def telegram_link(services: Services, business: Business, customer_id: uuid.UUID) -> str:
    """A t.me deep link that joins whoever opens it to this customer's record, once, within
    `services.customer_link_lifetime`. Only its SHA-256 is kept, so each call makes a new link
    and the customer's earlier one stops working."""
    async with services.uow() as uow:
        username = await telegram_username(uow, business)
        customer = await uow.customers.get(business.id, customer_id)
        if customer is None:
            raise NotFound(f"no customer {customer_id}", code="unknown_customer")
        # Telegram's start parameter allows up to 64 characters of A-Z, a-z, 0-9, _ and -.
        token = secrets.token_urlsafe(24)
        expires_at = services.clock.now() + services.customer_link_lifetime
        await uow.customers.set_link(customer.id, link_digest(token), expires_at=expires_at)
        await uow.commit()
    return f"https://t.me/{username}?start={CUSTOMER_LINK_PREFIX}_{token}"


def link_digest(token: str) -> str:
    """What is kept of a deep link's token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


async def connect_whatsapp(
    services: Services,
    business: Business,
    *,
    account_sid: str,
    auth_token: str,
    sender: str,
    public_base: str,
    mps: int | str | None = None,
) -> ChannelAccount:
    """Check and keep the Twilio credentials and sender; settings hold the URLs to paste and
    the sender's MPS (messages a second: `mps`, as a number or as typed in a form, else the
    one kept from before, else 80)."""
    webhook_url = f"{public_base.rstrip('/')}/webhooks/whatsapp/{business.slug}"
    given = {"account_sid": account_sid, "auth_token": auth_token, "sender": sender}
    mps = str(mps).strip() if mps is not None else ""
    if mps:
        given["mps"] = mps
    settings = await _setup(services, WHATSAPP).connect(given, webhook_url=webhook_url)
    async with services.uow() as uow:
        earlier = await uow.accounts.get(business.id, WHATSAPP)
        kept = dict(earlier.settings) if earlier else {}
        # Reconnecting (a new token, a new sender) keeps the approved templates, and the MPS
        # unless a new one is given.
        settings = {**settings, "templates": dict(kept.get("templates") or {})}
        if not mps and kept.get("mps"):
            settings["mps"] = kept["mps"]
        account = await uow.accounts.save(
            business.id,
            WHATSAPP,
            status=AccountStatus.CONNECTED,
            credentials={"account_sid": account_sid.strip(), "auth_token": auth_token.strip()},
            settings=settings,
            last_error=None,
            at=services.clock.now(),
        )
        # Customers already known by phone become reachable on WhatsApp.
        await reach_on_whatsapp(uow, business, now=services.clock.now())
        await uow.commit()
    return account


async def set_whatsapp_templates(
    services: Services, business: Business, templates: object
) -> ChannelAccount:
    """Validate and keep the business's approved templates; messages held for one go again."""
    parsed = parse_templates(templates)
    now = services.clock.now()
    async with services.uow() as uow:
        account = await uow.accounts.get(business.id, WHATSAPP)
        if account is None or account.status is not AccountStatus.CONNECTED:
            raise NotFound(f"WhatsApp is not connected for '{business.slug}'", code="not_connected")
        account = await uow.accounts.save(
            business.id,
            WHATSAPP,
            status=account.status,
            credentials=account.credentials,
            settings={**account.settings, "templates": templates_settings(parsed)},
            last_error=account.last_error,
            at=now,
        )
        held = await uow.outbox.release_held(business.id, now=now)
        await uow.commit()
    await queue_sends(list(held), services)
    return account


async def disconnect_whatsapp(services: Services, business: Business) -> ChannelAccount:
    """Forget the Twilio credentials; the sender and templates stay for a later reconnect."""
    async with services.uow() as uow:
        account = await uow.accounts.get(business.id, WHATSAPP)
        if account is None or account.status is not AccountStatus.CONNECTED:
            raise NotFound(f"WhatsApp is not connected for '{business.slug}'", code="not_connected")
        account = await uow.accounts.save(
            business.id,
            WHATSAPP,
            status=AccountStatus.DISCONNECTED,
            credentials={},
            settings=account.settings,
            last_error=None,
            at=services.clock.now(),
        )
        await uow.commit()
    return account


def _setup(services: Services, channel: ChannelName = TELEGRAM) -> ChannelSetup:
    setup = services.setups.get(channel)
    if setup is None:
        raise ProviderError(f"this Kesher has no {channel.value} client configured")
    return setup
