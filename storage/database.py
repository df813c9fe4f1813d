"""Async engines and sessions: SQLite for the embedded default, PostgreSQL in production."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(url: str, *, echo: bool = False, pool_size: int = 15) -> AsyncEngine:
    """An engine that never puts statement parameters in logs or errors: they hold customers'
    words and stored credentials (bot tokens, auth tokens)."""
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, echo=echo, hide_parameters=True, connect_args={"timeout": 30}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # `pool_size` connections are kept and no more are opened: one opened for a burst and
    # closed after it costs a login and a fresh prepare of every statement it runs (asyncpg
    # caches prepared statements per connection), and bursts of every process at once ran the
    # server out of connections ("too many clients") under sustained load; a unit of work that
    # finds them all busy waits for one.
    engine = create_async_engine(
        url, echo=echo, hide_parameters=True, pool_size=pool_size, max_overflow=0
    )
    event.listen(engine.sync_engine, "checkout", _ping)
    return engine


def _ping(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Check a pooled connection before it is used, so one the server dropped (a restart) is
    replaced instead of failing the request. `pool_pre_ping` does the same in three round trips
    on asyncpg (it wraps its ping in BEGIN and ROLLBACK); this is one."""
    try:
        dbapi_connection.run_async(lambda connection: connection.fetchrow(";"))
    except Exception as error:
        raise DisconnectionError("the pooled connection is gone") from error


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; busy_timeout makes writers queue, not fail.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
