"""The check-in benchmark's code path with tiny numbers, so it cannot rot: a cadence planned
in one statement for customers who talked before, due touches made by a real `kesher worker`
on PostgreSQL and Redis, each due customer messaged once. The figures are not checked."""

from __future__ import annotations

import asyncio

import pytest

from bench import checkin_scale

# A benchmark's code path or a long run of real processes: `make test` runs these, `make check`
# does not; one pytest-xdist worker runs them one after another (the machine has two cores).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bench")]


def test_the_checkin_benchmark_plans_everyone_and_messages_each_due_customer_once(
    postgres_url: str, redis_url: str
) -> None:
    tally = asyncio.run(checkin_scale.run(300, 60, 1, postgres=postgres_url, redis_url=redis_url))

    assert tally == checkin_scale.Tally(
        planned=300, made=60, sent=60, messaged_once=60, messaged_twice=0, with_two_rows=0
    )
