"""Provider webhooks: Telegram updates and Twilio's WhatsApp messages and status callbacks.

Each is verified by the channel, stored once, and only then acknowledged.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response

from app.web.deps import BusinessSlug, RuntimeDep, ServicesDep
from app.web.errors import ApiError
from bot.domain import (
    AccountStatus,
    Business,
    ChannelAccount,
    ChannelName,
    DeliveryReport,
    WebhookRequest,
)
from bot.inbound.delivery_reports import record_report
from bot.inbound.pipeline import handle_inbound
from bot.services import Services

router = APIRouter(tags=["webhooks"])
TELEGRAM = ChannelName.TELEGRAM
WHATSAPP = ChannelName.WHATSAPP
# Replies go through the outbox and the REST API, so Twilio is answered with nothing to send.
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def _delivery(
    request: Request, services: Services, slug: str, channel: ChannelName
) -> tuple[Business, ChannelAccount, WebhookRequest]:
    async with services.uow() as uow:
        named = await uow.accounts.by_slug(slug, channel)
    if named is None:
        raise ApiError(404, "unknown_business", f"no business '{slug}'")
    found, account = named
    if account is None or account.status is not AccountStatus.CONNECTED:
        raise ApiError(404, "not_connected", f"{channel.value} is not connected for '{slug}'")
    webhook = WebhookRequest(
        business=found.slug,
        url=str(request.url),
        headers=dict(request.headers),
        body=await request.body(),
        received_at=services.clock.now(),
        account=account,
    )
    return found, account, webhook


@router.post("/webhooks/telegram/{business}")
async def telegram_update(
    request: Request, services: ServicesDep, business: BusinessSlug, background: BackgroundTasks
) -> dict[str, bool]:
    """One Telegram update; 200 once it is stored (or ignored), so Telegram does not resend it."""
    found, account, webhook = await _delivery(request, services, business, TELEGRAM)
    answers = services.buttons.get(TELEGRAM)
    for inbound in await services.channels[TELEGRAM].parse(webhook):
        await handle_inbound(found, inbound, services)
        if inbound.callback_id is not None and answers is not None:
            # Every tap is answered, a repeated one too, or the customer's client keeps spinning.
            background.add_task(answers.answer_button, inbound, account=account)
    return {"ok": True}


@router.post("/webhooks/whatsapp/{business}")
async def whatsapp_message(
    request: Request, services: ServicesDep, business: BusinessSlug
) -> Response:
    """One WhatsApp message from Twilio, signed; stored once, then an empty TwiML answer."""
    found, _, webhook = await _delivery(request, services, business, WHATSAPP)
    for inbound in await services.channels[WHATSAPP].parse(webhook):
        await handle_inbound(found, inbound, services)
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/webhooks/whatsapp/{business}/status", status_code=204)
async def whatsapp_status(
    request: Request, runtime: RuntimeDep, business: BusinessSlug
) -> Response:
    """A Twilio status callback, signed; a message's status only moves forward."""
    found, _, webhook = await _delivery(request, runtime.services, business, WHATSAPP)
    update = runtime.whatsapp.status(webhook)
    report = DeliveryReport(
        channel=WHATSAPP,
        channel_message_id=update.message_sid,
        status=update.status,
        received_at=update.received_at,
        error_code=None if update.error_code is None else str(update.error_code),
        error_message=update.error_message,
    )
    await record_report(found, report, runtime.services)
    return Response(status_code=204)
