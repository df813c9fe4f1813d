"""The inbox's list query at scale: a business with N open conversations (100,000 by default)
on PostgreSQL, and how long the inbox's reads take through the real repository: the first
page of a status's view, with each filter, the tabs' counts, and a new conversation's place
in the queue.

    .venv/bin/python -m bench.inbox_list --conversations 100000

Every conversation has a customer, an identity and one message from the customer; a tenth
are assigned, a tenth labelled. Each read is timed `--repeat` times after one warm-up; the
table gives the median and the slowest. Then PostgreSQL's plan of the search by words
(EXPLAIN ANALYZE), which shows the trigram indexes read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.harness import _admin_sql, seed_customers
from bot.domain import ChannelName, ConversationStatus, QueueFilter
from storage.credentials import CredentialCipher
from storage.database import create_engine, create_sessionmaker
from storage.repositories.conversations import queue_statement
from storage.schema import upgrade
from storage.unit_of_work import SqlUnitOfWork

POSTGRES = os.environ.get(
    "KESHER_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


SEARCH = QueueFilter(search="order number 4242")


async def _seed(engine: AsyncEngine, business_id: int, agent_id: int) -> None:
    """An open conversation for every identity, its last message a minute apart, a tenth
    assigned and a tenth labelled, and the customer's one message in each."""
    seeds = (
        "INSERT INTO conversations (id, business_id, customer_id, identity_id, mode, is_open,"
        " started_at, last_message_at, status, status_at, auto_answered, labels, unread,"
        " assignee_id) SELECT gen_random_uuid(), :b, customer_id, id, 'bot', true,"
        " now() - id * interval '1 minute', now() - id * interval '1 minute', 'open',"
        " now() - id * interval '1 minute', false,"
        " CASE WHEN id % 10 = 3 THEN ',vip,' ELSE '' END, (id % 3)::int,"
        " CASE WHEN id % 10 = 7 THEN CAST(:agent AS integer) END FROM channel_identities WHERE business_id = :b",
        "INSERT INTO messages (business_id, conversation_id, customer_id, direction, channel,"
        " text, choices, status, created_at, status_at) SELECT :b, c.id, c.customer_id, 'in',"
        " 'sandbox', 'where is my order number ' || i.address, '[]', 'received',"
        " c.last_message_at, c.last_message_at FROM conversations c JOIN channel_identities i"
        " ON i.id = c.identity_id WHERE c.business_id = :b",
    )
    async with engine.begin() as connection:
        for seed in seeds:
            await connection.execute(text(seed), {"b": business_id, "agent": agent_id})
        await connection.execute(text("ANALYZE"))


async def _timed(run: Callable[[], Awaitable[object]], repeat: int) -> tuple[float, float]:
    await run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


async def run(
    conversations: int, repeat: int, *, postgres: str = POSTGRES
) -> list[tuple[str, float, float]]:
    database = f"kesher_inbox_{uuid.uuid4().hex[:8]}"
    url = postgres.rsplit("/", 1)[0] + "/" + database
    await _admin_sql(postgres, f'CREATE DATABASE "{database}"')
    engine = create_engine(url)
    try:
        await upgrade(url)
        sessions = create_sessionmaker(engine)
        # No channel account is read here; the cipher is what every unit of work carries.
        cipher = CredentialCipher([Fernet.generate_key().decode()])
        now = datetime.now(UTC)
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
            agent_id = (
                await connection.execute(
                    text(
                        "INSERT INTO agents (business_id, email, name, password_hash, role,"
                        " language, capacity, online, created_at) VALUES"
                        " (:b, 'noa@bench.test', 'Noa', 'x', 'agent', 'he', 5, true, now())"
                        " RETURNING id"
                    ),
                    {"b": business_id},
                )
            ).scalar_one()
        started = time.perf_counter()
        await seed_customers(engine, business_id, conversations)
        await _seed(engine, business_id, agent_id)
        print(
            f"seeded {conversations:,} open conversations in {time.perf_counter() - started:.1f} s"
        )

        def listing(chosen: QueueFilter) -> Callable[[], Awaitable[object]]:
            async def read() -> object:
                async with SqlUnitOfWork(sessions, cipher=cipher) as uow:
                    return await uow.conversations.queue(business_id, chosen, limit=50)

            return read

        async def counts() -> object:
            async with SqlUnitOfWork(sessions, cipher=cipher) as uow:
                return await uow.conversations.counts(business_id)

        async def ahead() -> object:
            async with SqlUnitOfWork(sessions, cipher=cipher) as uow:
                return await uow.conversations.ahead_of(business_id, waiting_since=now)

        reads: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("open, first page of 50", listing(QueueFilter())),
            ("open, mine", listing(QueueFilter(assignee=agent_id))),
            ("open, unassigned", listing(QueueFilter(unassigned=True))),
            ("open, label vip", listing(QueueFilter(label="vip"))),
            ("open, channel sandbox", listing(QueueFilter(channel=ChannelName.SANDBOX))),
            ("pending (empty)", listing(QueueFilter(status=ConversationStatus.PENDING))),
            ("search a customer's words", listing(SEARCH)),
            ("tabs' counts and unread", counts),
            ("place in the queue", ahead),
        ]
        first = await listing(QueueFilter())()
        if not isinstance(first, list) or len(first) != min(50, conversations):
            raise RuntimeError("the first page does not hold the seeded conversations")
        timed = [(name, *await _timed(read, repeat)) for name, read in reads]
        plan = queue_statement(business_id, SEARCH, limit=50).compile(
            engine.sync_engine, compile_kwargs={"literal_binds": True}
        )
        async with engine.connect() as connection:
            explained = await connection.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF) {plan}"))
            print("\n".join(line for (line,) in explained))
        return timed
    finally:
        await engine.dispose()
        await _admin_sql(postgres, f'DROP DATABASE "{database}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    arguments = parser.parse_args()
    results = asyncio.run(run(arguments.conversations, arguments.repeat))
    print(f"\n| read ({arguments.conversations:,} open) | median | slowest |\n|---|---|---|")
    for name, median, slowest in results:
        print(f"| {name} | {median:.1f} ms | {slowest:.1f} ms |")


if __name__ == "__main__":
    main()
