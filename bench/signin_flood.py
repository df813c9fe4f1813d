"""Does a sign-in flood slow everyone else down? `/healthz` and a sandbox delivery (the
webhooks' path: parse, record, decide, commit) timed while nobody, then 2 and 16 attackers try
passwords at the inbox's login.

Kesher runs as deployed: `kesher serve --no-worker` and one `kesher worker` on a fresh
PostgreSQL database (dropped at the end) and Redis (KESHER_BENCH_REDIS_URL, flushed), with
the standard argon2 parameters. Each attacker tries `--rate` passwords a second (fewer if the
answers come slower), each from an address and at an e-mail of its own (X-Forwarded-For, which
Kesher trusts from loopback), so no throttle or lockout stops them: every attempt costs a hash.
`--source DIR` runs another checkout of Kesher's code (`git archive <commit> | tar -x -C DIR`),
for the figures before a change.

    .venv/bin/python -m bench.signin_flood [--attackers 0,2,16] [--seconds 20] [--rate 5]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import aiohttp
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from bench.harness import KESHER, POSTGRES, REDIS, Processes, free_port, percentile, wait_until_up

SLUG = "bench"
AGENT = "agent@bench.test"
PASSWORD = "correct horse battery"
PROBE_EVERY = 0.05
DELIVERY_EVERY = 0.2


async def _sql(statement: str) -> None:
    engine = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.exec_driver_sql(statement)
    await engine.dispose()


async def _flush_redis() -> None:
    redis = Redis.from_url(REDIS)
    await redis.flushdb()
    await redis.aclose()


def _timed(samples: list[float]) -> Callable[[float], None]:
    return lambda started: samples.append((time.perf_counter() - started) * 1000)


async def _probe(
    session: aiohttp.ClientSession, base: str, samples: list[float], stop: asyncio.Event
) -> None:
    """`/healthz` every PROBE_EVERY seconds."""
    record = _timed(samples)
    while not stop.is_set():
        started = time.perf_counter()
        async with session.get(f"{base}/healthz") as answer:
            await answer.read()
        record(started)
        await asyncio.sleep(PROBE_EVERY)


async def _deliver(
    session: aiohttp.ClientSession,
    base: str,
    key: str,
    samples: list[float],
    stop: asyncio.Event,
) -> None:
    """A customer message every DELIVERY_EVERY seconds, each from a customer of its own."""
    record = _timed(samples)
    for n in itertools.count():
        if stop.is_set():
            return
        started = time.perf_counter()
        async with session.post(
            f"{base}/api/v1/{SLUG}/sandbox/messages",
            json={"customer": f"c-{uuid.uuid4().hex[:10]}", "text": f"hello, order {n} is late"},
            headers={"Authorization": f"Bearer {key}"},
        ) as answer:
            await answer.read()
            if answer.status != 200:
                raise SystemExit(f"the delivery was answered {answer.status}")
        record(started)
        await asyncio.sleep(DELIVERY_EVERY)


async def _attack(
    session: aiohttp.ClientSession,
    base: str,
    rate: float,
    answers: Counter[int],
    stop: asyncio.Event,
) -> None:
    """Wrong passwords at `rate` a second, each from a new address at a new e-mail."""
    loop = asyncio.get_running_loop()
    async with session.get(f"{base}/inbox/login") as first:
        page = await first.text()
    for n in itertools.count():
        if stop.is_set():
            return
        due = loop.time() + 1 / rate
        address = f"10.{n % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
        # Every answer carries the form again, with a new CSRF token for the next attempt.
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found, page
        async with session.post(
            f"{base}/inbox/login",
            data={
                "business": SLUG,
                "email": f"guess-{uuid.uuid4().hex[:8]}@bench.test",
                "password": f"guess {n}",
                "csrf": found.group(1),
            },
            headers={"X-Forwarded-For": address},
            allow_redirects=False,
        ) as answer:
            page = await answer.text()
            answers[answer.status] += 1
        await asyncio.sleep(max(0.0, due - loop.time()))


async def _phase(base: str, key: str, attackers: int, seconds: float, rate: float) -> str:
    health: list[float] = []
    deliveries: list[float] = []
    answers: Counter[int] = Counter()
    stop = asyncio.Event()
    # Each attacker its own connection and cookies, as separate clients would have.
    sessions = [
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        for _ in range(attackers + 2)
    ]
    try:
        tasks = [
            asyncio.create_task(_probe(sessions[0], base, health, stop)),
            asyncio.create_task(_deliver(sessions[1], base, key, deliveries, stop)),
            *(asyncio.create_task(_attack(s, base, rate, answers, stop)) for s in sessions[2:]),
        ]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)
    finally:
        for session in sessions:
            await session.close()
    tried = sum(answers.values())
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(answers.items()))
    return (
        f"| {attackers} | {percentile(health, 0.5):,.1f} | {percentile(health, 0.99):,.1f}"
        f" | {percentile(deliveries, 0.5):,.1f} | {percentile(deliveries, 0.99):,.1f}"
        f" | {tried / seconds:.1f} ({statuses or '—'}) |"
    )


async def main(options: argparse.Namespace) -> None:
    database = f"kesher_bench_{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KESHER_")}
    env |= {
        "KESHER_DATABASE_URL": POSTGRES.rsplit("/", 1)[0] + "/" + database,
        "KESHER_REDIS_URL": REDIS,
        "KESHER_LOG_LEVEL": "WARNING",
        "KESHER_DEMO": "false",
        "KESHER_ENCODER": "false",
    }
    if options.source:
        env["PYTHONPATH"] = options.source
    directory = Path(tempfile.mkdtemp(prefix="kesher-signin-"))
    processes = Processes(directory, env)

    def kesher(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [KESHER, *args], env=env, cwd=directory, input=stdin, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"kesher {' '.join(args[:2])}: {done.stdout}{done.stderr}")
        return done.stdout

    await _sql(f'CREATE DATABASE "{database}"')
    await _flush_redis()
    try:
        kesher("db", "upgrade")
        made = json.loads(kesher("business", "create", "--slug", SLUG, "--name", "Bench",
                                 "--sandbox", "--json"))  # fmt: skip
        kesher("agent", "create", "--business", SLUG, "--email", AGENT, "--name", "Agent",
               "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
        port = free_port()
        web = processes.start("serve", KESHER, "serve", "--no-worker", "--port", str(port))
        processes.start("worker", KESHER, "worker")
        base = f"http://127.0.0.1:{port}"
        await wait_until_up(f"{base}/healthz", web, processes.logs)
        print(f"code: {options.source or 'this checkout'}; {options.seconds:.0f} s a phase,"
              f" attackers at {options.rate:g} attempts/s each")  # fmt: skip
        print("| attackers | /healthz p50 (ms) | p99 | delivery p50 (ms) | p99 |"
              " sign-in attempts answered /s (by status) |")  # fmt: skip
        print("|---|---|---|---|---|---|")
        for attackers in options.attackers:
            print(await _phase(base, made["api_key"], attackers, options.seconds, options.rate))
    finally:
        processes.stop_all()
        await _sql(f'DROP DATABASE "{database}" WITH (FORCE)')
        await _flush_redis()
        shutil.rmtree(directory, ignore_errors=True)


def _counts(value: str) -> list[int]:
    return [int(part) for part in value.split(",")]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attackers", type=_counts, default=[0, 2, 16])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=5.0, help="attempts a second per attacker")
    parser.add_argument("--source", help="a checkout of Kesher's code to run instead of this one")
    given = parser.parse_args()
    if given.source:
        given.source = os.path.abspath(given.source)
    asyncio.run(main(given))
    sys.exit(0)
