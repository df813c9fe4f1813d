"""The console's contact rules page: when Kesher may reach out, the hours of each day,
holidays, closed days, and how often."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.web.console.admins import Admin
from app.web.pages import SignedIn, context, form_fields, render
from bot.checkins.catalog import contact_rules
from bot.checkins.configuration import DefinitionError, save_rules
from flows.contact import DAYS

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/rules", response_class=HTMLResponse)
async def rules(request: Request, signed: Admin) -> HTMLResponse:
    """When Kesher may reach out: the hours of each day, holidays, closed days, how often."""
    return _rules_page(request, signed)


def _rules_page(
    request: Request,
    signed: SignedIn,
    *,
    error: str | None = None,
    typed: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The form with the saved rules, or with what the admin typed when it was refused."""
    current = contact_rules(signed.business)
    saved = {
        **{
            f"hours_{day}": f"{w[0]:%H:%M}-{w[1]:%H:%M}" if w else ""
            for day, w in zip(DAYS, current.week, strict=True)
        },
        "holidays": "on" if current.holidays else "",
        "closed_dates": ", ".join(sorted(d.isoformat() for d in current.closed_dates)),
        "max_touches": str(current.max_touches),
        "cap_days": str(current.cap_window.days),
        "rest_days": str(current.rest_after_answer.days),
    }
    values = {name: typed.get(name, "") for name in saved} if typed else saved
    return render(
        request, "console/rules.html", context(signed, days=DAYS, values=values, error=error)
    )


def rules_from(form: dict[str, str]) -> dict[str, Any]:
    """The contact rules the console's form describes, in the YAML/API shape."""
    return {
        "hours": {day: form.get(f"hours_{day}", "").strip() or None for day in DAYS},
        "holidays": form.get("holidays") == "on",
        "closed_dates": [d.strip() for d in form.get("closed_dates", "").split(",") if d.strip()],
        "max_touches": int(v) if (v := form.get("max_touches", "").strip()).isdecimal() else v,
        "cap_window": f"{form.get('cap_days', '').strip()}d",
        "rest_after_answer": f"{form.get('rest_days', '').strip()}d",
    }


@router.post("/rules")
async def save_contact_rules(request: Request, signed: Admin) -> Response:
    form = await form_fields(request)
    try:
        async with signed.services.uow() as uow:
            await save_rules(uow, signed.business, rules_from(form))
            await uow.commit()
    except DefinitionError as refused:
        return _rules_page(request, signed, error="; ".join(refused.problems), typed=form)
    return RedirectResponse("/console/rules", status_code=303)
