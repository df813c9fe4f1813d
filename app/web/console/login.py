"""The console's sign-in page: the inbox's sign-in form, titled for the console and leading
back to it (or to the console page asked for in `?next=`), with the first-run offer of the
setup page while a setup link is live."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.web.console.setup import setup_open
from app.web.deps import SettingsDep
from app.web.inbox.session import login_form

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
async def console_login(request: Request, settings: SettingsDep) -> HTMLResponse:
    await setup_open(request)  # so the page offers the setup link only while it is of use
    return await login_form(request, settings)
