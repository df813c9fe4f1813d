"""The landing page at `/`: where the sandbox, the inbox, the console and the API reference
are, in Hebrew (right to left) or English; and the favicon every page shows."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from app.web.console.setup import setup_open
from app.web.deps import SettingsDep
from app.web.pages import render
from bot.accounts.businesses import DEMO_SLUG

router = APIRouter(include_in_schema=False)

FAVICON = Path(__file__).with_name("static") / "favicon.svg"


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, settings: SettingsDep) -> HTMLResponse:
    language = "en" if request.query_params.get("lang") == "en" else "he"
    sandbox = DEMO_SLUG if settings.demo else None
    await setup_open(request)  # so the page offers the setup link only while it is of use
    return render(request, "home.html", {"lang": language, "sandbox": sandbox})


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    """Browsers ask for /favicon.ico where a page names no icon (the JSON answers, say)."""
    return FileResponse(FAVICON, media_type="image/svg+xml")
