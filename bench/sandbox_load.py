"""Sandbox load benchmark: N messages through the whole pipeline over real HTTP on loopback.

Starts Kesher as a user would (`kesher serve`, or `kesher serve --no-worker` plus
`kesher worker` on PostgreSQL and Redis), sends messages from many customers at a fixed
concurrency, then checks every message was stored once and answered once, and reports
messages/s and p50/p99 latency of the webhook answer.

    .venv/bin/python -m bench.sandbox_load --messages 2000 --concurrency 32
    .venv/bin/python -m bench.sandbox_load --backend postgres-redis
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from redis.asyncio import Redis

KESHER = str(Path(sys.executable).with_name("kesher"))
POSTGRES = os.environ.get(
    "KESHER_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS = os.environ.get("KESHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _admin_sql(statement: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.exec_driver_sql(statement)
    await engine.dispose()


class Deployment:
    def __init__(self, backend: str, workers: int) -> None:
        self.backend = backend
        self.workers = workers
        self.directory = Path(tempfile.mkdtemp(prefix="kesher-bench-"))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KESHER_")}
        self.env["KESHER_LOG_LEVEL"] = "WARNING"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.database = ""

    def _start(self, *args: str) -> subprocess.Popen[bytes]:
        log = (self.directory / f"{args[0]}-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [KESHER, *args], cwd=self.directory, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    async def __aenter__(self) -> tuple[str, str]:
        args = []
        if self.backend == "postgres-redis":
            self.database = f"kesher_bench_{uuid.uuid4().hex[:8]}"
            await _admin_sql(f'CREATE DATABASE "{self.database}"')
            self.env["KESHER_DATABASE_URL"] = POSTGRES.rsplit("/", 1)[0] + "/" + self.database
            self.env["KESHER_REDIS_URL"] = REDIS
            redis = Redis.from_url(REDIS)
            await redis.flushdb()
            await redis.aclose()
            await asyncio.to_thread(
                subprocess.run,
                [KESHER, "db", "upgrade"],
                env=self.env,
                cwd=self.directory,
                check=True,
                capture_output=True,
            )
            args = ["--no-worker"]
        port = _port()
        self._start("serve", "--port", str(port), *args)
        for _ in range(self.workers if args else 0):
            self._start("worker")
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                try:
                    if (await client.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
        log = (self.directory / "serve-0.log").read_text()
        found = re.search(r"demo API key:\s+(ksh_\S+)", log)
        if not found:
            raise SystemExit(f"no demo key printed:\n{log}")
        return base, found.group(1)

    async def __aexit__(self, *_: object) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(10)
        if self.database:
            await _admin_sql(f'DROP DATABASE "{self.database}" WITH (FORCE)')
        shutil.rmtree(self.directory, ignore_errors=True)


async def _run(
    base: str, key: str, *, messages: int, concurrency: int, customers: int
) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    failures: list[str] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(messages):
        queue.put_nowait(n)

    async def sender(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            body = {
                "customer": f"bench-{n % customers}",
                "text": f"הודעה מספר {n} — message {n}",
                "message_id": f"bench-{n}",
            }
            started = time.perf_counter()
            response = await client.post(
                f"{base}/api/v1/demo/sandbox/messages", json=body, headers=headers
            )
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or len(response.json()["replies"]) != 1:
                failures.append(f"{response.status_code} {response.text[:200]}")

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(sender(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        sent = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            sent = 0
            for c in range(customers):
                got = await client.get(
                    f"{base}/api/v1/demo/sandbox/messages",
                    params={"customer": f"bench-{c}"},
                    headers=headers,
                )
                sent += len(got.json()["messages"])
            if sent >= messages:
                break
            await asyncio.sleep(0.5)
        stored = 0
        page = await client.get(
            f"{base}/api/v1/demo/customers", params={"limit": 500}, headers=headers
        )
        for customer in page.json()["customers"]:
            timeline = await client.get(
                f"{base}/api/v1/demo/customers/{customer['id']}/timeline",
                params={"limit": 1000},
                headers=headers,
            )
            stored += sum(
                1
                for i in timeline.json()["items"]
                if i["type"] == "message" and i["direction"] == "in"
            )
    latencies.sort()
    return {
        "messages": messages,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "messages_per_second": round(messages / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "failures": len(failures),
        "stored_inbound": stored,
        "replies_sent": sent,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres-redis", "both"], default="both")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument(
        "--workers", type=int, default=1, help="kesher worker processes (postgres-redis)"
    )
    options = parser.parse_args()
    backends = ["sqlite", "postgres-redis"] if options.backend == "both" else [options.backend]
    for backend in backends:
        async with Deployment(backend, options.workers) as (base, key):
            result = await _run(
                base,
                key,
                messages=options.messages,
                concurrency=options.concurrency,
                customers=options.customers,
            )
        print(json.dumps({"backend": backend, **result}, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
