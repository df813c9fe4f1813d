"""The web application: webhooks, the sandbox, the agent inbox, the REST API and health endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.bootstrap import Runtime
from app.web import api, api_docs, console, health, home, inbox, pages, sandbox, webhooks
from app.web.access_log import AccessLog
from app.web.body_limit import BodyLimit
from app.web.body_timeout import BodyTimeout
from app.web.correlation import Correlation
from app.web.errors import install_error_handlers
from app.web.security_headers import SecurityHeaders


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> FastAPI:
    """The app on a built runtime; it starts and stops the runtime unless told not to."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            await runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                await runtime.stop()

    app = FastAPI(
        title="Kesher",
        version="0.1.0",
        description="Customer-retention contact bot: REST API, sandbox and webhooks.",
        lifespan=lifespan,
        # The API reference is Swagger UI from /static (app.web.api_docs), not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(home.router)
    app.include_router(api_docs.router)
    app.include_router(sandbox.router)
    app.include_router(api.router)
    pages.install(app)
    inbox.install(app)
    console.install(app)
    app.include_router(webhooks.router)
    app.add_middleware(BodyLimit, max_bytes=runtime.settings.max_body_bytes)
    app.add_middleware(BodyTimeout, seconds=runtime.settings.body_timeout_seconds)
    app.add_middleware(AccessLog)
    app.add_middleware(Correlation)
    app.add_middleware(SecurityHeaders, https=runtime.settings.public_base().startswith("https://"))
    return app
