"""Agent performance at scale: the console's and the digest's per-agent weeks over N handoffs.

On PostgreSQL: a fresh database, one business with 10 agents, N customers each with one
conversation and one resolved handoff spread over the last 52 weeks (first answer 1-30
minutes after the request, resolution 1-48 hours after) with the agent's reply and the
resolution on the timeline, a "did we solve it?" follow-up answered for a third of them,
seeded in SQL and analyzed. Reports the time of `performance.weekly` (its four queries) for
the agents page (4 weeks) and a year (52 weeks), the best and worst of 5.

    .venv/bin/python -m bench.agent_performance --handoffs 100000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import timedelta

from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import text

from app.bootstrap import build
from app.settings import Settings
from bench.harness import _admin_sql, seed_customers
from bot.accounts.businesses import create_business
from bot.handoffs.agents import create_agent
from bot.insights import performance
from flows.insights import week_of
from storage.schema import upgrade

POSTGRES = os.environ.get(
    "KESHER_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
AGENTS = 10
SEEDS = (
    "INSERT INTO conversations (id, business_id, customer_id, identity_id, mode, is_open,"
    " started_at, last_message_at) SELECT gen_random_uuid(), :b, customer_id, id, 'bot',"
    " true, now(), now() FROM channel_identities WHERE business_id = :b",
    # One handoff per conversation, requested at a random moment of the last 52 weeks.
    "INSERT INTO handoffs (business_id, customer_id, conversation_id, state, is_open, trigger,"
    " reason, details, agent_id, requested_at, sla_due_at, updated_at)"
    " SELECT :b, c.customer_id, c.id, 'resolved', false, 'frustration', 'bench', '{}',"
    " (SELECT min(id) FROM agents WHERE business_id = :b) + (random() * 9)::int,"
    " t, t + interval '10 minutes', t"
    " FROM conversations c, LATERAL (SELECT now() - random() * interval '364 days' AS t"
    " WHERE c.id IS NOT NULL) moment WHERE c.business_id = :b",
    "UPDATE handoffs SET first_reply_at = requested_at + (1 + random() * 29) * interval"
    " '1 minute', assigned_at = requested_at,"
    " resolved_at = requested_at + (1 + random() * 47) * interval '1 hour' WHERE business_id = :b",
    # The timeline's reply and resolution, which "conversations handled" counts.
    "INSERT INTO events (business_id, customer_id, kind, occurred_at, data)"
    " SELECT :b, customer_id, kind, at, jsonb_build_object('handoff_id', id,"
    " 'conversation_id', conversation_id::text, 'agent_id', agent_id) FROM handoffs,"
    " LATERAL (VALUES ('agent_replied', first_reply_at),"
    " ('conversation_resolved', resolved_at)) AS happened(kind, at) WHERE business_id = :b",
    "INSERT INTO checkins (business_id, customer_id, key, flow, priority, status, reason,"
    " due_at, send_at, created_at, updated_at) SELECT :b, customer_id, 'follow_up:' || id,"
    " 'follow_up', 0, 'finished', 'after_handoff', resolved_at + interval '3 days',"
    " resolved_at + interval '3 days', resolved_at, resolved_at FROM handoffs"
    " WHERE business_id = :b AND id % 3 = 0",
    "INSERT INTO survey_answers (business_id, customer_id, checkin_id, flow, question, value,"
    " answered_at) SELECT :b, customer_id, id, 'follow_up', 'solved',"
    " CASE WHEN random() < 0.8 THEN 'yes' ELSE 'no' END, due_at + interval '1 hour'"
    " FROM checkins WHERE business_id = :b AND flow = 'follow_up'",
)


async def run(handoffs: int, *, postgres: str = POSTGRES) -> None:
    database = f"kesher_performance_{uuid.uuid4().hex[:8]}"
    url = postgres.rsplit("/", 1)[0] + "/" + database
    await _admin_sql(postgres, f'CREATE DATABASE "{database}"')
    key = Fernet.generate_key().decode()
    runtime = build(Settings(_env_file=None, database_url=url, secret_key=SecretStr(key)))  # type: ignore[call-arg]
    try:
        await upgrade(url, secret_keys=[key])
        await runtime.start(worker=False)
        services = runtime.services
        now = services.clock.now()
        async with services.uow() as uow:
            business, _ = await create_business(uow, "bench", name="Bench", sandbox=True, now=now)
            for n in range(AGENTS):
                await create_agent(
                    uow, business, email=f"agent{n}@bench.test", name=f"Agent {n}",
                    password="correct horse battery", passwords=services.passwords, now=now,
                )  # fmt: skip
            await uow.commit()
        started = time.perf_counter()
        await seed_customers(runtime.engine, business.id, handoffs)
        async with runtime.engine.begin() as connection:
            for seed in SEEDS:
                await connection.execute(text(seed), {"b": business.id})
            await connection.execute(text("ANALYZE"))
            answers = (
                await connection.execute(text("SELECT count(*) FROM survey_answers"))
            ).scalar_one()
        print(f"seeded {handoffs} handoffs, {answers} follow-up answers in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        this_week = week_of(now, business.timezone)
        for weeks in (4, 52):
            first = this_week - timedelta(days=7 * (weeks - 1))
            times, rows = [], []
            for _ in range(5):
                started = time.perf_counter()
                rows = await performance.weekly(services, business, first=first, weeks=weeks)
                times.append(time.perf_counter() - started)
            print(f"{weeks} weeks: {len(rows)} agent-weeks, best {min(times) * 1000:.0f} ms,"
                  f" worst {max(times) * 1000:.0f} ms")  # fmt: skip
    finally:
        await runtime.stop()
        await _admin_sql(postgres, f'DROP DATABASE "{database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--handoffs", type=int, default=100_000)
    asyncio.run(run(parser.parse_args().handoffs))


if __name__ == "__main__":
    main()
