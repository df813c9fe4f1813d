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
from redis.exceptions import ResponseError
from sqlalchemy import func, or_, select
from taskiq.api import run_receiver_task
from taskiq_redis import RedisStreamBroker

from app.bootstrap import Runtime, build
from app.settings import Settings
from app.web.app import create_app
from bot.accounts.businesses import create_business
from bot.domain import Business, OutboxStatus
from bot.ports import Clock, Summarizer, ThemeNamer
from storage.tables import OutboxRow

# What the backend does not change (pages, API shapes, exports, themes, sign-in) is tested on
# SQLite only; the pipeline, outbox, check-ins, handoffs and channels run on both backends.
SQLITE_ONLY = pytest.mark.parametrize("runtime", ["sqlite-memory"], indirect=True)
RECEIVER_STOP_SECONDS = 30
# The key the tests on PostgreSQL seal channel credentials with (never a real deployment's).
TEST_SECRET_KEY = "Y203PoLSPdby65jdNwujn0RWneZXuJf4WTZCfIKXP-A="


def _settings(**values: object) -> Settings:
    """Settings as a deployment would have them: on PostgreSQL a secret key (it is required
    there); on SQLite none, so Kesher makes its key file next to the test's database."""
    if not str(values.get("database_url", "sqlite")).startswith("sqlite"):
        values.setdefault("secret_key", TEST_SECRET_KEY)
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
    try:
        await built.start(worker=not settings.embedded)
    except BaseException:
        # A start refused (the keys cannot open the stored credentials) closes what was made.
        await built.stop()
        raise
    receiver = None
    if not settings.embedded:
        receiver = asyncio.create_task(run_receiver_task(built.broker))
    yield built
    try:
        if receiver is not None:
            await _stop(receiver)
    finally:
        await built.stop()


async def _stop(receiver: asyncio.Task[None]) -> None:
    """Cancel the in-process receiver and wait for it a bounded time: one that does not stop
    fails its test instead of hanging the run."""
    receiver.cancel()
    done, _ = await asyncio.wait({receiver}, timeout=RECEIVER_STOP_SECONDS)
    if not done:
        waiting = "\n".join(
            f"{task.get_name()}: {task.get_stack(limit=3)}" for task in asyncio.all_tasks()
        )
        raise AssertionError(
            f"the taskiq receiver did not stop within {RECEIVER_STOP_SECONDS} s of its cancel;"
            f" still running:\n{waiting}"
        )
    with contextlib.suppress(asyncio.CancelledError):
        await receiver


async def settled(runtime: Runtime, *, seconds: float = 10) -> None:
    """Wait until Kesher has nothing left to do now: every queued task run and acknowledged,
    no outbox row being sent or due. A message that has not come by then will not come."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not (await _queue_idle(runtime) and await _outbox_idle(runtime)):
        if loop.time() > deadline:
            raise AssertionError(f"Kesher still had work to do after {seconds} s")
        await asyncio.sleep(0.02)


async def _queue_idle(runtime: Runtime) -> bool:
    """The embedded broker runs each task in place; on Redis every entry must have been given
    to the workers' group and acknowledged (after the task ran)."""
    broker = runtime.broker
    if not isinstance(broker, RedisStreamBroker) or runtime.redis is None:
        return True
    try:
        stream = await runtime.redis.xinfo_stream(broker.queue_name)
        groups = await runtime.redis.xinfo_groups(broker.queue_name)
    except ResponseError:  # no stream yet: nothing was ever queued
        return True
    return all(
        not group["pending"] and group["last-delivered-id"] == stream["last-generated-id"]
        for group in groups
    )


async def _outbox_idle(runtime: Runtime) -> bool:
    now = runtime.services.clock.now()
    busy = select(func.count()).where(
        or_(
            OutboxRow.status == OutboxStatus.SENDING.value,
            (OutboxRow.status == OutboxStatus.PENDING.value) & (OutboxRow.next_attempt_at <= now),
        )
    )
    async with runtime.engine.connect() as connection:
        return not await connection.scalar(busy)


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
