"""A running Kesher per test, on both backends: SQLite + in-memory ports, and PostgreSQL + Redis.

The distributed backend runs a real taskiq receiver on the Redis stream broker inside the test,
so replies travel the same path as with a separate `kesher worker` process.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from taskiq.api import run_receiver_task

from app.bootstrap import Runtime, build
from app.settings import Settings
from app.web.app import create_app
from bot.accounts.businesses import create_business
from bot.domain import Business
from bot.ports import Clock, Summarizer, ThemeNamer

# What the backend does not change (pages, API shapes, exports, themes, sign-in) is tested on
# SQLite only; the pipeline, outbox, check-ins, handoffs and channels run on both backends.
SQLITE_ONLY = pytest.mark.parametrize("runtime", ["sqlite-memory"], indirect=True)


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def running(
    request: pytest.FixtureRequest,
    tmp_path,
    *,
    clock: Clock | None = None,
    summarizer: Summarizer | None = None,
    theme_namer: ThemeNamer | None = None,
    **values: object,
) -> AsyncIterator[Runtime]:  # type: ignore[no-untyped-def]
    """A started runtime on the backend named by `request.param`, with extra settings."""
    if request.param == "sqlite-memory":
        settings = _settings(database_url=request.getfixturevalue("sqlite_database"), **values)
    else:
        database = request.getfixturevalue("clean_postgres_database")
        redis_url = request.getfixturevalue("redis_url")
        from redis.asyncio import Redis

        client = Redis.from_url(redis_url)
        await client.flushdb()
        await client.aclose()
        settings = _settings(
            database_url=database, redis_url=redis_url, sandbox_open=True, **values
        )
    built = build(settings, clock=clock, summarizer=summarizer, theme_namer=theme_namer)
    await built.start(worker=not settings.embedded)
    receiver = None
    if not settings.embedded:
        receiver = asyncio.create_task(run_receiver_task(built.broker))
    yield built
    if receiver is not None:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receiver
    await built.stop()


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def runtime(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Runtime]:  # type: ignore[no-untyped-def]
    async for built in running(request, tmp_path):
        yield built


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime, manage_runtime=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kesher.test") as http:
        yield http


@pytest.fixture
async def business(runtime: Runtime) -> tuple[Business, str]:
    """A fresh business with the sandbox on, and its API key."""
    services = runtime.services
    async with services.uow() as uow:
        created = await create_business(
            uow,
            f"shop-{uuid.uuid4().hex[:8]}",
            name="Café Kesher",
            sandbox=True,
            now=services.clock.now(),
        )
        await uow.commit()
    return created
