"""The REST API for a business's channel accounts, and Telegram deep links for customers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, SecretStr

from app.web.deps import AdminBusiness, ServicesDep, SettingsDep
from app.web.errors import ApiError
from app.web.text_json import TextJsonRoute
from bot.accounts.channels import (
    TELEGRAM,
    WHATSAPP,
    connect_telegram,
    connect_whatsapp,
    disconnect_telegram,
    disconnect_whatsapp,
    set_whatsapp_templates,
    telegram_link,
)
from bot.domain import ChannelAccount
from integrations.whatsapp import DEFAULT_MPS, MAX_MPS

router = APIRouter(prefix="/api/v1/{business}", tags=["channels"], route_class=TextJsonRoute)


class TelegramTokenIn(BaseModel):
    token: str = Field(min_length=1, max_length=200, description="the bot token from @BotFather")


class TelegramAccountOut(BaseModel):
    """The account as shown to its business: never the token or the webhook secret."""

    channel: str
    status: str
    bot_username: str | None
    webhook_url: str | None
    last_error: str | None
    updated_at: datetime | None


class LinkOut(BaseModel):
    url: str


def _out(account: ChannelAccount) -> TelegramAccountOut:
    return TelegramAccountOut(
        channel=account.channel.value,
        status=account.status.value,
        bot_username=account.settings.get("username"),
        webhook_url=account.settings.get("webhook_url"),
        last_error=account.last_error,
        updated_at=account.updated_at,
    )


@router.put("/channels/telegram", response_model=TelegramAccountOut)
async def put_telegram(
    services: ServicesDep, settings: SettingsDep, business: AdminBusiness, body: TelegramTokenIn
) -> TelegramAccountOut:
    """Connect a Telegram bot: checks the token, sets the webhook with a new secret."""
    account = await connect_telegram(
        services, business, token=body.token, public_base=settings.public_base()
    )
    return _out(account)


@router.get("/channels/telegram", response_model=TelegramAccountOut)
async def get_telegram(services: ServicesDep, business: AdminBusiness) -> TelegramAccountOut:
    async with services.uow() as uow:
        account = await uow.accounts.get(business.id, TELEGRAM)
    if account is None:
        raise ApiError(404, "not_connected", f"Telegram was never connected for '{business.slug}'")
    return _out(account)


@router.delete("/channels/telegram", response_model=TelegramAccountOut)
async def delete_telegram(services: ServicesDep, business: AdminBusiness) -> TelegramAccountOut:
    """Disconnect: removes the webhook and forgets the token."""
    return _out(await disconnect_telegram(services, business))


@router.post("/customers/{customer_id}/telegram-link", response_model=LinkOut)
async def post_telegram_link(
    services: ServicesDep, business: AdminBusiness, customer_id: uuid.UUID
) -> LinkOut:
    """A t.me link for this customer; opening it joins their Telegram chat to the record once."""
    return LinkOut(url=await telegram_link(services, business, customer_id))


class WhatsAppAccountIn(BaseModel):
    account_sid: str = Field(max_length=64, description="the Twilio Account SID (AC...)")
    auth_token: SecretStr = Field(max_length=200, description="the Twilio Auth Token")
    sender: str = Field(max_length=64, description="the WhatsApp sender, whatsapp:+972...")
    mps: int | None = Field(
        default=None,
        ge=1,
        le=MAX_MPS,
        description="the sender's throughput in messages a second (Twilio's default 80); "
        "left out: the one set before, else 80",
    )


class WhatsAppAccountOut(BaseModel):
    """The account as shown to its business: never the auth token."""

    channel: str
    status: str
    account_sid: str | None
    sender: str | None
    mps: int
    webhook_url: str | None
    status_url: str | None
    templates: dict[str, Any]
    last_error: str | None
    updated_at: datetime | None


def _whatsapp_out(account: ChannelAccount) -> WhatsAppAccountOut:
    return WhatsAppAccountOut(
        channel=account.channel.value,
        status=account.status.value,
        account_sid=account.secret("account_sid") or None,
        sender=account.settings.get("sender"),
        mps=int(account.settings.get("mps") or DEFAULT_MPS),
        webhook_url=account.settings.get("webhook_url"),
        status_url=account.settings.get("status_url"),
        templates=dict(account.settings.get("templates") or {}),
        last_error=account.last_error,
        updated_at=account.updated_at,
    )


@router.put("/channels/whatsapp", response_model=WhatsAppAccountOut)
async def put_whatsapp(
    services: ServicesDep, settings: SettingsDep, business: AdminBusiness, body: WhatsAppAccountIn
) -> WhatsAppAccountOut:
    """Connect a Twilio WhatsApp sender; paste the returned URLs into Twilio."""
    account = await connect_whatsapp(
        services,
        business,
        account_sid=body.account_sid,
        auth_token=body.auth_token.get_secret_value(),
        sender=body.sender,
        public_base=settings.public_base(),
        mps=body.mps,
    )
    return _whatsapp_out(account)


@router.get("/channels/whatsapp", response_model=WhatsAppAccountOut)
async def get_whatsapp(services: ServicesDep, business: AdminBusiness) -> WhatsAppAccountOut:
    async with services.uow() as uow:
        account = await uow.accounts.get(business.id, WHATSAPP)
    if account is None:
        raise ApiError(404, "not_connected", f"WhatsApp was never connected for '{business.slug}'")
    return _whatsapp_out(account)


@router.delete("/channels/whatsapp", response_model=WhatsAppAccountOut)
async def delete_whatsapp(services: ServicesDep, business: AdminBusiness) -> WhatsAppAccountOut:
    """Disconnect: forgets the Twilio credentials (templates are kept for a reconnect)."""
    return _whatsapp_out(await disconnect_whatsapp(services, business))


@router.put("/channels/whatsapp/templates", response_model=WhatsAppAccountOut)
async def put_whatsapp_templates(
    services: ServicesDep, business: AdminBusiness, body: dict[str, Any]
) -> WhatsAppAccountOut:
    """Set the approved Content templates: kind → language → "HX..." or {sid, variables}.

    Messages held as needs_template are sent again at once.
    """
    account = await set_whatsapp_templates(services, business, body)
    return _whatsapp_out(account)
