"""The RateLimiter port on the `limits` library's moving window, over whichever storage it is given."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from bot.domain import Rate


class LimitsRateLimiter:
    """Memory and Redis differ only by the `limits` storage passed in."""

    def __init__(self, storage: Storage) -> None:
        self._limiter = MovingWindowRateLimiter(storage)

    async def hit(self, key: str, rate: Rate) -> bool:
        return await self._limiter.hit(_item(rate), key)

    async def retry_after(self, key: str, rate: Rate) -> float:
        stats = await self._limiter.get_window_stats(_item(rate), key)
        if stats.remaining > 0:
            return 0.0
        # Both limits storages stamp entries with the caller's time.time(), not Redis's clock.
        return max(0.0, stats.reset_time - time.time())


def _item(rate: Rate) -> RateLimitItem:
    # limits counts windows in whole seconds: a shorter `per` is held for one full second.
    return RateLimitItemPerSecond(rate.count, max(1, math.ceil(rate.per.total_seconds())))
