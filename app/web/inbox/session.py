"""The inbox's sign-in and sign-out: the login form (with its own CSRF cookie), the
session cookie, and the agent online from sign-in to sign-out."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.settings import Settings
from app.web import pages
from app.web.deps import ServicesDep, SettingsDep
from app.web.pages import SESSION_COOKIE, Signed, render
from bot.handoffs import agents
from bot.handoffs import service as handoffs

router = APIRouter(prefix="/inbox", include_in_schema=False)

LOGIN_COOKIE = "kesher_login"


def _secure(settings: Settings) -> bool:
    return settings.public_base().startswith("https://")


def _login_page(
    request: Request, settings: Settings, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    language = "en" if request.query_params.get("lang") == "en" else "he"
    response = render(
        request,
        "inbox/login.html",
        {"lang": language, "csrf": token, "error": error},
        status,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(settings),
        path="/inbox",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, settings: SettingsDep) -> HTMLResponse:
    return _login_page(request, settings)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    services: ServicesDep,
    settings: SettingsDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not agents.same_token(csrf, request.cookies.get(LOGIN_COOKIE, "")):
        return _login_page(request, settings, error="expired", status=400)
    if len(email) > agents.MAX_EMAIL or len(password) > agents.MAX_PASSWORD:
        # No account has such an email or password: the same answer as any wrong one.
        return _login_page(request, settings, error="wrong", status=401)
    now = services.clock.now()
    async with services.uow() as uow:
        try:
            signed = await agents.sign_in(uow, email, password, now=now)
        except agents.LoginRefused as refused:
            await uow.commit()
            locked = refused.locked_until is not None
            return _login_page(
                request,
                settings,
                error="locked" if locked else "wrong",
                status=429 if locked else 401,
            )
        business = await uow.businesses.get(signed.agent.business_id)
        await handoffs.set_online(uow, business, signed.agent, True, now=now)
        await uow.commit()
    response = RedirectResponse("/inbox", status_code=303)
    # Back to the page the form was for: the console from its sign-in page, or `?next=`.
    response.headers["location"] = pages.after_sign_in(request)
    response.set_cookie(
        SESSION_COOKIE,
        signed.token,
        max_age=int(agents.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(settings),
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/inbox")
    return response


@router.post("/logout")
async def logout(request: Request, signed: Signed) -> Response:
    now = signed.services.clock.now()
    async with signed.services.uow() as uow:
        await handoffs.set_online(uow, signed.business, signed.agent, False, now=now)
        await agents.sign_out(uow, request.cookies.get(SESSION_COOKIE, ""))
        await uow.commit()
    response = RedirectResponse("/inbox/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
