"""The console's agents page: the business's team, who is online, their capacity and load,
their performance week by week; a new agent, and a capacity or role changed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.web.console.admins import Admin
from app.web.pages import SignedIn, context, form_fields, render
from bot.domain import AgentRole, ChannelName, KesherError
from bot.handoffs.agents import change_agent, create_agent
from bot.insights import performance
from bot.outbound.whatsapp_templates import STAFF_ALERT, stored_templates
from flows.insights import week_of

router = APIRouter(prefix="/console", include_in_schema=False)

# Agent performance on the page: this week and the three before it.
WEEKS = 4


@router.get("/agents", response_class=HTMLResponse)
async def agents(request: Request, signed: Admin, error: str | None = None) -> HTMLResponse:
    """The business's team: who is online, their capacity and load, and a form for a new one."""
    return await _agents_page(request, signed, error=error)


async def _agents_page(
    request: Request,
    signed: SignedIn,
    *,
    error: str | None = None,
    typed: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The team, and the new agent's form as the admin typed it (but the password) if refused."""
    services, business = signed.services, signed.business
    async with services.uow() as uow:
        team = await uow.agents.list(business.id)
        holding = await uow.agents.holding(business.id)
        whatsapp = await uow.accounts.get(business.id, ChannelName.WHATSAPP)
    kept = {k: v for k, v in (typed or {}).items() if k != "password"}
    first = week_of(services.clock.now(), business.timezone) - timedelta(days=7 * (WEEKS - 1))
    return render(
        request,
        "console/agents.html",
        context(
            signed,
            team=team,
            holding=holding,
            error=error,
            typed=kept,
            performance=await performance.weekly(services, business, first=first, weeks=WEEKS),
            duration=performance.duration,
            # WhatsApp is connected but agents' alerts have no approved template to go in.
            no_alert_template=whatsapp is not None
            and not stored_templates(whatsapp).get(STAFF_ALERT),
        ),
    )


@router.post("/agents")
async def add_agent(request: Request, signed: Admin) -> Response:
    form = await form_fields(request)
    capacity = form.get("capacity", "")
    try:
        async with signed.services.uow() as uow:
            await create_agent(
                uow,
                signed.business,
                email=form.get("email", ""),
                name=form.get("name", ""),
                password=form.get("password", ""),
                role=AgentRole.ADMIN if form.get("role") == "admin" else AgentRole.AGENT,
                language=form.get("language") if form.get("language") in ("he", "en") else None,
                capacity=int(capacity) if capacity.isdecimal() else 0,
                passwords=signed.services.passwords,
                now=signed.services.clock.now(),
            )
            await uow.commit()
    except KesherError as refused:
        return await _agents_page(request, signed, error=refused.message, typed=form)
    return RedirectResponse("/console/agents", status_code=303)


@router.post("/agents/{agent_id}")
async def change_agent_form(
    request: Request, signed: Admin, agent_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    """A new capacity or role from the team table."""
    form = await form_fields(request)
    capacity = form.get("capacity", "")
    try:
        async with signed.services.uow() as uow:
            await change_agent(
                uow,
                signed.business,
                agent_id,
                capacity=int(capacity) if capacity.isdecimal() and len(capacity) < 4 else 0,
                role=AgentRole.ADMIN if form.get("role") == "admin" else AgentRole.AGENT,
            )
            await uow.commit()
    except KesherError as refused:
        return await agents(request, signed, error=refused.message)
    return RedirectResponse("/console/agents", status_code=303)
