"""Idempotency keys, conversation locks and rate limits: the same assertions in memory and on Redis."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from bot.domain import Rate
from bot.ports import ConversationLock, Idempotency, RateLimiter
from storage.memory import MemoryIdempotency, MemoryLock, MemoryRateLimiter
from storage.redis import RedisIdempotency, RedisLock, RedisRateLimiter

MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


def _redis(request: pytest.FixtureRequest) -> Redis:
    client: Redis = request.getfixturevalue("redis_client")
    return client


@pytest.fixture(params=["memory", "redis"])
def idempotency(request: pytest.FixtureRequest) -> Idempotency:
    if request.param == "memory":
        return MemoryIdempotency()
    return RedisIdempotency(_redis(request))


@pytest.fixture(params=["memory", "redis"])
def lock(request: pytest.FixtureRequest) -> ConversationLock:
    if request.param == "memory":
        return MemoryLock()
    return RedisLock(_redis(request))


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> RateLimiter:
    if request.param == "memory":
        return MemoryRateLimiter()
    return RedisRateLimiter(_redis(request))


async def test_a_key_added_twice_is_new_only_the_first_time(idempotency: Idempotency) -> None:
    assert await idempotency.add("delivery-1", ttl=MINUTE)
    assert not await idempotency.add("delivery-1", ttl=MINUTE)
    assert await idempotency.add("delivery-2", ttl=MINUTE)


async def test_only_added_keys_are_contained(idempotency: Idempotency) -> None:
    await idempotency.add("delivery-1", ttl=MINUTE)

    assert await idempotency.contains("delivery-1")
    assert not await idempotency.contains("delivery-2")


async def test_a_discarded_key_is_gone_and_can_be_added_again(idempotency: Idempotency) -> None:
    await idempotency.add("delivery-1", ttl=MINUTE)
    await idempotency.discard("delivery-1")
    await idempotency.discard("never-added")

    assert not await idempotency.contains("delivery-1")
    assert await idempotency.add("delivery-1", ttl=MINUTE)


async def test_a_key_expires_after_its_ttl(idempotency: Idempotency) -> None:
    await idempotency.add("delivery-1", ttl=timedelta(milliseconds=200))
    assert await idempotency.contains("delivery-1")
    await asyncio.sleep(0.3)

    assert not await idempotency.contains("delivery-1")
    assert await idempotency.add("delivery-1", ttl=MINUTE)


async def test_of_twenty_concurrent_adds_of_one_key_exactly_one_is_new(
    idempotency: Idempotency,
) -> None:
    results = await asyncio.gather(*(idempotency.add("same", ttl=MINUTE) for _ in range(20)))

    assert results.count(True) == 1


async def test_memory_idempotency_follows_its_clock_and_forgets_expired_keys() -> None:
    now = 1000.0
    seen = MemoryIdempotency(clock=lambda: now)
    for number in range(1000):
        await seen.add(f"old-{number}", ttl=timedelta(seconds=10))
    await seen.discard("old-1")
    await seen.add("old-1", ttl=timedelta(seconds=30))

    now += 10
    assert not await seen.contains("old-0")
    assert await seen.contains("old-1")
    assert await seen.add("new", ttl=timedelta(seconds=10))
    assert len(seen) == 2


async def test_a_lock_lets_one_holder_in_at_a_time(lock: ConversationLock) -> None:
    inside = 0
    most_inside = 0
    counter = 0

    async def increment() -> None:
        nonlocal inside, most_inside, counter
        async with lock.hold("conversation-1", timeout=timedelta(seconds=5)):
            inside += 1
            most_inside = max(most_inside, inside)
            seen = counter
            await asyncio.sleep(0.005)
            counter = seen + 1
            inside -= 1

    await asyncio.gather(*(increment() for _ in range(20)))

    assert (counter, most_inside) == (20, 1)


async def test_a_lock_not_had_within_the_timeout_raises_timeout_error(
    lock: ConversationLock,
) -> None:
    async with lock.hold("busy", timeout=SECOND):
        with pytest.raises(TimeoutError):
            async with lock.hold("busy", timeout=timedelta(milliseconds=100)):
                pytest.fail("two holders at once")

    async with lock.hold("busy", timeout=timedelta(milliseconds=100)):
        pass


async def test_a_lock_is_released_when_its_holder_fails(lock: ConversationLock) -> None:
    with pytest.raises(RuntimeError):
        async with lock.hold("conversation-1", timeout=SECOND):
            raise RuntimeError("handler failed")

    async with lock.hold("conversation-1", timeout=timedelta(milliseconds=100)):
        pass


async def test_locks_on_different_keys_do_not_wait_for_each_other(lock: ConversationLock) -> None:
    async with (
        lock.hold("conversation-1", timeout=SECOND),
        lock.hold("conversation-2", timeout=timedelta(milliseconds=100)),
    ):
        pass


async def test_holding_all_keys_keeps_each_of_them_until_let_go(lock: ConversationLock) -> None:
    short = timedelta(milliseconds=100)
    async with lock.hold_all(["customer-2", "customer-1", "customer-3"], timeout=SECOND):
        for key in ("customer-1", "customer-2", "customer-3"):
            with pytest.raises(TimeoutError):
                async with lock.hold(key, timeout=short):
                    pass
        async with lock.hold("customer-4", timeout=short):
            pass

    async with lock.hold_all(["customer-1", "customer-2", "customer-3"], timeout=short):
        pass


async def test_holding_all_keys_waits_for_a_held_one(lock: ConversationLock) -> None:
    order: list[str] = []

    async def one_holder() -> None:
        async with lock.hold("customer-2", timeout=SECOND):
            order.append("held")
            await asyncio.sleep(0.3)
            order.append("let go")

    holder = asyncio.create_task(one_holder())
    await asyncio.sleep(0.05)
    async with lock.hold_all(["customer-1", "customer-2"], timeout=SECOND):
        order.append("all held")
    await holder

    assert order == ["held", "let go", "all held"]


async def test_all_keys_not_had_within_the_timeout_raise_and_leave_none_held(
    lock: ConversationLock,
) -> None:
    async with lock.hold("customer-2", timeout=SECOND):
        with pytest.raises(TimeoutError):
            async with lock.hold_all(
                ["customer-1", "customer-2", "customer-3"], timeout=timedelta(milliseconds=200)
            ):
                pass
        for key in ("customer-1", "customer-3"):
            async with lock.hold(key, timeout=timedelta(milliseconds=100)):
                pass


async def test_a_live_holder_keeps_all_its_redis_locks_past_the_lease(redis_client: Redis) -> None:
    lock = RedisLock(redis_client, lease=timedelta(milliseconds=300))
    async with lock.hold_all(["customer-1", "customer-2"], timeout=SECOND):
        await asyncio.sleep(1.0)  # more than three leases, renewed meanwhile
        with pytest.raises(TimeoutError):
            async with lock.hold("customer-2", timeout=timedelta(milliseconds=300)):
                pass

    assert await redis_client.keys("kesher:lock:*") == []


async def test_a_released_memory_lock_leaves_nothing_behind() -> None:
    lock = MemoryLock()
    async with lock.hold("a", timeout=SECOND):
        waiter = asyncio.create_task(_enter(lock, "a"))
        await asyncio.sleep(0)
        assert len(lock) == 1
    await waiter
    with pytest.raises(TimeoutError):
        async with (
            lock.hold("b", timeout=SECOND),
            lock.hold("b", timeout=timedelta(milliseconds=20)),
        ):
            pass
    with pytest.raises(RuntimeError):
        async with lock.hold("c", timeout=SECOND):
            raise RuntimeError("handler failed")

    assert len(lock) == 0


async def _enter(lock: MemoryLock, key: str) -> None:
    async with lock.hold(key, timeout=SECOND):
        pass


async def test_a_dead_holders_redis_lock_frees_the_conversation_after_its_lease(
    redis_client: Redis,
) -> None:
    # A process that took the lock and died: nobody renews its lease.
    dead = redis_client.lock("kesher:lock:conversation-1", timeout=0.3, thread_local=False)
    assert await dead.acquire(blocking=False)
    lock = RedisLock(redis_client, lease=timedelta(milliseconds=300))

    started = asyncio.get_running_loop().time()
    async with lock.hold("conversation-1", timeout=SECOND):
        waited = asyncio.get_running_loop().time() - started

    assert 0.1 < waited < 1.0


async def test_a_live_holder_keeps_its_redis_lock_past_the_lease(redis_client: Redis) -> None:
    lock = RedisLock(redis_client, lease=timedelta(milliseconds=300))
    async with lock.hold("conversation-1", timeout=SECOND):
        await asyncio.sleep(1.0)  # more than three leases, renewed meanwhile
        with pytest.raises(TimeoutError):
            async with lock.hold("conversation-1", timeout=timedelta(milliseconds=300)):
                pass
    async with lock.hold("conversation-1", timeout=timedelta(milliseconds=100)):
        pass


async def test_a_rate_allows_its_count_then_refuses(limiter: RateLimiter) -> None:
    rate = Rate(count=3, per=timedelta(seconds=10))

    assert [await limiter.hit("chat-1", rate) for _ in range(5)] == [True] * 3 + [False] * 2


async def test_retry_after_is_zero_while_allowed_and_positive_once_refused(
    limiter: RateLimiter,
) -> None:
    rate = Rate(count=2, per=timedelta(seconds=10))
    assert await limiter.retry_after("chat-1", rate) == 0
    await limiter.hit("chat-1", rate)
    assert await limiter.retry_after("chat-1", rate) == 0
    await limiter.hit("chat-1", rate)

    assert 9 < await limiter.retry_after("chat-1", rate) <= 10


async def test_rate_limits_on_different_keys_are_independent(limiter: RateLimiter) -> None:
    rate = Rate(count=1, per=MINUTE)
    assert await limiter.hit("chat-1", rate)
    assert not await limiter.hit("chat-1", rate)

    assert await limiter.hit("chat-2", rate)


async def test_refused_hits_are_not_counted(limiter: RateLimiter) -> None:
    # The refused hits must come within the second of the first two, and the last two within
    # the second after the refused ones (or they would pass even if refused hits counted). A
    # run the machine stalled out of those times proves nothing and is run again.
    rate = Rate(count=2, per=SECOND)
    clock = asyncio.get_running_loop().time
    for attempt in range(5):
        key = f"chat-{attempt}"
        first = clock()
        accepted = [await limiter.hit(key, rate), await limiter.hit(key, rate)]
        await asyncio.sleep(0.5)
        refusing = clock()
        refused = [await limiter.hit(key, rate) for _ in range(3)]
        refused_in_time = clock() < first + 1
        await asyncio.sleep(0.6)
        again = [await limiter.hit(key, rate), await limiter.hit(key, rate)]
        if refused_in_time and clock() < refusing + 1:
            break
    else:
        pytest.fail("the machine was too slow for this test's timing five times in a row")

    assert accepted == [True, True]
    assert not any(refused)
    assert again == [True, True]


async def test_a_rate_over_hours_refuses_for_hours(limiter: RateLimiter) -> None:
    rate = Rate(count=1, per=timedelta(hours=2))
    assert await limiter.hit("chat-1", rate)
    assert not await limiter.hit("chat-1", rate)

    assert 7199 < await limiter.retry_after("chat-1", rate) <= 7200


async def test_a_rate_under_a_second_is_held_for_a_whole_second(limiter: RateLimiter) -> None:
    rate = Rate(count=1, per=timedelta(milliseconds=200))
    assert await limiter.hit("chat-1", rate)
    assert not await limiter.hit("chat-1", rate)

    assert 0.5 < await limiter.retry_after("chat-1", rate) <= 1


async def test_reserved_turns_are_spread_evenly_over_the_rate(limiter: RateLimiter) -> None:
    rate = Rate(count=4, per=SECOND)

    waits = [await limiter.reserve("sender-1", rate, max_wait=5) for _ in range(4)]

    assert waits[0] == pytest.approx(0, abs=0.05)
    assert waits[1:] == [pytest.approx(n * 0.25, abs=0.05) for n in (1, 2, 3)]
    assert await limiter.reserve("sender-2", rate, max_wait=5) == pytest.approx(0, abs=0.05)


async def test_a_turn_further_than_max_wait_is_not_booked(limiter: RateLimiter) -> None:
    rate = Rate(count=1, per=SECOND)
    await limiter.reserve("sender-1", rate, max_wait=5)
    await limiter.reserve("sender-1", rate, max_wait=5)

    assert await limiter.reserve("sender-1", rate, max_wait=1.5) is None
    assert await limiter.reserve("sender-1", rate, max_wait=5) == pytest.approx(2, abs=0.05)


async def test_a_turn_that_has_passed_is_not_owed(limiter: RateLimiter) -> None:
    rate = Rate(count=10, per=SECOND)
    await limiter.reserve("sender-1", rate, max_wait=5)
    await asyncio.sleep(0.3)

    assert await limiter.reserve("sender-1", rate, max_wait=5) == pytest.approx(0, abs=0.05)
    assert await limiter.reserve("sender-1", rate, max_wait=5) == pytest.approx(0.1, abs=0.05)
