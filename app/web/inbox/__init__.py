"""The agent inbox: sign in, the queue of handoffs, one customer's whole record, reply and
resolve.

Server-rendered pages from the page kit (app.web.pages); the queue and the open conversation
refresh live over server-sent events.
"""

from __future__ import annotations

from fastapi import FastAPI

from app.web.inbox import alert_settings, conversation, profile, queue, session


def install(app: FastAPI) -> None:
    for part in (session, profile, alert_settings, queue, conversation):
        app.include_router(part.router)
