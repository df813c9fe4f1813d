"""The PasswordHasher port on argon2id (argon2-cffi), in a few threads of its own.

argon2-cffi releases the GIL while it hashes, so the event loop goes on serving while a
password is checked, and on Linux the threads are scheduled SCHED_IDLE, so a flood of
sign-ins takes only the CPU nothing else wants (argon2 is memory-hard: even at nice 19 a
busy hashing thread still slowed the webhooks' p99 by half again on two cores). At most
`threads + queue` hashes are running or waiting at once; one more is refused at once
(`Overloaded`) rather than left to wait behind a flood.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal, TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

from bot.domain import Overloaded

T = TypeVar("T")
Cost = Literal["standard", "test"]

# "standard" is the library's own profile (RFC 9106's second recommendation, 64 MiB, about
# 0.2 s here). "test" is for test suites only: it hashes in microseconds and protects nothing.
PROFILES: dict[Cost, Callable[[], argon2.PasswordHasher]] = {
    "standard": argon2.PasswordHasher,
    "test": lambda: argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
}
# Seconds a refused caller is asked to wait before trying again.
RETRY_AFTER = 1.0


class Argon2Hasher:
    def __init__(
        self, cost: Cost = "standard", *, threads: int = 1, queue: int = 8, idle: bool = True
    ) -> None:
        """`idle`: hash only on CPU nothing else wants (Linux)."""
        self._hasher = PROFILES[cost]()
        self._pool = ThreadPoolExecutor(
            threads, thread_name_prefix="argon2", initializer=_yield_to_the_rest if idle else None
        )
        self._room = threads + queue
        self._busy = 0
        self._count = threading.Lock()
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        if stored is None:
            if self._dummy is None:
                self._dummy = await self._run(self._hasher.hash, secrets.token_urlsafe(16))
            await self._run(self._matches, self._dummy, password)
            return False
        return await self._run(self._matches, stored, password)

    def has_room(self) -> bool:
        with self._count:
            return self._busy < self._room

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _matches(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _run(self, work: Callable[..., T], *args: str) -> T:
        with self._count:
            if self._busy >= self._room:
                raise Overloaded("too many passwords are being checked", retry_after=RETRY_AFTER)
            self._busy += 1
        # Counted until the thread is done, even when the caller stops waiting for it.
        job = self._pool.submit(work, *args)
        job.add_done_callback(self._done)
        return await asyncio.wrap_future(job)

    def _done(self, _: Future[Any]) -> None:
        with self._count:
            self._busy -= 1


def _yield_to_the_rest() -> None:
    # On Linux a thread's own id names it to the scheduler; elsewhere this would change the
    # whole process, so it is left alone there.
    if sys.platform == "linux":
        with contextlib.suppress(OSError):  # a sandbox may forbid it; the hashes still run
            os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))
