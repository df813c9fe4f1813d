"""The console's agents page: the business's team, who is online, their capacity and load,
their performance week by week; a new agent, a capacity or role changed, a password reset, an
agent disabled, enabled again or deleted (each confirmed with a tick)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.web.console.admins import Admin
from app.web.pages import SignedIn, context, form_fields, render, words
from bot.domain import AgentRole, ChannelName, KesherError
from bot.handoffs.agents import change_agent, create_agent
from bot.handoffs.offboarding import (
    delete_agent,
    disable_agent,
    enable_agent,
    reset_agent_password,
)
from bot.insights import performance
from bot.outbound.whatsapp_templates import STAFF_ALERT, stored_templates
from flows.insights import week_of

router = APIRouter(prefix="/console", include_in_schema=False)

AgentId = Annotated[int, Path(ge=1, le=2**31 - 1)]

# Agent performance on the page: this week and the three before it.
WEEKS = 4


@router.get("/agents", response_class=HTMLResponse)
async def agents(
    request: Request, signed: Admin, error: str | None = None, done: str | None = None
) -> HTMLResponse:
    """The business's team: who is online, their capacity and load, and a form for a new one."""
    notice = words(signed.agent.language).get(done) if done == "password_reset_done" else None
    return await _agents_page(request, signed, error=error, notice=notice)


async def _agents_page(
    request: Request,
    signed: SignedIn,
    *,
    error: str | None = None,
    team_error: str | None = None,
    notice: str | None = None,
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
            team_error=team_error,
            notice=notice,
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
async def change_agent_form(request: Request, signed: Admin, agent_id: AgentId) -> Response:
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


def _actor(signed: SignedIn) -> str:
    """Who did it, for the audit log: the admin by their id (the pages show their name)."""
    return f"agent:{signed.agent.id}"


@router.post("/agents/{agent_id}/disable")
@router.post("/agents/{agent_id}/enable")
@router.post("/agents/{agent_id}/delete")
@router.post("/agents/{agent_id}/password")
async def offboard(request: Request, signed: Admin, agent_id: AgentId) -> Response:
    """Disable, enable, delete (each but enable confirmed with a tick) or a new password."""
    action = request.url.path.rsplit("/", 1)[-1]
    form = await form_fields(request)
    if action in ("disable", "delete") and form.get("confirm") != "on":
        return await _agents_page(
            request, signed, team_error=words(signed.agent.language)["confirm_needed"]
        )
    business, now, actor = signed.business, signed.services.clock.now(), _actor(signed)
    try:
        async with signed.services.uow() as uow:
            if action == "disable":
                await disable_agent(uow, business, agent_id, actor=actor, now=now, by=signed.agent)
            elif action == "enable":
                await enable_agent(uow, business, agent_id, actor=actor, now=now)
            elif action == "delete":
                await delete_agent(uow, business, agent_id, actor=actor, now=now, by=signed.agent)
            else:
                await reset_agent_password(
                    uow,
                    business,
                    agent_id,
                    form.get("password", ""),
                    actor=actor,
                    now=now,
                    passwords=signed.services.passwords,
                )
            await uow.commit()
    except KesherError as refused:
        said = words(signed.agent.language)["agent_refused"].get(refused.code, refused.message)
        return await _agents_page(request, signed, team_error=said)
    done = "?done=password_reset_done" if action == "password" else ""
    return RedirectResponse(f"/console/agents{done}", status_code=303)
