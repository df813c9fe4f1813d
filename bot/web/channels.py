"""The REST API for a business's channel accounts, and Telegram deep links for customers."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from bot.channels import TELEGRAM, connect_telegram, disconnect_telegram, telegram_link
from bot.domain import ChannelAccount
from bot.web.access import AdminBusiness, runtime_of
from bot.web.errors import ApiError

router = APIRouter(prefix="/api/v1/{business}", tags=["channels"])


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
    request: Request, business: AdminBusiness, body: TelegramTokenIn
) -> TelegramAccountOut:
    """Connect a Telegram bot: checks the token, sets the webhook with a new secret."""
    runtime = runtime_of(request)
    account = await connect_telegram(
        runtime.services, business, token=body.token, public_base=runtime.settings.public_base()
    )
    return _out(account)


@router.get("/channels/telegram", response_model=TelegramAccountOut)
async def get_telegram(request: Request, business: AdminBusiness) -> TelegramAccountOut:
    async with runtime_of(request).services.uow() as uow:
        account = await uow.accounts.get(business.id, TELEGRAM)
    if account is None:
        raise ApiError(404, "not_connected", f"Telegram was never connected for '{business.slug}'")
    return _out(account)


@router.delete("/channels/telegram", response_model=TelegramAccountOut)
async def delete_telegram(request: Request, business: AdminBusiness) -> TelegramAccountOut:
    """Disconnect: removes the webhook and forgets the token."""
    return _out(await disconnect_telegram(runtime_of(request).services, business))


@router.post("/customers/{customer_id}/telegram-link", response_model=LinkOut)
async def post_telegram_link(
    request: Request, business: AdminBusiness, customer_id: uuid.UUID
) -> LinkOut:
    """A t.me link for this customer; opening it joins their Telegram chat to the record once."""
    return LinkOut(url=await telegram_link(runtime_of(request).services, business, customer_id))
