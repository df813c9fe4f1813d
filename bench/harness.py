"""What the channel benchmarks share: a fresh Kesher on PostgreSQL and Redis in real processes,
the fake provider APIs and baselines in their own processes, the load, and the table.

A deployment is a new database `kesher_bench_<random>` on the local PostgreSQL
(KESHER_TEST_POSTGRES_URL's server; dropped at the end), a Redis database (KESHER_BENCH_REDIS_URL,
by default database 12) flushed at the start and the end, one `kesher serve --no-worker` per web
port (one unless asked for more) and as many `kesher worker` processes as a scenario asks for,
and the one `kesher scheduler` (its
minute's sweep sends again what a provider refused with 429), all with KESHER_LOG_LEVEL=WARNING.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.fernet import Fernet
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.bootstrap import Runtime, build
from app.settings import Settings
from bot.accounts.businesses import create_business
from bot.domain import ChannelName
from bot.outbound.replies import queue_sends
from bot.ports import Clock
from storage.schema import upgrade

KESHER = str(Path(sys.executable).with_name("kesher"))
POSTGRES = os.environ.get(
    "KESHER_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS = os.environ.get("KESHER_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
SLUG = "bench"
# How long the bench waits for the next message to arrive before it calls the rest lost: past
# the scheduler's next sweep, which sends again what was refused.
QUIET_SECONDS = 90.0


TEXTS = (
    "שלום, רציתי לשאול מתי ההזמנה שלי תגיע",
    "The coffee was great, thanks!",
    "השירות היה מצוין, תודה רבה",
    "I waited 40 minutes and nobody answered",
    "אפשר לשנות את התור ליום חמישי?",
)
"""What the bench's customers write, in turn."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _admin_sql(postgres: str, statement: str) -> None:
    engine = create_async_engine(postgres, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.exec_driver_sql(statement)
    await engine.dispose()


@dataclass
class Result:
    """One row of the table; `p99_ms` is None where a latency means nothing (outbound)."""

    scenario: str
    messages: int
    seconds: float
    rate: float
    p99_ms: float | None
    limited: int
    lost: int
    duplicated: int
    # Seconds after the first accepted message at which each 429 came.
    limited_at: tuple[float, ...] = ()


def table(results: Sequence[Result]) -> str:
    lines = [
        "| scenario | messages | seconds | rate (/s) | p99 | 429s | lost | duplicated |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        p99 = f"{r.p99_ms:,.0f} ms" if r.p99_ms is not None else "—"
        lines.append(
            f"| {r.scenario} | {r.messages:,} | {r.seconds:.1f} | {r.rate:,.1f} | {p99}"
            f" | {r.limited} | {r.lost} | {r.duplicated} |"
        )
    return "\n".join(lines)


def summary(results: Sequence[Result], *, baseline: str, called: str, limit: float) -> str:
    """The table, Kesher's inbound throughput against `baseline`'s (`called` so), each outbound run's
    share of the provider's `limit` with the moments of any 429."""
    lines = [table(results)]
    by_name = {r.scenario.split(",")[0]: r for r in results}
    kesher, other = by_name.get("Kesher inbound"), by_name.get(baseline)
    if kesher and other:
        lines.append(f"\nKesher / {called} throughput: {kesher.rate / other.rate:.2f}")
    for r in results:
        if r.scenario.startswith("Kesher outbound"):
            lines.append(f"{r.scenario}: {r.rate / limit:.1%} of the limit")
            if r.limited_at:
                lines.append(f"  429s at {', '.join(f'{at} s' for at in r.limited_at)}")
    return "\n".join(lines)


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * share) - 1)]


async def seed_customers(
    engine: AsyncEngine,
    business_id: int,
    count: int,
    *,
    channel: str = "sandbox",
    first_address: int = 1,
) -> None:
    """`count` customers, each reachable on `channel` at an address of its own (counting up
    from `first_address`), in one statement."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "WITH made AS (INSERT INTO customers (id, business_id, name, language, timezone,"
                " attributes, opted_out, created_at) SELECT gen_random_uuid(), :b, g::text, 'en',"
                " 'Asia/Jerusalem', '{}'::jsonb, false, now()"
                " FROM generate_series(CAST(:first AS bigint), CAST(:first AS bigint) + :n - 1) g"
                " RETURNING id, name)"
                " INSERT INTO channel_identities (business_id, customer_id, channel, address,"
                " reachable, created_at) SELECT :b, id, :channel, name, true, now() FROM made"
            ),
            {"b": business_id, "n": count, "first": first_address, "channel": channel},
        )
        # Statistics, as autovacuum would have gathered them long before a real business's
        # customers fall due: without them the first lookups by customer scan every identity.
        await connection.execute(text("ANALYZE customers, channel_identities"))


async def seed_history(engine: AsyncEngine, business_id: int) -> None:
    """A conversation 20 days old for every identity of the business, as customers who have
    talked before have had: the customer's message, the bot's answer and its outbox row. Then
    statistics on every table as autovacuum keeps them.

    Without a history the messages and outbox tables start empty and grow faster than
    autovacuum analyzes them, and every plan PostgreSQL caches early (asyncpg's prepared
    statements, the foreign-key checks) scans them whole until it does: a young deployment's
    first minute, not the steady state of a business with customers."""
    seeds = (
        "INSERT INTO conversations (id, business_id, customer_id, identity_id, mode, is_open,"
        " started_at, last_message_at) SELECT gen_random_uuid(), :b, customer_id, id, 'bot',"
        " true, now() - interval '20 days', now() - interval '20 days' FROM channel_identities"
        " WHERE business_id = :b",
        "INSERT INTO messages (business_id, conversation_id, customer_id, direction, channel,"
        " text, choices, status, created_at, status_at) SELECT :b, c.id, c.customer_id,"
        " said.direction, i.channel, said.text, '[]', said.status, now() - interval '20 days',"
        " now() - interval '20 days' FROM conversations c JOIN channel_identities i ON"
        " i.id = c.identity_id CROSS JOIN (VALUES ('in', 'hi', 'received'),"
        " ('out', 'hello!', 'delivered')) AS said (direction, text, status)"
        " WHERE c.business_id = :b",
        "INSERT INTO outbox (business_id, message_id, idempotency_key, kind, status, attempts,"
        " template_only, next_attempt_at, created_at) SELECT :b, id, 'history:' || id, 'reply',"
        " 'sent', 1, false, created_at, created_at FROM messages WHERE business_id = :b"
        " AND direction = 'out'",
    )
    async with engine.begin() as connection:
        for seed in seeds:
            await connection.execute(text(seed), {"b": business_id})
        await connection.execute(text("ANALYZE"))


class Processes:
    """Child processes with their output in one folder; stopped in reverse order."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.env = env
        self.running: list[subprocess.Popen[bytes]] = []
        self._count = 0

    def start(
        self, name: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        self._count += 1
        with (self.directory / f"{self._count:02d}-{name}.log").open("wb") as log:
            process = subprocess.Popen(
                list(args),
                cwd=Path(__file__).resolve().parent.parent,
                env={**self.env, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if process in self.running:
            self.running.remove(process)

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL, as the machine's OOM killer or a pulled plug would."""
        process.kill()
        process.wait(10)
        self.running.remove(process)

    def stop_all(self) -> None:
        for process in reversed(list(self.running)):
            self.stop(process)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.directory.glob("*.log"))
        )


async def wait_until_up(
    url: str, process: subprocess.Popen[bytes], logs: Callable[[], str]
) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            if process.poll() is not None:
                raise SystemExit(f"{url} exited with {process.returncode}:\n{logs()}")
            try:
                async with session.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not answer:\n{logs()}")


class FakeApi:
    """A fake provider API from bench.channel_servers, in its own process."""

    def __init__(self, processes: Processes, kind: str, *options: str) -> None:
        self.processes = processes
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = processes.start(
            kind,
            sys.executable,
            "-m",
            "bench.channel_servers",
            kind,
            "--port",
            str(self.port),
            *options,
        )

    async def __aenter__(self) -> FakeApi:
        await wait_until_up(f"{self.url}/_bench/count", self.process, self.processes.logs)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.processes.stop(self.process)

    async def count(self) -> tuple[int, int]:
        found = await self.counts()
        return int(found["sent"]), int(found["limited"])

    async def faulted(self) -> int:
        """Sends failed on purpose (`fail`)."""
        return int((await self.counts())["faulted"])

    async def counts(self) -> dict[str, int]:
        """The fake's own counts (GET /_bench/count)."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.url}/_bench/count") as got,
        ):
            found: dict[str, int] = await got.json()
        return found

    async def calls(self) -> tuple[list[tuple[float, str]], list[tuple[float, str]]]:
        """(when, to) of each message accepted, and of each refused with 429."""
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.url}/_bench/calls") as got,
        ):
            found = await got.json()
        return (
            [(float(at), str(to)) for at, to in found["sent"]],
            [(float(at), str(to)) for at, to in found["refused"]],
        )

    async def fail(self, rate: float) -> None:
        """From now on `rate` of the sends fail (tests/fakes/faults.py); 0 stops it."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.url}/_bench/faults", json={"rate": rate}) as got,
        ):
            got.raise_for_status()

    async def delay(self, seconds: float) -> None:
        """The Ollama fake answers `seconds` late from now on; 0 stops it."""
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.url}/_bench/delay", json={"seconds": seconds}) as got,
        ):
            got.raise_for_status()

    async def wait_for(self, expected: int) -> None:
        """Until `expected` messages came, or none came for QUIET_SECONDS."""
        seen, since = -1, time.monotonic()
        while True:
            sent, _ = await self.count()
            if sent >= expected:
                return
            if sent != seen:
                seen, since = sent, time.monotonic()
            elif time.monotonic() - since > QUIET_SECONDS:
                return
            await asyncio.sleep(0.25)


class Deployment:
    """Kesher on a fresh PostgreSQL database and Redis, as real `kesher` processes; `webs` web
    processes on as many ports (the first is the public URL), the bench's own runtime on `clock`."""

    def __init__(
        self,
        directory: Path,
        *,
        postgres: str = POSTGRES,
        redis: str = REDIS,
        webs: int = 1,
        clock: Clock | None = None,
        **env: str,
    ) -> None:
        self.database = f"kesher_bench_{uuid.uuid4().hex[:8]}"
        self.database_url = postgres.rsplit("/", 1)[0] + "/" + self.database
        self.postgres, self.redis = postgres, redis
        self.ports = [free_port() for _ in range(webs)]
        self.port = self.ports[0]
        self.base = f"http://127.0.0.1:{self.port}"
        self.clock = clock
        self.secret_key = Fernet.generate_key().decode()
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("KESHER_")}
        base_env |= {
            "KESHER_DATABASE_URL": self.database_url,
            "KESHER_REDIS_URL": redis,
            "KESHER_SECRET_KEY": self.secret_key,
            "KESHER_PUBLIC_URL": self.base,
            "KESHER_LOG_LEVEL": "WARNING",
            "KESHER_DEMO": "false",
            **env,
        }
        self.processes = Processes(directory, base_env)
        self.runtime: Runtime | None = None
        self.business_id = 0

    async def __aenter__(self) -> Deployment:
        await _admin_sql(self.postgres, f'CREATE DATABASE "{self.database}"')
        await _flush_redis(self.redis)
        self.processes.start("scheduler", KESHER, "scheduler")
        await upgrade(self.database_url, secret_keys=[self.secret_key])
        # The bench's own runtime, as a script of the business's would have: it creates the
        # business and puts send tasks on the queue.
        self.runtime = build(
            Settings(
                _env_file=None,
                database_url=self.database_url,
                redis_url=SecretStr(self.redis),
                secret_key=SecretStr(self.secret_key),
            ),  # type: ignore[call-arg]
            clock=self.clock,
        )
        await self.runtime.start()
        services = self.runtime.services
        async with services.uow() as uow:
            business, _ = await create_business(
                uow, SLUG, name="Bench", sandbox=False, now=services.clock.now()
            )
            await uow.commit()
        self.business_id = business.id
        return self

    async def __aexit__(self, *_: object) -> None:
        self.processes.stop_all()
        if self.runtime is not None:
            await self.runtime.stop()
        await _admin_sql(self.postgres, f'DROP DATABASE "{self.database}" WITH (FORCE)')
        await _flush_redis(self.redis)

    @property
    def engine(self) -> AsyncEngine:
        assert self.runtime is not None
        return self.runtime.engine

    def kesher(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [KESHER, *args],
            env={**self.processes.env, **(env or {})},
            cwd=self.processes.directory,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise SystemExit(f"kesher {' '.join(args[:2])} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    async def serve(self, workers: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
        """`kesher serve --no-worker` on each port and `workers` workers, once all are ready."""
        webs = [self.web(port, env) for port in self.ports]
        started = await self.workers(workers, env, ready=False)
        for port, web in zip(self.ports, webs, strict=True):
            await self.until_up(port, web)
        return [*webs, *await self.workers(0, env, started=started)]

    def web(self, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
        return self.processes.start(
            "serve", KESHER, "serve", "--no-worker", "--port", str(port), env=env
        )

    async def until_up(self, port: int, web: subprocess.Popen[bytes]) -> None:
        await wait_until_up(f"http://127.0.0.1:{port}/healthz", web, self.processes.logs)

    async def workers(
        self,
        count: int,
        env: dict[str, str],
        *,
        ready: bool = True,
        started: Sequence[subprocess.Popen[bytes]] = (),
    ) -> list[subprocess.Popen[bytes]]:
        """Start `count` workers; with `ready`, wait until each of them and of `started` waits
        on the empty task queue."""
        started = [
            *started,
            *(self.processes.start("worker", KESHER, "worker", env=env) for _ in range(count)),
        ]
        for _ in range(600):
            if not ready or await _waiting_readers(self.redis) >= len(started):
                return started
            if any(process.poll() is not None for process in started):
                break
            await asyncio.sleep(0.1)
        raise SystemExit(f"the workers did not start:\n{self.processes.logs()}")

    async def telegram_secret(self) -> str:
        """The webhook secret Telegram is told to send, as the bench's business keeps it."""
        assert self.runtime is not None
        async with self.runtime.services.uow() as uow:
            account = await uow.accounts.get(self.business_id, ChannelName.TELEGRAM)
        assert account is not None
        return account.secret("webhook_secret")

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as connection:
            return (await connection.execute(text(sql), params)).scalar_one()

    async def rows(self, sql: str, **params: Any) -> list[Row[Any]]:
        async with self.engine.connect() as connection:
            return list(await connection.execute(text(sql), params))

    async def execute(self, *statements: str, **params: Any) -> None:
        async with self.engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement), params)

    async def seed_outbound(
        self, channel: str, address_sql: str, count: int, tag: str
    ) -> list[int]:
        """`count` customers reachable on `channel` at `address_sql` (SQL over g, 1..count), each
        with one reply waiting in the outbox; the outbox ids."""
        params = {"b": self.business_id, "n": count, "channel": channel, "tag": tag}
        await self.execute(
            "INSERT INTO customers (id, business_id, external_id, name, language, timezone,"
            " attributes, opted_out, created_at) SELECT gen_random_uuid(), :b, :tag || '-' || g,"
            " 'Customer ' || g, 'he', 'Asia/Jerusalem', '{}'::jsonb, false, now()"
            " FROM generate_series(1, :n) g",
            "INSERT INTO channel_identities (business_id, customer_id, channel, address,"
            f" reachable, created_at, last_inbound_at) SELECT :b, c.id, :channel, {address_sql},"
            " true, now(), now() FROM customers c CROSS JOIN LATERAL"
            " (SELECT split_part(c.external_id, '-', 2)::int AS g) n"
            " WHERE c.business_id = :b AND c.external_id LIKE :tag || '-%'",
            "INSERT INTO conversations (id, business_id, customer_id, identity_id, mode, is_open,"
            " started_at, last_message_at) SELECT gen_random_uuid(), :b, i.customer_id, i.id,"
            " 'bot', true, now(), now() FROM channel_identities i JOIN customers c"
            " ON c.id = i.customer_id WHERE c.external_id LIKE :tag || '-%'",
            "INSERT INTO messages (business_id, conversation_id, customer_id, direction, channel,"
            " text, choices, status, created_at, status_at) SELECT :b, v.id, v.customer_id, 'out',"
            " :channel, 'תודה שכתבת לנו! Thanks for writing to us.', '[]'::jsonb, 'queued', now(),"
            " now() FROM conversations v JOIN customers c ON c.id = v.customer_id"
            " WHERE c.external_id LIKE :tag || '-%'",
            "INSERT INTO outbox (business_id, message_id, idempotency_key, kind, status, attempts,"
            " template_only, next_attempt_at, created_at) SELECT :b, m.id, :tag || ':' || m.id,"
            " 'reply', 'pending', 0, false, now(), now() FROM messages m JOIN customers c"
            " ON c.id = m.customer_id WHERE c.external_id LIKE :tag || '-%'",
            **params,
        )
        found = await self.rows(
            "SELECT o.id FROM outbox o JOIN messages m ON m.id = o.message_id"
            " JOIN customers c ON c.id = m.customer_id"
            " WHERE c.external_id LIKE :tag || '-%' ORDER BY o.id",
            tag=tag,
        )
        return [int(row[0]) for row in found]

    async def enqueue_sends(self, outbox_ids: Sequence[int]) -> None:
        """Put a send task for each row on the Redis queue, as the pipeline does after a commit."""
        assert self.runtime is not None
        for start in range(0, len(outbox_ids), 500):
            await queue_sends(list(outbox_ids[start : start + 500]), self.runtime.services)


async def _waiting_readers(url: str) -> int:
    """Connections to the bench's Redis database blocked reading the task queue."""
    redis = Redis.from_url(url)
    try:
        clients = await redis.client_list()
    finally:
        await redis.aclose()
    database = str(redis.connection_pool.connection_kwargs.get("db", 0))
    return sum(
        1
        for c in clients
        if c.get("cmd") == "xreadgroup" and "b" in c.get("flags", "") and c.get("db") == database
    )


async def _flush_redis(url: str) -> None:
    redis = Redis.from_url(url)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


async def post_all(
    requests: Sequence[tuple[str, bytes, dict[str, str]]], *, concurrency: int
) -> tuple[list[float], list[float], list[str]]:
    """POST each (url, body, headers) with `concurrency` at a time: when each started and was
    answered (wall clock), and the failures."""
    started = [0.0] * len(requests)
    answered = [0.0] * len(requests)
    failures: list[str] = []
    next_index = iter(range(len(requests)))
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=120)

    async def poster(session: aiohttp.ClientSession) -> None:
        for index in next_index:
            url, body, headers = requests[index]
            started[index] = time.time()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        failures.append(f"{response.status} {(await response.text())[:200]}")
            except aiohttp.ClientError as error:
                failures.append(repr(error))
            answered[index] = time.time()

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(poster(session) for _ in range(concurrency)))
    return started, answered, failures


def inbound_result(
    scenario: str,
    *,
    started: Sequence[float],
    addresses: Sequence[str],
    replies: Sequence[tuple[float, str]],
    limited: int,
) -> Result:
    """Rate and p99 from each message's first POST to its reply reaching the fake API."""
    posted = dict(zip(addresses, started, strict=True))
    first_reply: dict[str, float] = {}
    counts = Counter(to for _, to in replies if to in posted)
    for at, to in sorted(replies):
        if to in posted:
            first_reply.setdefault(to, at)
    latencies = [first_reply[a] - posted[a] for a in first_reply]
    end = max(first_reply.values(), default=max(started))
    seconds = end - min(started)
    return Result(
        scenario=scenario,
        messages=len(addresses),
        seconds=seconds,
        rate=len(first_reply) / seconds,
        p99_ms=percentile(latencies, 0.99) * 1000 if latencies else None,
        limited=limited,
        lost=len(addresses) - len(first_reply),
        duplicated=sum(n - 1 for n in counts.values()),
    )


def answered_result(
    scenario: str, *, started: Sequence[float], answered: Sequence[float], failures: int
) -> Result:
    """For a baseline that sends nothing: rate and p99 from POST to its answer."""
    seconds = max(answered) - min(started)
    latencies = [a - s for s, a in zip(started, answered, strict=True)]
    return Result(
        scenario=scenario,
        messages=len(started),
        seconds=seconds,
        rate=(len(started) - failures) / seconds,
        p99_ms=percentile(latencies, 0.99) * 1000,
        limited=0,
        lost=failures,
        duplicated=0,
    )


def outbound_result(
    scenario: str,
    *,
    addresses: set[str],
    sent: Sequence[tuple[float, str]],
    refused: Sequence[tuple[float, str]],
) -> Result:
    """Rate from the first message the fake API accepted to the last."""
    ours = sorted((at, to) for at, to in sent if to in addresses)
    counts = Counter(to for _, to in ours)
    span = ours[-1][0] - ours[0][0] if len(ours) > 1 else 0.0
    first = ours[0][0] if ours else 0.0
    return Result(
        scenario=scenario,
        messages=len(addresses),
        seconds=span,
        rate=(len(ours) - 1) / span if span else 0.0,
        p99_ms=None,
        limited=len(refused),
        lost=len(addresses) - len(counts),
        duplicated=sum(n - 1 for n in counts.values()),
        limited_at=tuple(sorted(round(at - first, 2) for at, _ in refused)),
    )


@contextlib.contextmanager
def workdir(keep: bool) -> Any:
    directory = Path(tempfile.mkdtemp(prefix="kesher-bench-"))
    try:
        yield directory
    finally:
        if keep:
            print(f"logs kept in {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


def workers_list(value: str) -> list[int]:
    return [int(part) for part in value.split(",") if part.strip()]
