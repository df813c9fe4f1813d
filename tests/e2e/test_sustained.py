"""The sustained-load bench's steady part (bench/sustained.py) in small: Kesher's multi-process
set on the machine's PostgreSQL and Redis takes paced webhooks while a weekly check-in falls due
for other customers through the scheduler's tick; every message is stored and answered once,
every check-in customer asked once, and memory is read for each process every minute."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench import sustained

# A benchmark's code path or a long run of real processes: `make test` runs these, `make check`
# does not; one pytest-xdist worker runs them one after another (the machine has two cores).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bench")]


def test_steady_load_with_checkins_going_out_loses_and_doubles_nothing(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    options = sustained.Options(minutes=0.75, checkins=120, postgres=postgres_url, redis=redis_url)

    result = asyncio.run(sustained.steady(tmp_path, 8.0, options))

    assert (result.messages, result.lost, result.duplicated) == (360, 0, 0), result
    assert (result.checkins_asked_once, result.checkins_twice) == (120, 0), result
    assert result.minutes[0].messages > 0
    assert set(result.minutes[0].memory_mb) == {"web 1", "web 2", "worker 1", "worker 2"}
    assert all(mb > 50 for mb in result.minutes[0].memory_mb.values()), result.minutes
