"""Waiting for a provider's send rates: each send books its turn through the RateLimiter port.

Turns are booked at an even pace (one every `per / count`) on keys every process shares (Redis
in distributed mode, memory in the embedded one), so a limit holds for the whole deployment,
and the provider sees a steady stream, never a burst. A send whose turn is further away than
`max_wait` is refused as throttled: the outbox keeps it for a later sweep without counting an
attempt. `MAX_WAIT` is the sweep's minute and a little more, so a backlog that waits for turns
never waits longer in a task than it would in the outbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.domain import Rate, SendFailed
from bot.ports import RateLimiter

# A sender woken this much after its turn (and more than one turn late) books a new one: a busy
# or descheduled process would otherwise wake many senders at once, and they would go out
# together, the burst the pace is there to prevent.
LATE_SECONDS = 0.05
MAX_WAIT = 75.0


async def wait_turn(
    limiter: RateLimiter,
    limits: Sequence[tuple[str, Rate]],
    *,
    max_wait: float,
    provider: str,
) -> None:
    """Book a turn under each (key, rate) in order and wait for it; the last is the one the
    send goes closest to, so put the tightest shared limit there."""
    loop = asyncio.get_running_loop()
    for key, rate in limits:
        late_after = max(LATE_SECONDS, rate.per.total_seconds() / rate.count)
        while True:
            # Counted from the asking: a busy process may read the answer late as well.
            asked = loop.time()
            wait = await limiter.reserve(key, rate, max_wait=max_wait)
            if wait is None:
                raise SendFailed(
                    f"no turn under {provider}'s rate limits within {max_wait:g} s; sent later",
                    retryable=True,
                    retry_after=max_wait,
                    throttled=True,
                )
            due = asked + wait
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            if loop.time() - due <= late_after:
                break
