"""In-memory idempotency keys, conversation locks and rate limits for the embedded single-process mode."""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from limits.aio.storage import MemoryStorage

from bot.domain import Rate
from storage.ratelimit import LimitsRateLimiter

# Past this many keys, the ones whose next turn has come are forgotten.
_TURNS_KEPT = 10_000


class MemoryIdempotency:
    """Keys with deadlines; every add first drops the keys whose deadline has passed."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._deadlines: dict[str, float] = {}
        self._queue: list[tuple[float, str]] = []

    async def add(self, key: str, *, ttl: timedelta) -> bool:
        now = self._clock()
        self._drop_expired(now)
        if key in self._deadlines:
            return False
        deadline = now + ttl.total_seconds()
        self._deadlines[key] = deadline
        heapq.heappush(self._queue, (deadline, key))
        return True

    async def contains(self, key: str) -> bool:
        return self._deadlines.get(key, -math.inf) > self._clock()

    async def discard(self, key: str) -> None:
        self._deadlines.pop(key, None)

    def __len__(self) -> int:
        return len(self._deadlines)

    def _drop_expired(self, now: float) -> None:
        while self._queue and self._queue[0][0] <= now:
            deadline, key = heapq.heappop(self._queue)
            # A key discarded and added again has a newer deadline than this queue entry.
            if self._deadlines.get(key) == deadline:
                del self._deadlines[key]


@dataclass(slots=True)
class _Entry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class MemoryLock:
    """One asyncio lock per key, forgotten once nobody holds or waits for it."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    @asynccontextmanager
    async def hold(self, key: str, *, timeout: timedelta) -> AsyncIterator[None]:
        entry = self._entries.setdefault(key, _Entry())
        entry.users += 1
        try:
            async with asyncio.timeout(timeout.total_seconds()):
                await entry.lock.acquire()
            try:
                yield
            finally:
                entry.lock.release()
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[key]

    @asynccontextmanager
    async def hold_all(self, keys: Sequence[str], *, timeout: timedelta) -> AsyncIterator[None]:
        # In sorted order, so two holders of overlapping keys never wait on each other in a circle.
        async with AsyncExitStack() as held:
            async with asyncio.timeout(timeout.total_seconds()):
                for key in sorted(set(keys)):
                    await held.enter_async_context(self.hold(key, timeout=timeout))
            yield

    def __len__(self) -> int:
        return len(self._entries)


class MemoryRateLimiter(LimitsRateLimiter):
    """Moving windows in memory; each key's next free turn for `reserve`."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(MemoryStorage())
        self._clock = clock
        self._turns: dict[str, float] = {}

    async def reserve(self, key: str, rate: Rate, *, max_wait: float) -> float | None:
        now = self._clock()
        if len(self._turns) > _TURNS_KEPT:
            self._turns = {k: turn for k, turn in self._turns.items() if turn > now}
        turn = max(self._turns.get(key, now), now)
        if turn - now > max_wait:
            return None
        self._turns[key] = turn + rate.per.total_seconds() / rate.count
        return turn - now
