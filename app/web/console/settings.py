"""The console's settings page: the business's own opt-out and opt-in words, how readily a
person steps in (the detector's sensitivity), and the opening hours the bot promises."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app.web.console.admins import Admin
from app.web.pages import SignedIn, context, form_fields, render
from bot.accounts.businesses import (
    SENSITIVITIES,
    set_consent_words,
    set_opening_hours,
    set_sensitivity,
)
from bot.domain import KesherError
from flows.opening_hours import WEEK, parse_hours, stored

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/settings", response_class=HTMLResponse)
async def settings(request: Request, signed: Admin, saved: str = "") -> HTMLResponse:
    """The business's own opt-out and opt-in words, and how readily a person steps in."""
    return _settings_page(request, signed, saved=saved)


def _settings_page(request: Request, signed: SignedIn, **more: Any) -> HTMLResponse:
    business = signed.business
    shown = {
        "opt_out": "\n".join(business.opt_out_words),
        "opt_in": "\n".join(business.opt_in_words),
        "sensitivity": business.detector_sensitivity,
    }
    shown.update(more.pop("typed", {}))
    hours = more.pop("hours_typed", None) or {
        day: (span or "") for day, span in stored(parse_hours(business.opening_hours)).items()
    }
    return render(
        request,
        "console/settings.html",
        context(signed, shown=shown, sensitivities=SENSITIVITIES, week=WEEK, hours=hours, **more),
    )


def _word_list(text: str) -> list[str]:
    """Words from a text box: one a line, or separated by commas."""
    return [w for w in re.split(r"[\n,]", text) if w.strip()]


@router.post("/settings/words", response_model=None)
async def save_words(request: Request, signed: Admin) -> RedirectResponse | HTMLResponse:
    form = await form_fields(request)
    typed = {"opt_out": form.get("opt_out", ""), "opt_in": form.get("opt_in", "")}
    try:
        async with signed.services.uow() as uow:
            await set_consent_words(
                uow,
                signed.business,
                opt_out=_word_list(typed["opt_out"]),
                opt_in=_word_list(typed["opt_in"]),
            )
            await uow.commit()
    except KesherError as refused:
        field = refused.message.partition(":")[0]
        return _settings_page(
            request,
            signed,
            typed=typed,
            words_error=refused.message,
            error_field=field if field in typed else "opt_out",
        )
    return RedirectResponse("/console/settings?saved=words", status_code=303)


@router.post("/settings/sensitivity", response_model=None)
async def save_sensitivity(request: Request, signed: Admin) -> RedirectResponse | HTMLResponse:
    form = await form_fields(request)
    try:
        async with signed.services.uow() as uow:
            await set_sensitivity(uow, signed.business, form.get("sensitivity", ""))
            await uow.commit()
    except KesherError as refused:
        return _settings_page(request, signed, sensitivity_error=refused.message)
    return RedirectResponse("/console/settings?saved=sensitivity", status_code=303)


@router.post("/settings/hours", response_model=None)
async def save_hours(request: Request, signed: Admin) -> RedirectResponse | HTMLResponse:
    form = await form_fields(request)
    typed = {day: form.get(day, "").strip() for day in WEEK}
    try:
        async with signed.services.uow() as uow:
            await set_opening_hours(uow, signed.business, {d: v or None for d, v in typed.items()})
            await uow.commit()
    except KesherError as refused:
        return _settings_page(request, signed, hours_typed=typed, hours_error=refused.message)
    return RedirectResponse("/console/settings?saved=hours", status_code=303)
