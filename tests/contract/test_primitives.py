"""Idempotency keys, conversation locks and rate limits: the same behaviour in memory and on Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from bot.domain import Rate
from bot.ports import ConversationLock, Idempotency, RateLimiter
from storage.memory import MemoryIdempotency, MemoryLock, MemoryRateLimiter
from storage.redis import RedisIdempotency, RedisLock, RedisRateLimiter

BACKENDS = ["memory", "redis"]


@asynccontextmanager
async def _redis(request: pytest.FixtureRequest) -> AsyncIterator[Redis]:
    client = Redis.from_url(request.getfixturevalue("redis_url"))
    await client.flushdb()
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()


@pytest.fixture(params=BACKENDS)
async def idempotency(request: pytest.FixtureRequest) -> AsyncIterator[Idempotency]:
    if request.param == "memory":
        yield MemoryIdempotency()
    else:
        async with _redis(request) as client:
            yield RedisIdempotency(client)


@pytest.fixture(params=BACKENDS)
async def lock(request: pytest.FixtureRequest) -> AsyncIterator[ConversationLock]:
    if request.param == "memory":
        yield MemoryLock()
    else:
        async with _redis(request) as client:
            yield RedisLock(client)


@pytest.fixture(params=BACKENDS)
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter()
    else:
        async with _redis(request):
            yield RedisRateLimiter(request.getfixturevalue("redis_url"))


async def test_a_key_is_new_only_the_first_time_it_is_added(idempotency: Idempotency) -> None:
    assert await idempotency.add("d-1", ttl=timedelta(minutes=1))
    assert not await idempotency.add("d-1", ttl=timedelta(minutes=1))
    assert await idempotency.contains("d-1")
    assert not await idempotency.contains("d-2")


async def test_a_discarded_key_can_be_added_again(idempotency: Idempotency) -> None:
    await idempotency.add("d-1", ttl=timedelta(minutes=1))
    await idempotency.discard("d-1")

    assert not await idempotency.contains("d-1")
    assert await idempotency.add("d-1", ttl=timedelta(minutes=1))


async def test_a_key_expires_after_its_ttl(idempotency: Idempotency) -> None:
    await idempotency.add("d-1", ttl=timedelta(milliseconds=150))
    await asyncio.sleep(0.3)

    assert not await idempotency.contains("d-1")
    assert await idempotency.add("d-1", ttl=timedelta(minutes=1))


async def test_of_twenty_concurrent_adds_of_one_key_exactly_one_is_new(
    idempotency: Idempotency,
) -> None:
    results = await asyncio.gather(
        *(idempotency.add("same", ttl=timedelta(minutes=1)) for _ in range(20))
    )
    assert results.count(True) == 1


async def test_a_lock_lets_one_holder_in_at_a_time(lock: ConversationLock) -> None:
    inside = 0
    most = 0
    counter = 0

    async def work() -> None:
        nonlocal inside, most, counter
        async with lock.hold("conversation:1", timeout=timedelta(seconds=10)):
            inside += 1
            most = max(most, inside)
            seen = counter
            await asyncio.sleep(0.005)
            counter = seen + 1
            inside -= 1

    await asyncio.gather(*(work() for _ in range(20)))
    assert (most, counter) == (1, 20)


async def test_a_lock_not_had_within_the_timeout_raises_timeout_error(
    lock: ConversationLock,
) -> None:
    async with lock.hold("busy", timeout=timedelta(seconds=1)):
        with pytest.raises(TimeoutError):
            async with lock.hold("busy", timeout=timedelta(milliseconds=100)):
                pass
    async with lock.hold("busy", timeout=timedelta(seconds=1)):
        pass


async def test_locks_on_different_keys_do_not_wait_for_each_other(lock: ConversationLock) -> None:
    async with (
        lock.hold("a", timeout=timedelta(seconds=1)),
        lock.hold("b", timeout=timedelta(milliseconds=200)),
    ):
        pass


async def test_a_released_memory_lock_leaves_nothing_behind() -> None:
    lock = MemoryLock()
    async with lock.hold("a", timeout=timedelta(seconds=1)):
        assert len(lock) == 1
    with pytest.raises(TimeoutError):
        async with (
            lock.hold("b", timeout=timedelta(seconds=1)),
            lock.hold("b", timeout=timedelta(milliseconds=50)),
        ):
            pass
    assert len(lock) == 0


async def test_a_rate_allows_its_count_then_refuses_without_counting(limiter: RateLimiter) -> None:
    rate = Rate(count=3, per=timedelta(seconds=10))
    results = [await limiter.hit("chat:1", rate) for _ in range(5)]

    assert results == [True, True, True, False, False]
    assert 0 < await limiter.retry_after("chat:1", rate) <= 10
    assert await limiter.hit("chat:2", rate)
    assert await limiter.retry_after("chat:2", rate) == 0


async def test_a_rate_window_moves_on(limiter: RateLimiter) -> None:
    rate = Rate(count=2, per=timedelta(seconds=1))
    assert await limiter.hit("k", rate) and await limiter.hit("k", rate)
    assert not await limiter.hit("k", rate)
    await asyncio.sleep(1.1)
    assert await limiter.hit("k", rate)
