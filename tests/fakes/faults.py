"""A flaky provider API: a share of sending calls fails at random, as real APIs sometimes do.

A failing call is answered 429 with a retry-after, or 500, or not answered until long after
the client gave up (a timeout); in each case the message is not delivered. The choice is made
by a seeded random generator, so a run can be repeated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum


class Fault(StrEnum):
    LIMITED = "429"
    ERROR = "500"
    TIMEOUT = "timeout"


@dataclass
class Faults:
    rate: float = 0.0
    # Past python-telegram-bot's 10 s read timeout and the Twilio client's 15 s in Kesher.
    hang_seconds: float = 20.0
    _random: random.Random = field(default_factory=lambda: random.Random(9))

    def pick(self) -> Fault | None:
        """The fault for this call, or None for a call that goes through."""
        if self.rate <= 0 or self._random.random() >= self.rate:
            return None
        return self._random.choice(list(Fault))
