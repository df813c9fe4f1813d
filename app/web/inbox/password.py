"""The signed-in agent's own password: changed with the current one; their other sessions end."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.web.pages import SESSION_COOKIE, Signed, context, form_fields, render, words
from bot.domain import KesherError
from bot.handoffs.agents import change_own_password

router = APIRouter(prefix="/inbox", include_in_schema=False)


@router.get("/password", response_class=HTMLResponse)
async def password_page(request: Request, signed: Signed) -> HTMLResponse:
    return render(request, "inbox/password.html", context(signed))


@router.post("/password", response_class=HTMLResponse)
async def change_password(request: Request, signed: Signed) -> HTMLResponse:
    form = await form_fields(request)
    try:
        async with signed.services.uow() as uow:
            await change_own_password(
                uow,
                signed.agent,
                current=form.get("current", ""),
                new=form.get("password", ""),
                keep_token=request.cookies.get(SESSION_COOKIE, ""),
                passwords=signed.services.passwords,
            )
            await uow.commit()
    except KesherError as refused:
        said = words(signed.agent.language)["agent_refused"].get(refused.code, refused.message)
        return render(request, "inbox/password.html", context(signed, error=said), status=400)
    return render(request, "inbox/password.html", context(signed, changed=True))
