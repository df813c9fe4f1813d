"""Idempotency keys, conversation locks, rate limits and the task queue's broker on Redis, shared by
every process of a deployment."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

from limits.aio.storage import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage
from taskiq_redis import RedisStreamBroker

from bot.domain import Rate
from storage.ratelimit import LimitsRateLimiter

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 1.0
LOCK_POLL_SECONDS = 0.01
TRIM_SECONDS = 60.0


class RedisIdempotency:
    def __init__(self, client: Redis, *, prefix: str = "kesher:") -> None:
        self._client = client
        self._prefix = prefix + "seen:"

    async def add(self, key: str, *, ttl: timedelta) -> bool:
        milliseconds = max(1, round(ttl.total_seconds() * 1000))
        return bool(await self._client.set(self._prefix + key, b"1", nx=True, px=milliseconds))

    async def contains(self, key: str) -> bool:
        return bool(await self._client.exists(self._prefix + key))

    async def discard(self, key: str) -> None:
        await self._client.delete(self._prefix + key)


# KEYS: the locks; ARGV: the holder's token, the lease in milliseconds. Every key or none.
_TAKE_ALL = """
for _, key in ipairs(KEYS) do
    if redis.call('EXISTS', key) == 1 then return 0 end
end
for _, key in ipairs(KEYS) do
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
end
return 1
"""
# The lease again for the keys still the holder's; how many those are.
_RENEW_HELD = """
local held = 0
for _, key in ipairs(KEYS) do
    if redis.call('GET', key) == ARGV[1] then
        redis.call('PEXPIRE', key, ARGV[2])
        held = held + 1
    end
end
return held
"""
# Frees the keys still the holder's (a lease that ran out may be someone else's now).
_LET_GO_ALL = """
for _, key in ipairs(KEYS) do
    if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0
"""


class RedisLock:
    """Locks with a lease that their holder renews while it lives (every third of the lease),
    so a holder that dies frees the conversation within `lease`, and one that is only slow
    keeps it. One key or many, taken and let go by a script each: all or none."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "kesher:",
        lease: timedelta = timedelta(seconds=10),
    ) -> None:
        self._client = client
        self._prefix = prefix + "lock:"
        self._lease = lease
        self._take_all = client.register_script(_TAKE_ALL)
        self._renew_held = client.register_script(_RENEW_HELD)
        self._let_go_all = client.register_script(_LET_GO_ALL)

    @asynccontextmanager
    async def hold(self, key: str, *, timeout: timedelta) -> AsyncIterator[None]:
        async with self.hold_all([key], timeout=timeout):
            yield

    @asynccontextmanager
    async def hold_all(self, keys: Sequence[str], *, timeout: timedelta) -> AsyncIterator[None]:
        """All or none in one script, under one token and one lease renewed for all: a batch
        of 50 customers takes 3 round trips instead of 100 and 50 renewing tasks."""
        names = [self._prefix + key for key in sorted(set(keys))]
        if not names:
            yield
            return
        token = uuid.uuid4().hex
        lease = round(self._lease.total_seconds() * 1000)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout.total_seconds()
        while not await self._take_all(keys=names, args=[token, lease]):
            if loop.time() >= deadline:
                raise TimeoutError(f"locks of {len(names)} keys not had within {timeout}")
            await asyncio.sleep(LOCK_POLL_SECONDS)
        renewing = asyncio.create_task(self._renew_all(names, token, lease))
        try:
            yield
        finally:
            renewing.cancel()
            await self._let_go_all(keys=names, args=[token])

    async def _renew_all(self, names: list[str], token: str, lease: int) -> None:
        """Give the keys still ours their full lease again every third of it, until none is
        (lost, or let go) or Redis is gone: then they run out as a dead holder's would."""
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            try:
                if not await self._renew_held(keys=names, args=[token, lease]):
                    return
            except RedisError:
                return


# KEYS[1]: the key's next free turn, in microseconds of Redis's own clock (one clock for every
# process and host). ARGV: microseconds between turns, the longest wait to book.
_RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local turn = tonumber(redis.call('GET', KEYS[1])) or now
if turn < now then turn = now end
local wait = turn - now
if wait > tonumber(ARGV[2]) then return -1 end
local following = turn + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', following),
    'PX', math.floor((following - now) / 1000) + 1000)
return wait
"""


class RedisRateLimiter(LimitsRateLimiter):
    """Moving windows in Redis, over the given client's connection pool; turns booked by a
    script on Redis's clock."""

    def __init__(self, client: Redis, *, prefix: str = "kesher:") -> None:
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=prefix + "limits",
            connection_pool=client.connection_pool,  # type: ignore[arg-type]
        )
        super().__init__(storage)
        self._prefix = prefix + "turn:"
        self._reserve = client.register_script(_RESERVE)

    async def reserve(self, key: str, rate: Rate, *, max_wait: float) -> float | None:
        gap = round(rate.per.total_seconds() * 1_000_000 / rate.count)
        wait = int(
            await self._reserve(keys=[self._prefix + key], args=[gap, round(max_wait * 1e6)])
        )
        return None if wait < 0 else wait / 1_000_000


class RedisTaskBroker(RedisStreamBroker):
    """taskiq's Redis stream broker, made to outlive a Redis restart.

    taskiq's receiver calls `listen` again at once after any error, so while Redis is down a
    worker would spin on the CPU; here it waits `RECONNECT_SECONDS` between tries. A Redis that
    comes back empty has lost the stream's consumer group, which taskiq declares only at start
    up: every read then fails with NOGROUP and the worker never runs a task again. Here the
    group is declared again, from the start of the new stream, so what the web processes
    queued since the restart is run too.

    A stream keeps every entry until it is trimmed, acknowledged or not; a busy deployment
    queues millions of tasks a day. Every `trim_every` seconds a worker drops the entries its
    consumer group has finished (`trim`), so Redis holds only what is still to run.
    """

    trim_every = TRIM_SECONDS

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        trimmed = time.monotonic()
        while True:
            try:
                async for message in super().listen():
                    yield message
                    if time.monotonic() - trimmed >= self.trim_every:
                        trimmed = time.monotonic()
                        await self._trim_quietly()
            except ResponseError as error:
                if "NOGROUP" not in str(error):
                    raise
                log.warning("the task queue's consumer group is gone; declaring it again")
                await self._declare_group_again()
            except (RedisConnectionError, RedisTimeoutError) as error:
                # A receiver cancelled while it waits on Redis can meet the closing connection
                # first: the cancellation then arrives as this error, and must not be lost.
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from error
                log.warning("Redis is unreachable (%s); trying again", error)
                await asyncio.sleep(RECONNECT_SECONDS)

    async def trim(self) -> int:
        """Drop the entries every consumer group was given and acknowledged; how many.

        Those are the entries before the group's oldest unacknowledged one, or up to the last
        it was given when none is unacknowledged: entries not yet given and entries given but
        not acknowledged (a worker may have died on them) stay to be run or claimed again.
        """
        async with Redis(connection_pool=self.connection_pool) as client:
            floors = []
            for group in await client.xinfo_groups(self.queue_name):
                # Read after the group's last-delivered id: an entry acknowledged in between
                # leaves the oldest pending one later, never earlier.
                pending = await client.xpending(self.queue_name, group["name"])
                floors.append(pending["min"] if pending["pending"] else group["last-delivered-id"])
            if not floors:
                return 0
            floor = min(floors, key=_stream_id)
            return int(await client.xtrim(self.queue_name, minid=floor, approximate=False))

    async def _trim_quietly(self) -> None:
        try:
            trimmed = await self.trim()
        except RedisError as error:
            log.warning("could not trim the task queue (%s); trying again later", error)
            return
        log.debug("trimmed %d finished tasks from the task queue", trimmed)

    async def _declare_group_again(self) -> None:
        async with Redis(connection_pool=self.connection_pool) as client:
            for stream in (self.queue_name, *self.additional_streams):
                try:
                    await client.xgroup_create(
                        stream, self.consumer_group_name, id="0", mkstream=True
                    )
                except ResponseError as error:
                    # BUSYGROUP: another worker declared it first.
                    if "BUSYGROUP" not in str(error):
                        raise


def _stream_id(entry: bytes | str) -> tuple[int, int]:
    """A stream entry id (`<milliseconds>-<sequence>`) in the order Redis gives them."""
    milliseconds, _, sequence = (entry.decode() if isinstance(entry, bytes) else entry).partition(
        "-"
    )
    return int(milliseconds), int(sequence or 0)
