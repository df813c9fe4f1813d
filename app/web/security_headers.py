"""The security headers on every response: a Content-Security-Policy that allows scripts only
from Kesher's own origin, no framing, no content-type sniffing, a same-origin referrer, and HSTS
when the public URL is https (docs/security.md explains each)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scripts only from /static (no inline script, no eval); styles from /static and the pages'
# own style blocks and attributes (and the inline SVG charts' styles); images from the origin
# and data: URLs; requests (htmx, server-sent events) to the origin only.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HSTS_MAX_AGE = 31_536_000  # a year


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        common = [
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]
        if https:
            common.append((b"strict-transport-security", f"max-age={HSTS_MAX_AGE}".encode()))
        self.headers = [(b"content-security-policy", POLICY.encode()), *common]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def headed(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, headed)
