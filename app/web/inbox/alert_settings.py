"""The signed-in agent's own alerts: which events reach them by which media, their working
hours (in the business's timezone, the week from Sunday) and what happens outside them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.web.pages import Signed, SignedIn, context, form_fields, render
from bot.domain import AgentRole, ChannelName, KesherError
from bot.handoffs import agents
from bot.handoffs.alerts import preferences
from bot.outbound.whatsapp_templates import STAFF_ALERT, stored_templates
from flows.staff_alerts import WEEK, AlertEvent, AlertPreferences, Medium, WorkingHours

router = APIRouter(prefix="/inbox", include_in_schema=False)


@router.get("/alerts", response_class=HTMLResponse)
async def alert_settings(request: Request, signed: Signed, saved: bool = False) -> HTMLResponse:
    async with signed.services.uow() as uow:
        me = await uow.agents.get(signed.agent.id)
    return await _page(request, signed, preferences(me or signed.agent), saved=saved)


@router.post("/alerts", response_model=None)
async def save_alert_settings(request: Request, signed: Signed) -> Response:
    form = await form_fields(request)
    given = _given(form)
    try:
        async with signed.services.uow() as uow:
            await agents.set_alert_preferences(uow, signed.agent, given)
            await uow.commit()
    except KesherError as refused:
        # Shown in the agent's language: the field it names ("hours.to: ..." → hours).
        field = refused.message.split(":", 1)[0].split(".", 1)[0]
        return await _page(request, signed, None, error=field, typed=form, status=400)
    return RedirectResponse("/inbox/alerts?saved=true", status_code=303)


def _events(signed: SignedIn) -> list[AlertEvent]:
    """The events an agent may choose: the late alert is the admins'."""
    return [
        e
        for e in AlertEvent
        if e is not AlertEvent.SLA_MISSED or signed.agent.role is AgentRole.ADMIN
    ]


def _given(form: dict[str, str]) -> dict[str, object]:
    """The form as the mapping `flows.staff_alerts.parse_preferences` reads."""
    return {
        "events": {
            event.value: [m.value for m in Medium if form.get(f"{event.value}_{m.value}")]
            for event in AlertEvent
        },
        "hours": {
            "days": [day for day in WEEK if form.get(f"day_{day}")],
            "from": form.get("from", ""),
            "to": form.get("to", ""),
        }
        if form.get("hours")
        else None,
        "off_hours": form.get("off_hours", "none"),
        "whatsapp": form.get("whatsapp", "").strip(),
    }


async def _page(
    request: Request,
    signed: SignedIn,
    chosen: AlertPreferences | None,
    *,
    saved: bool = False,
    error: str | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The form with the agent's choices, or (after a refusal) with what they typed and the
    field (`error`) that was refused."""
    services = signed.services
    async with services.uow() as uow:
        me = await uow.agents.get(signed.agent.id)
        whatsapp = await uow.accounts.get(signed.business.id, ChannelName.WHATSAPP)
    shown = _shown(chosen) if chosen is not None else _typed(typed or {})
    return render(
        request,
        "inbox/alerts.html",
        context(
            signed,
            events=_events(signed),
            media=list(Medium),
            week=list(WEEK),
            shown=shown,
            saved=saved,
            error=error,
            mailer=services.mailer is not None,
            telegram=bool(me and me.telegram_chat),
            whatsapp_connected=whatsapp is not None,
            whatsapp_template=bool(stored_templates(whatsapp).get(STAFF_ALERT)),
        ),
        status,
    )


def _shown(chosen: AlertPreferences) -> dict[str, object]:
    hours = chosen.hours or WorkingHours()
    return {
        "checked": {f"{e.value}_{m.value}" for e, media in chosen.media.items() for m in media},
        "hours": chosen.hours is not None,
        "days": set(hours.days),
        "from": hours.start.strftime("%H:%M"),
        "to": hours.end.strftime("%H:%M"),
        "off_hours": chosen.off_hours.value,
        "whatsapp": chosen.whatsapp or "",
    }


def _typed(form: dict[str, str]) -> dict[str, object]:
    return {
        "checked": {k for k in form if "_" in k and not k.startswith("day_")},
        "hours": bool(form.get("hours")),
        "days": {day for day in WEEK if form.get(f"day_{day}")},
        "from": form.get("from", ""),
        "to": form.get("to", ""),
        "off_hours": form.get("off_hours", "none"),
        "whatsapp": form.get("whatsapp", ""),
    }
