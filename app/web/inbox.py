"""The agent inbox: sign in, the queue of handoffs, one customer's whole record, reply and resolve.

Server-rendered pages (Jinja2, escaped) with htmx; the queue and the open conversation refresh
live over server-sent events. Every form and htmx request carries the session's CSRF token.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sse_starlette.sse import EventSourceResponse

from app.settings import Settings
from app.web.deps import ServicesDep, SettingsDep
from app.web.errors import error_response
from bot.domain import Agent, Business, Handoff, KesherError, NotFound
from bot.handoffs import agents
from bot.handoffs import service as handoffs
from bot.outbound.replies import queue_sends
from bot.outbound.whatsapp_templates import LANGUAGES, approved_kinds, stored_templates
from bot.ports import UnitOfWork
from bot.services import Services
from flows.reasons import reasons_shown

router = APIRouter(prefix="/inbox", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
templates.env.filters["reasons"] = reasons_shown

SESSION_COOKIE = "kesher_session"
LOGIN_COOKIE = "kesher_login"
STREAM_EVERY = 1.0

# A handoff's id is an integer column; a larger number is no handoff.
HandoffId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


class SignInNeeded(Exception):
    """No valid session: pages go to the login form, htmx requests are told to."""


class FormExpired(KesherError):
    """A POST without the session's CSRF token: a page left open since another sign-in."""

    def __init__(self, language: str) -> None:
        super().__init__("the form expired; reload the page", code="csrf")
        self.language = language


@dataclass(frozen=True, slots=True)
class Desk:
    """The signed-in agent, their business and the session's CSRF token."""

    agent: Agent
    business: Business
    csrf: str
    services: Services


async def desk(request: Request, services: ServicesDep) -> Desk:
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
    return Desk(agent=agent, business=business, csrf=csrf, services=services)


Signed = Annotated[Desk, Depends(desk)]


def _secure(settings: Settings) -> bool:
    return settings.public_base().startswith("https://")


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


def _login_page(
    request: Request, settings: Settings, *, error: str | None = None, status: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    language = "en" if request.query_params.get("lang") == "en" else "he"
    response = render(
        request,
        "inbox_login.html",
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
    return RedirectResponse(back if _own_page(back) else "/inbox", status_code=303)


def _own_page(path: str) -> bool:
    """A path of the inbox or the console to send the agent back to (never another site)."""
    return path.startswith(("/inbox", "/console")) and "//" not in path


def context(signed: Desk, **more: Any) -> dict[str, Any]:
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


@router.get("", response_class=HTMLResponse)
async def inbox(request: Request, signed: Signed, h: int | None = None) -> HTMLResponse:
    async with signed.services.uow() as uow:
        me = await uow.agents.get(signed.agent.id)
    return render(
        request,
        "inbox.html",
        context(
            signed,
            selected=h,
            online=bool(me and me.online),
            linked=bool(me and me.telegram_chat),
        ),
    )


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
    return render(request, "inbox_telegram.html", context(signed, url=url, error=error))


@router.post("/telegram/unlink", response_class=HTMLResponse)
async def telegram_unlink(request: Request, signed: Signed) -> HTMLResponse:
    async with signed.services.uow() as uow:
        await uow.agents.set_telegram_chat(signed.agent.id, None)
        await uow.commit()
    return render(request, "inbox_telegram.html", context(signed))


@dataclass(frozen=True, slots=True)
class Row:
    handoff: Handoff
    customer: str
    agent: str | None
    waited: int
    late: bool


async def _rows(uow: UnitOfWork, signed: Desk) -> list[Row]:
    now = signed.services.clock.now()
    names = {a.id: a.name for a in await uow.agents.list(signed.business.id)}
    rows = []
    for handoff in handoffs.visible(await uow.handoffs.list(signed.business.id), signed.agent):
        rows.append(
            Row(
                handoff=handoff,
                customer=await _who(uow, signed.business, handoff),
                agent=names.get(handoff.agent_id) if handoff.agent_id else None,
                waited=int((now - handoff.requested_at).total_seconds() // 60),
                late=handoff.first_reply_at is None and now >= handoff.sla_due_at,
            )
        )
    return rows


async def _who(uow: UnitOfWork, business: Business, handoff: Handoff) -> str:
    """The customer's name, else the address they wrote from (a phone number, a chat)."""
    customer = await uow.customers.get(business.id, handoff.customer_id)
    if customer is not None and customer.name:
        return customer.name
    conversation = await uow.conversations.get(handoff.conversation_id)
    return (await uow.identities.get(conversation.identity_id)).address


@router.get("/queue", response_class=HTMLResponse)
async def queue(request: Request, signed: Signed, h: int | None = None) -> HTMLResponse:
    async with signed.services.uow() as uow:
        rows = await _rows(uow, signed)
    return render(request, "inbox_queue.html", context(signed, rows=rows, selected=h))


async def _mine(uow: UnitOfWork, signed: Desk, handoff_id: int) -> Handoff:
    # Scoped to the agent's own business: another business's handoff is simply not found.
    handoff = await uow.handoffs.get(signed.business.id, handoff_id)
    if handoff is None:
        raise NotFound(f"no handoff {handoff_id}", code="handoff_not_found")
    return handoff


@router.get("/handoffs/{handoff_id}", response_class=HTMLResponse)
async def conversation(
    request: Request, signed: Signed, handoff_id: HandoffId, error: str | None = None
) -> HTMLResponse:
    return await _conversation_page(request, signed, handoff_id, error=error)


async def _conversation_page(
    request: Request,
    signed: Desk,
    handoff_id: int,
    *,
    error: str | None = None,
    kept: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The handoff's conversation; `kept` is the text a refused reply or note held, by form."""
    now = signed.services.clock.now()
    async with signed.services.uow() as uow:
        handoff = await _mine(uow, signed, handoff_id)
        customer = await uow.customers.get(signed.business.id, handoff.customer_id)
        messages = await uow.messages.for_customer(handoff.customer_id, limit=200)
        events = await uow.events.for_customer(handoff.customer_id, limit=200)
        answers = await uow.answers.for_customer(handoff.customer_id, limit=20)
        past = await uow.handoffs.list(
            signed.business.id, open_only=False, customer_id=handoff.customer_id, limit=20
        )
        summary = await handoffs.summary(uow, handoff)
        conversation = await uow.conversations.get(handoff.conversation_id)
        identity = await uow.identities.get(conversation.identity_id)
        approved = stored_templates(await uow.accounts.get(signed.business.id, identity.channel))
        team = await uow.agents.list(signed.business.id)
    language = customer.language if customer else signed.business.language
    return render(
        request,
        "inbox_conversation.html",
        context(
            signed,
            handoff=handoff,
            customer=customer,
            who=customer.name if customer and customer.name else identity.address,
            messages=messages,
            notes=[e for e in events if e.kind == "note"],
            answers=answers,
            past=[p for p in past if p.id != handoff.id],
            summary=summary,
            window=handoff.resolved_at is not None
            or handoffs.window_open(signed.services, identity, now=now),
            channel=identity.channel.value,
            templates=approved_kinds(approved, language),
            team=[a for a in team if a.id != handoff.agent_id],
            canned=signed.business.canned_replies,
            error=error,
            kept=kept or {},
            key=secrets.token_hex(8),
        ),
    )


async def _act(request: Request, signed: Signed, handoff_id: int, form: dict[str, str]) -> Response:
    """Do the form's action on the handoff, then show the conversation again (with any error)."""
    services, now = signed.services, signed.services.clock.now()
    action = request.url.path.rsplit("/", 1)[-1]
    outbox_ids: list[int] = []
    try:
        async with services.uow() as uow:
            await _mine(uow, signed, handoff_id)
            if action == "reply":
                _, outbox_ids = await handoffs.reply(
                    uow,
                    services,
                    signed.business,
                    handoff_id,
                    signed.agent,
                    form.get("text", ""),
                    now=now,
                    template=form.get("template") or None,
                    key=form.get("key") or None,
                )
            elif action == "note":
                await handoffs.note(
                    uow, signed.business, handoff_id, signed.agent, form.get("text", ""), now=now
                )
            elif action == "claim":
                await handoffs.claim(uow, signed.business, handoff_id, signed.agent, now=now)
            elif action == "transfer":
                chosen = form.get("agent", "")
                target = int(chosen) if chosen.isdecimal() else 0
                await handoffs.transfer(uow, signed.business, handoff_id, target, now=now)
            elif action == "resolve":
                await handoffs.resolve(
                    uow, signed.business, handoff_id, agent=signed.agent, now=now
                )
            await uow.commit()
    except KesherError as refused:
        # The agent's words come back in their box, to be mended rather than typed again.
        return await _conversation_page(
            request, signed, handoff_id, error=refused.message, kept={action: form.get("text", "")}
        )
    await queue_sends(outbox_ids, services)
    return await _conversation_page(request, signed, handoff_id)


async def form_fields(request: Request) -> dict[str, str]:
    """A form's text fields; a browser sends a textarea's new lines as CRLF, kept here as LF
    (so a reply the page let through is not longer on the server)."""
    form = await request.form()
    return {k: v.replace("\r\n", "\n") for k, v in form.items() if isinstance(v, str)}


@router.post("/handoffs/{handoff_id}/reply", response_class=HTMLResponse)
@router.post("/handoffs/{handoff_id}/note", response_class=HTMLResponse)
@router.post("/handoffs/{handoff_id}/claim", response_class=HTMLResponse)
@router.post("/handoffs/{handoff_id}/transfer", response_class=HTMLResponse)
@router.post("/handoffs/{handoff_id}/resolve", response_class=HTMLResponse)
async def act(request: Request, signed: Signed, handoff_id: HandoffId) -> Response:
    return await _act(request, signed, handoff_id, await form_fields(request))


@router.get("/stream")
async def stream(request: Request, signed: Signed) -> EventSourceResponse:
    """'changed' whenever a handoff or a message of the agent's business changes."""

    async def changes() -> AsyncIterator[dict[str, str]]:
        seen = None
        while not await request.is_disconnected():
            async with signed.services.uow() as uow:
                marker = await uow.handoffs.changes(signed.business.id)
            if marker != seen:
                seen = marker
                yield {"event": "changed", "data": marker}
            await asyncio.sleep(STREAM_EVERY)

    return EventSourceResponse(changes(), ping=15)


def install(app: FastAPI) -> None:
    """The inbox's routes, its static files and what a missing session leads to."""
    app.include_router(router)
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
            "inbox_expired.html",
            {"lang": expired.language, "back": back if _own_page(back) else "/inbox"},
            status_code=400,
        )

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, _: SignInNeeded) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/inbox/login"})
        return RedirectResponse("/inbox/login", status_code=303)
