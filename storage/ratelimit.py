"""The RateLimiter port on the `limits` library's moving window, over any of its storages."""

from __future__ import annotations

import time

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from bot.domain import Rate


def _item(rate: Rate) -> RateLimitItem:
    return RateLimitItemPerSecond(rate.count, max(1, round(rate.per.total_seconds())))


class LimitsRateLimiter:
    def __init__(self, storage: Storage) -> None:
        self._limiter = MovingWindowRateLimiter(storage)

    async def hit(self, key: str, rate: Rate) -> bool:
        return await self._limiter.hit(_item(rate), key)

    async def retry_after(self, key: str, rate: Rate) -> float:
        stats = await self._limiter.get_window_stats(_item(rate), key)
        if stats.remaining > 0:
            return 0.0
        return max(0.0, stats.reset_time - time.time())


class MemoryRateLimiter(LimitsRateLimiter):
    def __init__(self) -> None:
        super().__init__(MemoryStorage())


class RedisRateLimiter(LimitsRateLimiter):
    def __init__(self, url: str, *, prefix: str = "kesher:limits") -> None:
        super().__init__(RedisStorage("async+" + url, implementation="redispy", key_prefix=prefix))
