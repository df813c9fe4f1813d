"""The console's first-run page: the owner's login made from the one-time setup link that
`kesher serve` prints (`bot.handoffs.first_admin`), then the console's sign-in. The page is
gone (404) once no business waits for its first admin with a live link."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.web.deps import ServicesDep
from app.web.pages import form_fields, render, templates
from bot.domain import InvalidInput
from bot.handoffs import first_admin
from bot.handoffs.agents import MAX_EMAIL, MAX_NAME, MAX_PASSWORD
from bot.handoffs.first_admin import SetupLinks, SetupRefused, make_first_admin
from bot.services import Services

router = APIRouter(prefix="/console", include_in_schema=False)

MAX_TOKEN = 100


def setup_links(request: Request) -> SetupLinks:
    """The setup links of this process, kept on the app's state by `create_app`."""
    links: SetupLinks = request.app.state.setup_links
    return links


async def setup_open(request: Request) -> bool:
    """Whether a business waits for its first admin with a live link (the tokens of those that
    got one otherwise are dropped)."""
    services: Services = request.app.state.runtime.services
    links, now = setup_links(request), services.clock.now()
    if not links.waiting(now=now):
        return False
    async with services.uow() as uow:
        return await first_admin.setup_open(uow, links, now=now)


def setup_offered(request: Request) -> bool:
    """For the pages: a live setup link, as last checked by `setup_open`."""
    services: Services = request.app.state.runtime.services
    return bool(setup_links(request).waiting(now=services.clock.now()))


templates.env.globals["setup_offered"] = setup_offered


def _language(request: Request, form: dict[str, str] | None = None) -> str:
    chosen = (form or {}).get("lang") or request.query_params.get("lang")
    return "en" if chosen == "en" else "he"


def _page(request: Request, language: str, *, status: int = 200, **more: Any) -> HTMLResponse:
    token = more.pop("token", request.query_params.get("token", ""))
    context = {"lang": language, "token": token[:MAX_TOKEN], "typed": {}, "error": None, **more}
    return render(request, "console/setup.html", context, status)


def _gone(request: Request, language: str) -> HTMLResponse:
    return render(request, "console/setup.html", {"lang": language, "gone": True}, 404)


@router.get("/setup", response_class=HTMLResponse)
async def setup_form(request: Request) -> HTMLResponse:
    language = _language(request)
    if not await setup_open(request):
        return _gone(request, language)
    return _page(request, language)


@router.post("/setup", response_class=HTMLResponse)
async def make_owner(request: Request, services: ServicesDep) -> Response:
    form = await form_fields(request)
    language = _language(request, form)
    if not await setup_open(request):
        return _gone(request, language)
    token = form.get("token", "").strip()
    typed = {k: form.get(k, "") for k in ("name", "email", "language")}
    if (
        len(token) > MAX_TOKEN
        or len(form.get("email", "")) > MAX_EMAIL
        or len(form.get("name", "")) > MAX_NAME
        or len(form.get("password", "")) > MAX_PASSWORD
    ):
        return _page(request, language, status=400, error="too_long", typed=typed)
    chosen = form.get("language")
    try:
        async with services.uow() as uow:
            business, _ = await make_first_admin(
                uow,
                setup_links(request),
                token,
                email=form.get("email", ""),
                name=form.get("name", ""),
                password=form.get("password", ""),
                language=chosen if chosen in ("he", "en") else language,
                now=services.clock.now(),
                passwords=services.passwords,
            )
            await uow.commit()
    except SetupRefused:
        return _page(request, language, status=403, error="refused", typed=typed, token="")
    except InvalidInput as refused:
        error = refused.code if refused.code in SETUP_ERRORS else "invalid"
        return _page(request, language, status=400, error=error, typed=typed, token=token)
    # The business fills in the sign-in form where it asks for one.
    query = urlencode(
        {"lang": language, "next": "/console", "welcome": 1, "business": business.slug}
    )
    return RedirectResponse(f"/console/login?{query}", status_code=303)


# The refusals of the owner's details the page words itself (strings.html, setup_errors).
SETUP_ERRORS = ("weak_password", "invalid_email", "invalid_name", "agent_exists")


def install(app: FastAPI) -> None:
    app.state.setup_links = SetupLinks()
    app.include_router(router)
