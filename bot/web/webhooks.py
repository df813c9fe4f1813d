"""Provider webhooks: Telegram's updates, verified, stored once, then acknowledged."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request

from bot.domain import AccountStatus, ChannelName, WebhookRequest
from bot.pipeline import handle_inbound
from bot.web.access import BusinessSlug, runtime_of
from bot.web.errors import ApiError

router = APIRouter(tags=["webhooks"])
TELEGRAM = ChannelName.TELEGRAM


@router.post("/webhooks/telegram/{business}")
async def telegram_update(
    request: Request, business: BusinessSlug, background: BackgroundTasks
) -> dict[str, bool]:
    """One Telegram update; 200 once it is stored (or ignored), so Telegram does not resend it."""
    services = runtime_of(request).services
    async with services.uow() as uow:
        found = await uow.businesses.get_by_slug(business)
        account = await uow.accounts.get(found.id, TELEGRAM) if found else None
    if found is None:
        raise ApiError(404, "unknown_business", f"no business '{business}'")
    if account is None or account.status is not AccountStatus.CONNECTED:
        raise ApiError(404, "not_connected", f"Telegram is not connected for '{business}'")
    webhook = WebhookRequest(
        business=found.slug,
        url=str(request.url),
        headers=dict(request.headers),
        body=await request.body(),
        received_at=services.clock.now(),
        account=account,
    )
    answers = services.buttons.get(TELEGRAM)
    for inbound in await services.channels[TELEGRAM].parse(webhook):
        await handle_inbound(found, inbound, services)
        if inbound.callback_id is not None and answers is not None:
            # Every tap is answered, a repeated one too, or the customer's client keeps spinning.
            background.add_task(answers.answer_button, inbound, account=account)
    return {"ok": True}
