"""Sending limits as the fake provider APIs enforce them: turns at an even pace per key.

At `rate` a second a key's messages have turns `1 / rate` apart; a message may come up to a
tenth of a second before its turn (about the allowance a real provider leaves for network
jitter), and one earlier than that is refused. So a sender that keeps an even pace is never
refused, and one that sends a second's worth at once is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

EARLY = 0.1


class Meter:
    def __init__(self) -> None:
        self._turns: dict[str, float] = {}

    def take(self, limits: Sequence[tuple[str, float]]) -> bool:
        """Count one message against every (key, rate); False (nothing counted) when it came
        too early for any of them."""
        now = time.monotonic()
        turns = [(key, rate, max(self._turns.get(key, now), now)) for key, rate in limits]
        if any(turn - now > EARLY for _, _, turn in turns):
            return False
        for key, rate, turn in turns:
            self._turns[key] = turn + 1 / rate
        return True

    def clear(self) -> None:
        self._turns.clear()
