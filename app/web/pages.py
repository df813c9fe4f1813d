"""The page kit of the inbox and the console: the Jinja templates, a page rendered in the
signed-in agent's context, a form's fields, the pages' own words, and the session a page is
opened in (with what a missing session or an expired form leads to).

Server-rendered pages (Jinja2, escaped) with htmx. Every form and htmx request carries the
session's CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from app.web.deps import ServicesDep
from app.web.errors import error_response
from bot.domain import Agent, Business, KesherError
from bot.handoffs import agents
from bot.services import Services
from flows.reasons import reasons_shown

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
templates.env.filters["reasons"] = reasons_shown

SESSION_COOKIE = "kesher_session"


class SignInNeeded(Exception):
    """No valid session: pages go to the login form, htmx requests are told to."""


class FormExpired(KesherError):
    """A POST without the session's CSRF token: a page left open since another sign-in."""

    def __init__(self, language: str) -> None:
        super().__init__("the form expired; reload the page", code="csrf")
        self.language = language


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The signed-in agent, their business and the session's CSRF token."""

    agent: Agent
    business: Business
    csrf: str
    services: Services


async def signed_in(request: Request, services: ServicesDep) -> SignedIn:
    token = request.cookies.get(SESSION_COOKIE, "")
    async with services.uow() as uow:
        found = await agents.session(uow, token, now=services.clock.now())
        if found is None:
            raise SignInNeeded()
        agent, csrf = found
        business = await uow.businesses.get(agent.business_id)
    if request.method == "POST":
        given = request.headers.get("x-csrf-token")
        if given is None:
            form = await request.form()
            value = form.get("csrf")
            given = value if isinstance(value, str) else None
        if not agents.same_token(given, csrf):
            raise FormExpired(agent.language)
    return SignedIn(agent=agent, business=business, csrf=csrf, services=services)


Signed = Annotated[SignedIn, Depends(signed_in)]


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


def context(signed: SignedIn, **more: Any) -> dict[str, Any]:
    return {
        "agent": signed.agent,
        "business": signed.business,
        "csrf": signed.csrf,
        "lang": signed.agent.language,
        "now": signed.services.clock.now(),
        # Times on the pages are the business's local time.
        "tz": ZoneInfo(signed.business.timezone),
        **more,
    }


async def form_fields(request: Request) -> dict[str, str]:
    """A form's text fields; a browser sends a textarea's new lines as CRLF, kept here as LF
    (so a reply the page let through is not longer on the server)."""
    form = await request.form()
    return {k: v.replace("\r\n", "\n") for k, v in form.items() if isinstance(v, str)}


def words(language: str) -> dict[str, Any]:
    """The pages' own words (strings.html), for what the code says: charts' labels,
    refusals."""
    module: Any = templates.env.get_template("strings.html").module
    strings: dict[str, dict[str, Any]] = module.strings
    return strings.get(language, strings["he"])


def own_page(path: str) -> bool:
    """A path of the inbox or the console to send the agent back to (never another site): no
    scheme or host, no backslash a browser would read as a slash, no control characters."""
    return (
        path.startswith(("/inbox", "/console"))
        and "//" not in path
        and "\\" not in path
        and path.isprintable()
        and not urlsplit(path).netloc
    )


def after_sign_in(request: Request) -> str:
    """Where a sign-in leads: the page asked for in `?next=` when it is one of the inbox's or
    the console's, else the console for its own sign-in page, else the inbox."""
    wanted = request.query_params.get("next", "")
    if own_page(wanted) and not wanted.startswith("/inbox/login"):
        return wanted
    return "/console" if request.url.path.startswith("/console") else "/inbox"


def sign_in_page(path: str, language: str | None) -> str:
    """The sign-in page for a page of the console or the inbox (in the page's language when it
    names one), returning to it after."""
    face = "/console" if path.startswith("/console") else "/inbox"
    query = {"lang": language} if language in ("he", "en") else {}
    if own_page(path) and path != face:
        query["next"] = path
    return f"{face}/login?{urlencode(query)}" if query else f"{face}/login"


templates.env.globals["after_sign_in"] = after_sign_in


def install(app: FastAPI) -> None:
    """The pages' static files, and what a missing session or an expired form leads to."""
    app.mount("/static", StaticFiles(directory=Path(__file__).with_name("static")), name="static")

    @app.exception_handler(FormExpired)
    async def _expired(request: Request, expired: FormExpired) -> Response:
        """htmx's requests get the JSON error (the page's banner shows it); a plain form gets
        a page in the agent's language with the way back, not raw JSON."""
        if request.headers.get("hx-request"):
            return error_response(400, expired.code, expired.message)
        back = urlsplit(request.headers.get("referer", "")).path
        return templates.TemplateResponse(
            request,
            "expired.html",
            {"lang": expired.language, "back": back if own_page(back) else "/inbox"},
            status_code=400,
        )

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, _: SignInNeeded) -> Response:
        """The sign-in page of the console or the inbox, back to the page after; for htmx, the
        page the browser shows (its own request is a fragment's)."""
        if request.headers.get("hx-request"):
            shown = urlsplit(request.headers.get("hx-current-url", ""))
            page = shown.path + (f"?{shown.query}" if shown.query else "")
            language = parse_qs(shown.query).get("lang", [None])[0]
            return Response(status_code=401, headers={"HX-Redirect": sign_in_page(page, language)})
        page = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(
            sign_in_page(page, request.query_params.get("lang")), status_code=303
        )
