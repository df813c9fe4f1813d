"""Gives every request a correlation id (the caller's X-Request-ID when sane) for logs and tasks."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.telemetry import correlation_id, new_correlation_id

_SANE = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")


class Correlation:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"")
        current = given.decode() if _SANE.match(given) else new_correlation_id()
        token = correlation_id.set(current)

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", current.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            correlation_id.reset(token)
