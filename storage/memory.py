"""In-memory idempotency keys and conversation locks for the embedded single-process mode."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from storage.ratelimit import MemoryRateLimiter

__all__ = ["MemoryIdempotency", "MemoryLock", "MemoryRateLimiter"]


class MemoryIdempotency:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def _live(self, key: str) -> bool:
        expires = self._expiry.get(key)
        if expires is None:
            return False
        if expires <= self._clock():
            del self._expiry[key]
            return False
        return True

    def _prune(self) -> None:
        now = self._clock()
        for key in [k for k, expires in self._expiry.items() if expires <= now]:
            del self._expiry[key]

    async def add(self, key: str, *, ttl: timedelta) -> bool:
        if self._live(key):
            return False
        if len(self._expiry) > 10_000:
            self._prune()
        self._expiry[key] = self._clock() + ttl.total_seconds()
        return True

    async def contains(self, key: str) -> bool:
        return self._live(key)

    async def discard(self, key: str) -> None:
        self._expiry.pop(key, None)


class MemoryLock:
    """One asyncio lock per key, forgotten once nobody holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str, *, timeout: timedelta) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with asyncio.timeout(timeout.total_seconds()):
                await lock.acquire()
            try:
                yield
            finally:
                lock.release()
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
