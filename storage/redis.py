"""Idempotency keys and conversation locks on Redis, shared by every process of a deployment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

from redis.asyncio import Redis
from redis.exceptions import LockNotOwnedError

from storage.ratelimit import RedisRateLimiter

__all__ = ["RedisIdempotency", "RedisLock", "RedisRateLimiter"]


class RedisIdempotency:
    def __init__(self, client: Redis, *, prefix: str = "kesher:seen:") -> None:
        self._client = client
        self._prefix = prefix

    async def add(self, key: str, *, ttl: timedelta) -> bool:
        added = await self._client.set(
            self._prefix + key, b"1", nx=True, px=max(1, int(ttl.total_seconds() * 1000))
        )
        return bool(added)

    async def contains(self, key: str) -> bool:
        return bool(await self._client.exists(self._prefix + key))

    async def discard(self, key: str) -> None:
        await self._client.delete(self._prefix + key)


class RedisLock:
    """redis-py's lock with a lease, so a holder that dies frees the conversation in `lease`."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "kesher:lock:",
        lease: timedelta = timedelta(seconds=30),
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._lease = lease

    @asynccontextmanager
    async def hold(self, key: str, *, timeout: timedelta) -> AsyncIterator[None]:
        lock = self._client.lock(
            self._prefix + key,
            timeout=self._lease.total_seconds(),
            blocking_timeout=timeout.total_seconds(),
            sleep=0.01,
        )
        if not await lock.acquire():
            raise TimeoutError(f"lock {key!r} not acquired within {timeout}")
        try:
            yield
        finally:
            # The lease ran out while we worked and someone else may hold it now: not ours to free.
            with suppress(LockNotOwnedError):
                await lock.release()
