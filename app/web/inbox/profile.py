"""The signed-in agent's own: online or away, their language for the inbox and the console,
their Telegram chat for alerts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.web.pages import Signed, context, own_page, render
from bot.domain import KesherError
from bot.handoffs import agents
from bot.handoffs import service as handoffs
from bot.outbound.whatsapp_templates import LANGUAGES

router = APIRouter(prefix="/inbox", include_in_schema=False)


@router.post("/status")
async def status(signed: Signed, online: Annotated[str, Form()] = "") -> Response:
    async with signed.services.uow() as uow:
        await handoffs.set_online(
            uow, signed.business, signed.agent, online == "on", now=signed.services.clock.now()
        )
        await uow.commit()
    return RedirectResponse("/inbox", status_code=303)


@router.post("/language")
async def language(
    signed: Signed,
    lang: Annotated[str, Form()] = "",
    back: Annotated[str, Form(max_length=200)] = "/inbox",
) -> Response:
    """The agent's own language for the inbox and the console; back to the page it was set on."""
    if lang in LANGUAGES:
        async with signed.services.uow() as uow:
            await uow.agents.set_language(signed.agent.id, lang)
            await uow.commit()
    return RedirectResponse(back if own_page(back) else "/inbox", status_code=303)


@router.post("/telegram", response_class=HTMLResponse)
async def telegram_link(request: Request, signed: Signed) -> HTMLResponse:
    """A one-time link that joins the agent's own Telegram chat to the business's bot."""
    url = error = None
    try:
        async with signed.services.uow() as uow:
            url = await agents.telegram_link(
                uow, signed.business, signed.agent, now=signed.services.clock.now()
            )
            await uow.commit()
    except KesherError as refused:
        error = refused.message
    return render(request, "inbox/telegram.html", context(signed, url=url, error=error))


@router.post("/telegram/unlink", response_class=HTMLResponse)
async def telegram_unlink(request: Request, signed: Signed) -> HTMLResponse:
    async with signed.services.uow() as uow:
        await uow.agents.set_telegram_chat(signed.agent.id, None)
        await uow.commit()
    return render(request, "inbox/telegram.html", context(signed))
