"""The inbox list benchmark's code path with tiny numbers, so it cannot rot: the seeded open
conversations are what the inbox's reads find. The times are not checked."""

from __future__ import annotations

import asyncio

import pytest

from bench import inbox_list

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bench")]


def test_the_inbox_benchmark_times_every_read_of_the_seeded_queue(postgres_url: str) -> None:
    results = asyncio.run(inbox_list.run(200, 1, postgres=postgres_url))

    assert results[0][0] == "open, first page of 50"
    assert len(results) == 9 and all(median >= 0 for _, median, _ in results)
