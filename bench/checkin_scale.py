"""Check-ins at scale: plan a cadence for N customers, then make M due touches with K workers.

On PostgreSQL and Redis: a fresh database, N customers with a sandbox identity and a
conversation 20 days old (their message, the bot's answer and its outbox row) seeded in SQL
(every table then analyzed), contact rules open every
hour (the figures measure the machinery, not the calendar), a weekly cadence whose start lies
8 days back so everyone is due. Reports planning time,
then the rate at which M touches are made and sent by K `kesher worker` processes (the
bench claims as the scheduler's tick does, back to back), and counts per customer that
every touch was made exactly once.

    .venv/bin/python -m bench.checkin_scale --customers 1000000 --due 20000 --workers 1
    .venv/bin/python -m bench.checkin_scale --customers 1000000 --due 20000 --workers 3

"Made" is a touch started (rules re-checked, flow started, its outbox row written, the row
moved to sent); "sent" is its message handed to the sandbox channel by the outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import text

from app.bootstrap import Runtime, build
from app.settings import Settings
from bench.harness import seed_customers, seed_history
from bot.accounts.businesses import create_business
from bot.checkins import dispatch, planning
from bot.checkins.configuration import save_rules, save_schedule
from bot.domain import Business
from storage.schema import upgrade

KESHER = str(Path(sys.executable).with_name("kesher"))
POSTGRES = os.environ.get(
    "KESHER_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS = os.environ.get("KESHER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
# The messages of this run, not the seeded history (20 days old).
SINCE_SEEDED = "created_at > now() - interval '1 day'"
OPEN = {
    "hours": {day: "00:00-24:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "holidays": False,
}


async def weekly_checkin_due(runtime: Runtime, business: Business) -> None:
    """Contact rules open at every hour and a weekly check-in whose start lies 8 days back, so
    every customer of the business is due as soon as it is planned."""
    services = runtime.services
    async with services.uow() as uow:
        await save_rules(uow, business, OPEN)
        await save_schedule(
            uow,
            business,
            {"name": "weekly", "flow": "checkin", "when": {"every": "7d"}},
            now=services.clock.now(),
        )
        await uow.commit()
    async with runtime.engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE schedules SET starts_at = now() - interval '8 days' WHERE business_id = :b"
            ),
            {"b": business.id},
        )


@dataclass(frozen=True)
class Tally:
    """What a run planned and made, counted per customer afterwards."""

    planned: int
    made: int
    sent: int
    messaged_once: int
    messaged_twice: int
    with_two_rows: int


async def _admin_sql(postgres: str, statement: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(postgres, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.exec_driver_sql(statement)
    await engine.dispose()


def _workers(count: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    logs = Path(tempfile.mkdtemp(prefix="kesher-checkins-"))
    return [
        subprocess.Popen(
            [KESHER, "worker"],
            env=env,
            stdout=(logs / f"worker-{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for n in range(count)
    ]


async def _count(runtime, sql: str) -> int:  # type: ignore[no-untyped-def]
    async with runtime.engine.connect() as connection:
        return int((await connection.execute(text(sql))).scalar_one())


async def run(
    customers: int, due: int, workers: int, *, postgres: str = POSTGRES, redis_url: str = REDIS
) -> Tally:
    database = f"kesher_checkins_{uuid.uuid4().hex[:8]}"
    url = postgres.rsplit("/", 1)[0] + "/" + database
    await _admin_sql(postgres, f'CREATE DATABASE "{database}"')
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    processes: list[subprocess.Popen[bytes]] = []
    key = Fernet.generate_key().decode()
    settings = Settings(
        _env_file=None, database_url=url, redis_url=SecretStr(redis_url), secret_key=SecretStr(key)
    )  # type: ignore[call-arg]
    runtime = build(settings)
    try:
        await upgrade(url, secret_keys=[key])
        await runtime.start()
        services = runtime.services
        async with services.uow() as uow:
            business, _ = await create_business(
                uow, "bench", name="Bench", sandbox=True, now=services.clock.now()
            )
            await uow.commit()
        started = time.perf_counter()
        await seed_customers(runtime.engine, business.id, customers)
        await seed_history(runtime.engine, business.id)
        print(f"seeded {customers} customers in {time.perf_counter() - started:.1f} s")
        # Counting this run's sends reads only the outbox rows after the history's: the
        # count is asked every 0.2 s, and must not cost the database what it is measuring.
        history = await _count(runtime, "SELECT coalesce(max(id), 0) FROM outbox")
        await weekly_checkin_due(runtime, business)

        started = time.perf_counter()
        planned = await planning.plan(services, now=services.clock.now())
        took = time.perf_counter() - started
        print(f"planned {planned} touches in {took:.1f} s ({planned / took:,.0f}/s)")

        # Only `due` of them are due now; the rest wait a week, as in a real cadence.
        async with runtime.engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE checkins SET send_at = now() + interval '7 days' WHERE id NOT IN"
                    " (SELECT id FROM checkins ORDER BY id LIMIT :m)"
                ),
                {"m": due},
            )
        env = {k: v for k, v in os.environ.items() if not k.startswith("KESHER_")}
        env |= {
            "KESHER_DATABASE_URL": url,
            "KESHER_REDIS_URL": redis_url,
            "KESHER_SECRET_KEY": key,
            "KESHER_LOG_LEVEL": "WARNING",
        }
        processes += _workers(workers, env)
        await asyncio.sleep(3)

        started = time.perf_counter()
        sent = made = 0
        made_in = None
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            await dispatch.dispatch(services, now=services.clock.now())
            if made_in is None:
                made = await _count(runtime, "SELECT count(*) FROM checkins WHERE status = 'sent'")
                if made >= due:
                    made_in = time.perf_counter() - started
            sent = await _count(
                runtime,
                f"SELECT count(*) FROM outbox WHERE id > {history} AND status = 'sent'"
                " AND kind = 'checkin'",
            )
            if sent >= due:
                break
            await asyncio.sleep(0.2)
        took = time.perf_counter() - started
        if made_in is not None:
            print(
                f"workers={workers}: {due} touches made in {made_in:.1f} s ({due / made_in:,.0f}/s)"
            )
        made = await _count(runtime, "SELECT count(*) FROM checkins WHERE status = 'sent'")
        twice = await _count(
            runtime,
            "SELECT count(*) FROM (SELECT customer_id FROM messages WHERE direction = 'out'"
            f" AND {SINCE_SEEDED} GROUP BY customer_id HAVING count(*) > 1) AS t",
        )
        once = await _count(
            runtime,
            "SELECT count(*) FROM (SELECT customer_id FROM messages WHERE direction = 'out'"
            f" AND {SINCE_SEEDED} GROUP BY customer_id HAVING count(*) = 1) AS t",
        )
        rows = await _count(
            runtime,
            "SELECT count(*) FROM (SELECT customer_id FROM checkins GROUP BY customer_id"
            " HAVING count(*) > 1) AS t",
        )
        print(
            f"workers={workers}: {sent} touches made and sent in {took:.1f} s"
            f" ({sent / took:,.0f}/s); check-ins sent {made} of {due} due;"
            f" customers messaged once {once}, twice {twice}; customers with two rows {rows};"
            f" missed {due - made}"
        )
        return Tally(planned, made, sent, once, twice, rows)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)
        await runtime.stop()
        await redis.flushdb()
        await redis.aclose()
        await _admin_sql(postgres, f'DROP DATABASE "{database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(run(args.customers, args.due, args.workers))


if __name__ == "__main__":
    main()
