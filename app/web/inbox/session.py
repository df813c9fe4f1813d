"""The inbox's sign-in and sign-out: the login form (with its own CSRF cookie, and the
business remembered from the last sign-in), the session cookie, and the agent online from
sign-in to sign-out. Refused sign-ins answer 401, too many 429 and a flood 503, the last two
with Retry-After."""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.settings import Settings
from app.web import pages
from app.web.deps import ServicesDep, SettingsDep
from app.web.pages import SESSION_COOKIE, Signed, render
from bot.domain import Overloaded
from bot.handoffs import agents, signin
from bot.handoffs import service as handoffs

router = APIRouter(prefix="/inbox", include_in_schema=False)

LOGIN_COOKIE = "kesher_login"
# The business of the last sign-in on this browser, to fill in the form next time.
BUSINESS_COOKIE = "kesher_business"
BUSINESS_COOKIE_AGE = 365 * 24 * 3600
MAX_SLUG = 64


def _secure(settings: Settings) -> bool:
    return settings.public_base().startswith("https://")


def _login_page(
    request: Request,
    settings: Settings,
    *,
    business: str | None = None,
    error: str | None = None,
    status: int = 200,
    retry_after: float | None = None,
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    language = "en" if request.query_params.get("lang") == "en" else "he"
    if business is None:
        business = request.query_params.get("business") or request.cookies.get(BUSINESS_COOKIE)
    response = render(
        request,
        "inbox/login.html",
        {
            "lang": language,
            "csrf": token,
            "error": error,
            "business": (business or "")[:MAX_SLUG],
            "minutes": math.ceil((retry_after or 0) / 60),
        },
        status,
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(math.ceil(retry_after))
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
    business: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not agents.same_token(csrf, request.cookies.get(LOGIN_COOKIE, "")):
        return _login_page(request, settings, business=business, error="expired", status=400)
    if (
        len(business) > MAX_SLUG
        or len(email) > agents.MAX_EMAIL
        or len(password) > agents.MAX_PASSWORD
    ):
        # No login has such a business, e-mail or password: the same answer as any wrong one.
        return _login_page(request, settings, business=business, error="wrong", status=401)
    try:
        signed = await signin.sign_in(
            services,
            business=business,
            email=email,
            password=password,
            address=request.client.host if request.client else "",
            now=services.clock.now(),
        )
    except signin.LoginRefused as refused:
        return _login_page(
            request,
            settings,
            business=business,
            error="locked" if refused.locked else "wrong",
            status=429 if refused.locked else 401,
            retry_after=refused.retry_after,
        )
    except Overloaded as busy:
        return _login_page(
            request,
            settings,
            business=business,
            error="busy",
            status=503,
            retry_after=busy.retry_after,
        )
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
    response.set_cookie(
        BUSINESS_COOKIE,
        business.strip().lower(),
        max_age=BUSINESS_COOKIE_AGE,
        httponly=True,
        samesite="strict",
        secure=_secure(settings),
        path="/inbox",
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
