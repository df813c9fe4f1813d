"""Sends paced by `wait_turn`: even turns, and no burst after the process stood still."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import timedelta

import pytest

from bot.domain import Rate, SendFailed
from integrations.throttle import wait_turn
from storage.memory import MemoryRateLimiter

TWENTY_A_SECOND = Rate(count=20, per=timedelta(seconds=1))


async def _paced(limiter: MemoryRateLimiter, times: list[float]) -> None:
    await wait_turn(limiter, [("sender", TWENTY_A_SECOND)], max_wait=5, provider="Twilio")
    times.append(time.monotonic())


async def test_senders_go_one_turn_apart() -> None:
    limiter, times = MemoryRateLimiter(), []

    await asyncio.gather(*(_paced(limiter, times) for _ in range(6)))

    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(gap > 0.04 for gap in gaps)


async def test_senders_woken_late_book_a_new_turn_rather_than_go_together() -> None:
    limiter, times = MemoryRateLimiter(), []

    async def stand_still() -> None:
        await asyncio.sleep(0.12)
        time.sleep(0.3)  # noqa: ASYNC251 - the whole process stops: six turns pass meanwhile

    await asyncio.gather(stand_still(), *(_paced(limiter, times) for _ in range(12)))

    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) == 12
    assert sum(1 for gap in gaps if gap < 0.01) <= 1


async def test_a_turn_further_than_max_wait_is_refused_as_throttled() -> None:
    limiter = MemoryRateLimiter()
    slow = Rate(count=1, per=timedelta(seconds=10))
    await wait_turn(limiter, [("sender", slow)], max_wait=5, provider="Twilio")

    with pytest.raises(SendFailed) as refused:
        await wait_turn(limiter, [("sender", slow)], max_wait=5, provider="Twilio")

    assert refused.value.throttled and refused.value.retryable
    assert "Twilio" in refused.value.message
