"""The agent inbox: sign in, the queue of handoffs and every other conversation, one
customer's whole record, reply, assign, label, snooze and resolve; the agent's own alerts
and password.

Server-rendered pages from the page kit (app.web.pages); the queue and the open conversation
refresh live over server-sent events.
"""

from __future__ import annotations

from fastapi import FastAPI

from app.web.inbox import (
    alert_settings,
    conversation,
    conversations,
    password,
    profile,
    queue,
    session,
)


def install(app: FastAPI) -> None:
    for part in (session, profile, password, alert_settings, queue, conversation, conversations):
        app.include_router(part.router)
