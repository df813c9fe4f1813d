"""The reliability suite's quick run (bench/reliability.py) as a test: Kesher's multi-process set
on a PostgreSQL and a Redis of its own, a few messages per scenario while a worker and a web
process are killed, the provider API fails a fifth of the sends, the language model answers
after Kesher's timeout, and Redis and PostgreSQL are restarted; no customer's message is lost or stored or answered twice, except the one second send
the outbox trades for never losing a reply (a worker killed between the provider's answer and
recording it; docs/architecture.md, "Nothing lost, nothing twice")."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from bench import reliability
from bench.cluster import PrivatePostgres
from tests.conftest import REQUIRE_SERVERS

# A benchmark's code path or a long run of real processes: `make test` runs these, `make check`
# does not; one pytest-xdist worker runs them one after another (the machine has two cores).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bench")]


def test_no_message_is_lost_or_doubled_when_parts_of_kesher_fail_under_load() -> None:
    if not (shutil.which("redis-server") and PrivatePostgres.available()):
        reason = "the reliability suite needs redis-server, initdb and pg_ctl"
        if REQUIRE_SERVERS:
            pytest.fail(reason + " (KESHER_REQUIRE_SERVERS=1)")
        pytest.skip(reason)

    outcomes = asyncio.run(reliability.run(reliability.Options(messages=24, quick=True)))

    assert len(outcomes) == 7, reliability.report(outcomes)
    assert [(o.scenario, o.lost, o.duplicated, o.problems) for o in outcomes] == [
        (o.scenario, 0, o.resent_after_kill, []) for o in outcomes
    ], reliability.report(outcomes)
