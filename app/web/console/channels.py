"""The console's channels page: Telegram and WhatsApp connected and disconnected with the
same steps as `kesher telegram|whatsapp connect`, and WhatsApp's approved templates per
message kind and language."""

from __future__ import annotations

import re
from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.web.console.admins import Admin
from app.web.deps import SettingsDep
from app.web.pages import SignedIn, context, form_fields, render
from bot.accounts.channels import (
    connect_telegram,
    connect_whatsapp,
    disconnect_telegram,
    disconnect_whatsapp,
    set_whatsapp_templates,
)
from bot.domain import AccountStatus, ChannelName, KesherError, NotFound
from bot.outbound.whatsapp_templates import LANGUAGES, TEMPLATE_KINDS, VARIABLES

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/channels", response_class=HTMLResponse)
async def channels(request: Request, signed: Admin) -> HTMLResponse:
    """Telegram and WhatsApp: connected or not, the bot or sender, the last error, the URLs;
    WhatsApp's approved templates per message kind and language."""
    return await _channels_page(request, signed)


async def _channels_page(
    request: Request,
    signed: SignedIn,
    *,
    error: str | None = None,
    typed: dict[str, dict[str, dict[str, str]]] | None = None,
    connecting: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The channels; a refused form's templates (`typed`) or WhatsApp connection fields
    (`connecting`, secrets left out) come back as the admin typed them."""
    async with signed.services.uow() as uow:
        accounts = {
            channel.value: await uow.accounts.get(signed.business.id, channel)
            for channel in (ChannelName.TELEGRAM, ChannelName.WHATSAPP)
        }
    whatsapp = accounts["whatsapp"]
    stored = dict(whatsapp.settings.get("templates") or {}) if whatsapp else {}
    shown = {
        kind: {
            language: {
                "sid": chosen.get("sid", ""),
                "variables": ", ".join(chosen.get("variables", [])),
            }
            for language in LANGUAGES
            for chosen in [stored.get(kind, {}).get(language) or {}]
        }
        for kind in TEMPLATE_KINDS
    }
    shown.update(typed or {})
    return render(
        request,
        "console/channels.html",
        context(
            signed,
            accounts=accounts,
            error=error,
            templates=shown,
            kinds=TEMPLATE_KINDS,
            languages=LANGUAGES,
            variables=VARIABLES,
            template_kind=next(iter(typed or {}), None),
            connecting=connecting or {},
        ),
    )


@router.post("/channels/whatsapp/templates/{kind}", response_model=None)
async def save_templates(
    request: Request, signed: Admin, kind: str
) -> RedirectResponse | HTMLResponse:
    """One message kind's templates (a Content SID and its variables per language), set with
    the others as they are, through the same steps as `PUT /channels/whatsapp/templates`."""
    form = await form_fields(request)
    typed = {
        language: {
            "sid": form.get(f"sid_{language}", "").strip(),
            "variables": form.get(f"variables_{language}", "").strip(),
        }
        for language in LANGUAGES
    }
    given = {
        language: {
            "sid": fields["sid"],
            "variables": [v for v in re.split(r"[\s,]+", fields["variables"]) if v],
        }
        for language, fields in typed.items()
        if fields["sid"]
    }
    services, business = signed.services, signed.business
    try:
        if kind not in TEMPLATE_KINDS:
            raise NotFound(f"no message kind {kind!r}", code="not_found")
        async with services.uow() as uow:
            account = await uow.accounts.get(business.id, ChannelName.WHATSAPP)
        if account is None or account.status is not AccountStatus.CONNECTED:
            raise NotFound(f"WhatsApp is not connected for '{business.slug}'", code="not_connected")
        templates = dict(account.settings.get("templates") or {})
        templates.pop(kind, None)
        if given:
            templates[kind] = given
        await set_whatsapp_templates(services, business, templates)
    except KesherError as refused:
        return await _channels_page(
            request,
            signed,
            error=refused.message,
            typed={kind: typed} if kind in TEMPLATE_KINDS else {},
        )
    return RedirectResponse("/console/channels#templates", status_code=303)


@router.post("/channels/{channel}/{action}")
async def change_channel(
    request: Request, settings: SettingsDep, signed: Admin, channel: str, action: str
) -> Response:
    """Connect or disconnect, with the same steps as `kesher telegram|whatsapp connect`."""
    form = await form_fields(request)
    services, business = signed.services, signed.business
    public = settings.public_base()
    try:
        if (channel, action) == ("telegram", "connect"):
            await connect_telegram(
                services, business, token=form.get("token", ""), public_base=public
            )
        elif (channel, action) == ("telegram", "disconnect"):
            await disconnect_telegram(services, business)
        elif (channel, action) == ("whatsapp", "connect"):
            await connect_whatsapp(
                services,
                business,
                account_sid=form.get("account_sid", ""),
                auth_token=form.get("auth_token", ""),
                sender=form.get("sender", ""),
                public_base=public,
                mps=form.get("mps"),
            )
        elif (channel, action) == ("whatsapp", "disconnect"):
            await disconnect_whatsapp(services, business)
        else:
            raise NotFound(f"no {channel} {action}", code="not_found")
    except KesherError as refused:
        kept = {k: form.get(k, "") for k in ("account_sid", "sender", "mps")}
        return await _channels_page(request, signed, error=refused.message, connecting=kept)
    return RedirectResponse("/console/channels", status_code=303)
