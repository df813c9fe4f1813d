"""The sustained bench's verdict (bench/sustained.py `Steady.flat`): a run whose every minute is
slow is not flat just because it is evenly slow, and growth in the last minute is caught."""

from __future__ import annotations

from bench.sustained import Minute, Steady

MEMORY = {"web 1": 200.0, "worker 1": 210.0}


def _run(p99s: list[float], *, last_memory: float = 210.0) -> Steady:
    minutes = [Minute(messages=4700, p99_ms=p99, memory_mb=dict(MEMORY)) for p99 in p99s]
    minutes[-1].memory_mb["worker 1"] = last_memory
    return Steady(
        rate=78.0,
        messages=4700 * len(p99s),
        lost=0,
        duplicated=0,
        checkins=0,
        checkins_asked_once=0,
        checkins_twice=0,
        minutes=minutes,
    )


def test_a_run_keeping_up_is_flat() -> None:
    assert _run([1000, 900, 1500, 1100, 1600, 1200]).flat


def test_a_run_slow_in_every_minute_is_not_flat() -> None:
    assert not _run([35_000, 127_000, 158_000, 175_000, 178_000, 150_000]).flat


def test_a_run_falling_behind_at_the_end_is_not_flat() -> None:
    assert not _run([1000, 900, 1500, 1100, 1600, 5400]).flat


def test_memory_growing_a_quarter_is_not_flat() -> None:
    assert not _run([1000, 900, 1000, 1000], last_memory=270.0).flat


def test_a_last_minute_of_stragglers_is_left_out() -> None:
    run = _run([1000, 900, 1000, 1000])
    run.minutes.append(Minute(messages=1, p99_ms=60_000, memory_mb=dict(MEMORY)))
    assert run.flat
