"""Shared fixtures: where the real servers are, and whether a run must have them.

PostgreSQL and Redis tests run against real servers. On a machine without them those tests
are skipped with the reason printed; with KESHER_REQUIRE_SERVERS=1 (set by .ci/run) a
missing server is a failure instead, so CI can never go green by skipping them.

Under pytest-xdist each worker process has databases of its own: worker gwN uses the Redis
database N below KESHER_TEST_REDIS_URL's (15, 14, ... by default) and PostgreSQL databases
named after it.

Every test hashes agents' passwords with argon2's cheapest parameters
(`KESHER_PASSWORD_HASH_COST=test`: microseconds instead of 0.2 s a hash): the settings built
in-process read it from the environment, and tests/e2e passes it to the processes it starts.

Each test gets an empty migrated database of its own without paying for the migrations: the
schema is migrated once per session (a SQLite file copied per test; a PostgreSQL database
emptied before each test).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest

POSTGRES_URL = os.environ.get(
    "KESHER_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REQUIRE_SERVERS = os.environ.get("KESHER_REQUIRE_SERVERS") == "1"
# "gw0", "gw1", ... in a pytest-xdist worker; "main" in a run without workers.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
T = TypeVar("T")
TEST_PASSWORD_COST = {"KESHER_PASSWORD_HASH_COST": "test"}
os.environ.update(TEST_PASSWORD_COST)


def worker_redis_url(url: str, worker: str) -> str:
    """This worker's Redis database: worker gwN takes the database N below `url`'s."""
    if worker == "main":
        return url
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) - int(worker.removeprefix("gw"))
    if database < 0:
        raise pytest.UsageError(f"{url} leaves no Redis database for pytest-xdist's {worker}")
    return urlunsplit(parts._replace(path=f"/{database}"))


REDIS_URL = worker_redis_url(
    os.environ.get("KESHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"), WORKER
)


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def _need(url: str, default_port: int, what: str) -> str:
    if _reachable(url, default_port):
        return url
    message = f"{what} is not reachable at {url}"
    if REQUIRE_SERVERS:
        pytest.fail(message + " (KESHER_REQUIRE_SERVERS=1)")
    pytest.skip(message)


def blocking(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end on its own loop in a thread (callable inside a running loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


async def admin_sql(url: str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.exec_driver_sql(statement)
    await engine.dispose()


def no_waiting_for_the_disk(database: str) -> str:
    """The statement that lets the database's commits return before the disk has them (2.5 ms
    less a commit here). A test database is never recovered after a crash, and what every
    connection sees is the same as with the default."""
    return f'ALTER DATABASE "{database}" SET synchronous_commit TO off'


@pytest.fixture(scope="session")
def postgres_database(postgres_url: str) -> Iterator[str]:
    """A fresh database for this test session, migrated to head, dropped afterwards."""
    from storage.schema import upgrade

    name = f"kesher_test_{WORKER}_{uuid.uuid4().hex[:10]}"
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    blocking(admin_sql(postgres_url, f'CREATE DATABASE "{name}"'))
    blocking(admin_sql(postgres_url, no_waiting_for_the_disk(name)))
    blocking(upgrade(url))
    yield url
    blocking(admin_sql(postgres_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


async def _empty_tables(url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from storage.tables import Base

    engine = create_async_engine(url)
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.exec_driver_sql(f'DELETE FROM "{table.name}"')
    await engine.dispose()


@pytest.fixture
def clean_postgres_database(postgres_database: str) -> str:
    """The session's migrated database with every table emptied for this test (a DELETE per
    table takes milliseconds; TRUNCATE or a database per test take tenths of a second)."""
    blocking(_empty_tables(postgres_database))
    return postgres_database


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session, for tests to copy."""
    from storage.schema import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "kesher.db"
    blocking(upgrade(f"sqlite+aiosqlite:///{path}"))
    # The engine is disposed: the write-ahead log is folded into the file and removed.
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture
def sqlite_database(sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated SQLite database of this test's own: a copy of the session's template."""
    path = tmp_path / "kesher.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return _need(POSTGRES_URL, 5432, "PostgreSQL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _need(REDIS_URL, 6379, "Redis")


@pytest.fixture
async def redis_client(redis_url: str):  # type: ignore[no-untyped-def]
    """A client on the test database, flushed before and after each test."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


def _served(serve: Any) -> Iterator[Any]:
    """A fake provider API on a loopback port for the whole session."""
    fake, server, thread = serve()
    yield fake
    server.should_exit = True
    thread.join(5)


@pytest.fixture(scope="session")
def _telegram_server() -> Iterator[Any]:
    from tests.fakes import telegram_api

    yield from _served(telegram_api.serve)


@pytest.fixture
def fake_telegram(_telegram_server: Any) -> Any:
    """The fake Telegram Bot API (tests/fakes/telegram_api.py), emptied for each test."""
    _telegram_server.reset()
    return _telegram_server


@pytest.fixture(scope="session")
def _twilio_server() -> Iterator[Any]:
    from tests.fakes import twilio_api

    yield from _served(twilio_api.serve)


@pytest.fixture
def fake_twilio(_twilio_server: Any) -> Any:
    """The fake Twilio Messages API (tests/fakes/twilio_api.py), emptied for each test."""
    _twilio_server.reset()
    return _twilio_server


@pytest.fixture(scope="session")
def _ollama_server() -> Iterator[Any]:
    from tests.fakes import ollama_api

    yield from _served(ollama_api.serve)


@pytest.fixture
def fake_ollama(_ollama_server: Any) -> Any:
    """The fake Ollama server (tests/fakes/ollama_api.py), emptied for each test."""
    _ollama_server.reset()
    return _ollama_server


@pytest.fixture(scope="session")
def _smtp_server() -> Iterator[Any]:
    from tests.fakes import smtp

    fake, controller = smtp.start()
    yield fake
    controller.stop()


@pytest.fixture
def fake_smtp(_smtp_server: Any) -> Any:
    """The fake mail server (tests/fakes/smtp.py), emptied for each test."""
    _smtp_server.reset()
    return _smtp_server
