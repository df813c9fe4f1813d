"""A `kesher worker` killed with SIGKILL in the middle of a batch of check-ins, then replaced:
every customer still gets exactly one touch, none twice, none missed (PostgreSQL + Redis).
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app.bootstrap import Runtime, build
from app.settings import Settings
from bot.accounts.businesses import create_business
from bot.checkins import dispatch, planning
from bot.checkins.configuration import save_rules, save_schedule
from bot.outbound.outbox import sweep
from storage.schema import upgrade
from tests.e2e.conftest import Kesher
from tests.integration.conftest import TEST_SECRET_KEY

# A benchmark's code path or a long run of real processes: `make test` runs these, `make check`
# does not; one pytest-xdist worker runs them one after another (the machine has two cores).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bench")]

CUSTOMERS = 1500
OPEN = {
    "hours": {day: "00:00-24:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "holidays": False,
}


class LaterClock:
    """Real time, or real time plus `ahead` once the test moves on past the stale limits."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead


async def _count(runtime: Runtime, sql: str) -> int:
    async with runtime.engine.connect() as connection:
        return int((await connection.execute(text(sql))).scalar_one())


async def _prepare(runtime: Runtime) -> None:
    services = runtime.services
    async with services.uow() as uow:
        business, _ = await create_business(
            uow, "crash", name="Crash", sandbox=True, now=services.clock.now()
        )
        await save_rules(uow, business, OPEN)
        await save_schedule(
            uow,
            business,
            {"name": "weekly", "flow": "checkin", "when": {"every": "7d"}},
            now=services.clock.now() - timedelta(days=8),
        )
        await uow.commit()
    async with runtime.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO customers (id, business_id, name, language, timezone, attributes,"
                " opted_out, created_at) SELECT gen_random_uuid(), :b, 'c' || g, 'en',"
                " 'Asia/Jerusalem', '{}'::jsonb, false, now() FROM generate_series(1, :n) g"
            ),
            {"b": business.id, "n": CUSTOMERS},
        )
        await connection.execute(
            text(
                "INSERT INTO channel_identities (business_id, customer_id, channel, address,"
                " reachable, created_at) SELECT :b, id, 'sandbox', name, true, now()"
                " FROM customers WHERE business_id = :b"
            ),
            {"b": business.id},
        )
    await planning.plan(services, now=services.clock.now())


async def _until(runtime: Runtime, sql: str, target: int, *, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    found = await _count(runtime, sql)
    while found < target and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        found = await _count(runtime, sql)
    return found


SENT = "SELECT count(*) FROM checkins WHERE status = 'sent'"
DELIVERED = "SELECT count(*) FROM outbox WHERE status = 'sent'"


async def _crash(kesher: Kesher, url: str, redis_url: str) -> dict[str, int]:
    clock = LaterClock()
    settings = Settings(
        _env_file=None, database_url=url, redis_url=redis_url, secret_key=TEST_SECRET_KEY
    )  # type: ignore[call-arg]
    await upgrade(url, secret_keys=settings.secret_keys)
    runtime = build(settings, clock=clock)
    await runtime.start()
    try:
        await _prepare(runtime)
        kesher.env.update(
            KESHER_DATABASE_URL=url, KESHER_REDIS_URL=redis_url, KESHER_SECRET_KEY=TEST_SECRET_KEY
        )
        doomed = kesher.start("worker")
        await dispatch.dispatch(runtime.services, now=clock.now())
        made = await _until(runtime, SENT, 40, seconds=60)
        doomed.popen.send_signal(signal.SIGKILL)
        doomed.popen.wait(10)
        killed_at = await _count(runtime, SENT)

        kesher.start("worker")
        # The scheduler's minute ticks, a simulated minute a second: after five minutes the
        # touches and sends the dead worker held count as lost and are made again.
        for _ in range(90):
            clock.ahead += timedelta(minutes=1)
            await dispatch.dispatch(runtime.services, now=clock.now())
            await sweep(runtime.services)
            if await _count(runtime, DELIVERED) >= CUSTOMERS:
                break
            await asyncio.sleep(1)
        return {
            "made_before_kill": made,
            "sent_when_killed": killed_at,
            "sent": await _count(runtime, SENT),
            "delivered": await _count(runtime, DELIVERED),
            "rows_per_customer_over_one": await _count(
                runtime,
                "SELECT count(*) FROM (SELECT customer_id FROM checkins GROUP BY customer_id"
                " HAVING count(*) > 1) AS t",
            ),
            "messages_per_customer_over_one": await _count(
                runtime,
                "SELECT count(*) FROM (SELECT customer_id FROM messages WHERE direction = 'out'"
                " GROUP BY customer_id HAVING count(*) > 1) AS t",
            ),
        }
    finally:
        await runtime.stop()


def test_a_worker_killed_mid_batch_leaves_every_customer_exactly_one_checkin(
    kesher: Kesher, empty_postgres: str, redis_url: str, redis_client: object
) -> None:
    counts = asyncio.run(_crash(kesher, empty_postgres, redis_url))

    assert 0 < counts["sent_when_killed"] < CUSTOMERS, counts  # the kill came mid-batch
    assert counts["sent"] == CUSTOMERS, counts  # nobody missed
    assert counts["delivered"] == CUSTOMERS, counts
    assert counts["rows_per_customer_over_one"] == 0, counts  # nobody planned twice
    assert counts["messages_per_customer_over_one"] == 0, counts  # nobody asked twice
