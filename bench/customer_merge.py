"""Likely duplicates and merges at scale: a business with N customers (100,000 by default) on
PostgreSQL, and how long the console's and the API's reads and writes take through the real
repositories: the search for likely duplicates (same phone, e-mail, external id in another
form), a merge's preview, and a merge done.

    .venv/bin/python -m bench.customer_merge --customers 100000

Every customer has a phone, an `email` attribute, an external id and a sandbox identity;
one in a hundred shares its phone with another, one in a hundred its e-mail (in other case),
one in a hundred its external id in another form. Each read is timed `--repeat` times after
one warm-up; each merge joins a different pair (with a conversation and a message each). The
table gives the median and the slowest.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.harness import _admin_sql, seed_customers, seed_history
from bench.inbox_list import POSTGRES
from bot.accounts.merge import merge_customers
from bot.domain import Business
from storage.database import create_engine, create_sessionmaker
from storage.schema import upgrade
from storage.unit_of_work import SqlUnitOfWork

# A customer's phone, e-mail and external id from their number; every hundredth repeats the
# one before it (the phone as is, with no external id of its own; the e-mail in capitals; the
# external id with a dash).
_PROFILES = """
UPDATE customers SET
  phone = '+97250' || lpad((CASE WHEN name::bigint % 100 = 1 THEN name::bigint - 1
                                 ELSE name::bigint END)::text, 7, '0'),
  attributes = jsonb_build_object('email', CASE WHEN name::bigint % 100 = 2
      THEN upper('c' || (name::bigint - 1) || '@bench.test') ELSE 'c' || name || '@bench.test' END),
  external_id = CASE WHEN name::bigint % 100 = 3 THEN 'C-' || (name::bigint - 1)
                     WHEN name::bigint % 100 = 1 THEN NULL
                     ELSE 'c' || name END
WHERE business_id = :b
"""


async def _timed(run: Callable[[], Awaitable[object]], repeat: int) -> tuple[float, float]:
    await run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


async def _pairs(engine: AsyncEngine, business_id: int, count: int) -> list[tuple[uuid.UUID, ...]]:
    """Customers two by two (numbers 10k+5 and 10k+6), each to merge once."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT a.id, b.id FROM customers a JOIN customers b ON b.business_id = a.business_id"
                " AND b.name = (a.name::bigint + 1)::text WHERE a.business_id = :b"
                " AND a.name::bigint % 10 = 5 ORDER BY a.name::bigint LIMIT :n"
            ),
            {"b": business_id, "n": count},
        )
        return [tuple(row) for row in rows]


async def run(
    customers: int, repeat: int, *, postgres: str = POSTGRES
) -> list[tuple[str, float, float]]:
    database = f"kesher_merge_{uuid.uuid4().hex[:8]}"
    url = postgres.rsplit("/", 1)[0] + "/" + database
    await _admin_sql(postgres, f'CREATE DATABASE "{database}"')
    engine = create_engine(url)
    try:
        await upgrade(url)
        sessions = create_sessionmaker(engine)
        async with engine.begin() as connection:
            business_id = (
                await connection.execute(
                    text(
                        "INSERT INTO businesses (slug, name, language, timezone, sandbox_enabled,"
                        " detector_sensitivity, contact_rules, handoff_rules, canned_replies,"
                        " consent_words, opening_hours, created_at) VALUES ('bench', 'Bench',"
                        " 'he', 'Asia/Jerusalem', true, 'balanced', '{}', '{}', '{}', '{}',"
                        " '{}', now()) RETURNING id"
                    )
                )
            ).scalar_one()
        started = time.perf_counter()
        await seed_customers(engine, business_id, customers)
        async with engine.begin() as connection:
            await connection.execute(text(_PROFILES), {"b": business_id})
        await seed_history(engine, business_id)
        print(f"seeded {customers:,} customers in {time.perf_counter() - started:.1f} s")
        async with SqlUnitOfWork(sessions) as uow:
            business: Business = await uow.businesses.get(business_id)
        pairs = iter((await _pairs(engine, business_id, repeat + 2))[1:])

        async def duplicates() -> object:
            async with SqlUnitOfWork(sessions) as uow:
                found = await uow.customers.duplicates(business_id, limit=20)
            if len(found) != 3 * min(20, customers // 100):
                raise RuntimeError(f"expected 20 groups of each reason, found {len(found)}")
            return found

        previewed = await _pairs(engine, business_id, 1)

        async def preview() -> object:
            survivor, other = previewed[0]
            async with SqlUnitOfWork(sessions) as uow:
                return await merge_customers(
                    uow,
                    business,
                    survivor,
                    other,
                    actor="bench",
                    now=datetime.now(UTC),
                    preview=True,
                )

        async def merge() -> object:
            survivor, other = next(pairs)
            async with SqlUnitOfWork(sessions) as uow:
                done = await merge_customers(
                    uow, business, survivor, other, actor="bench", now=datetime.now(UTC)
                )
                await uow.commit()
            return done

        reads: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("likely duplicates, 20 groups of each reason", duplicates),
            ("a merge previewed", preview),
            ("a merge done (one transaction)", merge),
        ]
        return [(name, *await _timed(read, repeat)) for name, read in reads]
    finally:
        await engine.dispose()
        await _admin_sql(postgres, f'DROP DATABASE "{database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    arguments = parser.parse_args()
    results = asyncio.run(run(arguments.customers, arguments.repeat))
    print(f"\n| ({arguments.customers:,} customers) | median | slowest |\n|---|---|---|")
    for name, median, slowest in results:
        print(f"| {name} | {median:.1f} ms | {slowest:.1f} ms |")


if __name__ == "__main__":
    main()
