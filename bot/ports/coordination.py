"""What processes share for a short time: delivery ids seen, conversation locks, send rates and the task queue."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Protocol

from bot.domain import Rate
from bot.jobs import Job


class Idempotency(Protocol):
    """A shared set of keys that expire: delivery ids already seen."""

    async def add(self, key: str, *, ttl: timedelta) -> bool:
        """Add the key; True when it was not there before."""
        ...

    async def contains(self, key: str) -> bool: ...

    async def discard(self, key: str) -> None: ...


class ConversationLock(Protocol):
    def hold(self, key: str, *, timeout: timedelta) -> AbstractAsyncContextManager[None]:
        """Hold the lock for `key`; raises TimeoutError when it cannot be had within timeout."""
        ...

    def hold_all(
        self, keys: Sequence[str], *, timeout: timedelta
    ) -> AbstractAsyncContextManager[None]:
        """Hold the locks of all `keys` at once (a batch's customers), each excluding `hold`
        of the same key; raises TimeoutError, holding none, when not all can be had within
        timeout."""
        ...


class RateLimiter(Protocol):
    async def hit(self, key: str, rate: Rate) -> bool:
        """Count one hit; False (and nothing counted) when the key is over its rate."""
        ...

    async def retry_after(self, key: str, rate: Rate) -> float:
        """Seconds until the next hit would be allowed."""
        ...

    async def reserve(self, key: str, rate: Rate, *, max_wait: float) -> float | None:
        """Book the key's next turn at an even pace, one every `rate.per / rate.count`; the
        seconds to wait for it, or None (nothing booked) when that is longer than `max_wait`.

        For sending to a provider: turns are spread out, never a burst, so any `per` holds at
        most `count` of them, whichever process booked them."""
        ...


class TaskQueue(Protocol):
    async def enqueue(self, job: Job) -> None:
        """Hand the job to a worker (in place in the embedded mode)."""
        ...
