"""The channel benchmarks' code paths with tiny numbers, so they cannot rot: real `kesher`
processes on PostgreSQL and Redis, the fake provider APIs and the baselines, every message
answered or sent once and no 429 from the fakes' enforced limits. The figures are not checked.
"""

from __future__ import annotations

import asyncio

import pytest

from bench import telegram_load, whatsapp_load

# A benchmark's code path or a long run of real processes: `make test` runs these, `make check`
# does not; one pytest-xdist worker runs them one after another (the machine has two cores).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bench")]


def test_the_telegram_benchmark_runs_end_to_end_with_a_few_messages(
    postgres_url: str, redis_url: str
) -> None:
    options = telegram_load.Options(
        updates=6, concurrency=3, history=20, messages=12, workers=(1,), scale=1,
        postgres=postgres_url, redis=redis_url,
    )  # fmt: skip

    results = asyncio.run(telegram_load.run(options))

    assert [r.scenario.split(",")[0] for r in results] == [
        "Kesher inbound",
        "python-telegram-bot echo bot",
        "Kesher outbound",
    ]
    assert [(r.messages, r.lost, r.duplicated, r.limited) for r in results] == [
        (6, 0, 0, 0),
        (6, 0, 0, 0),
        (12, 0, 0, 0),
    ]
    assert "Kesher / echo bot throughput" in telegram_load.report(results, options)


def test_the_whatsapp_benchmark_runs_end_to_end_with_a_few_messages(
    postgres_url: str, redis_url: str
) -> None:
    options = whatsapp_load.Options(
        webhooks=6, concurrency=3, messages=12, workers=(1,), mps=20,
        postgres=postgres_url, redis=redis_url,
    )  # fmt: skip

    results = asyncio.run(whatsapp_load.run(options))

    assert [r.scenario.split(",")[0] for r in results] == [
        "Kesher inbound",
        "bare FastAPI signature check",
        "Kesher outbound",
    ]
    assert [(r.messages, r.lost, r.duplicated, r.limited) for r in results] == [
        (6, 0, 0, 0),
        (6, 0, 0, 0),
        (12, 0, 0, 0),
    ]
    assert "Kesher / bare endpoint throughput" in whatsapp_load.report(results, options)
