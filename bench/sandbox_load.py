"""Sandbox load benchmark: N messages through the whole pipeline over real HTTP on loopback.

Starts Kesher as a user would (`kesher serve`, or `kesher serve --no-worker` plus
`kesher worker` on PostgreSQL and Redis), sends messages from many customers at a fixed
concurrency, then checks every message was stored once and answered once, and reports
messages/s and p50/p99 latency of the webhook answer.

With `--unsure-share`, that share of the messages are ones the fast detector is unsure of:
the worker gives each the encoder's opinion, and the benchmark reports the second opinion's
latency (from the webhook's answer until the message's reasons show the encoder's score,
polled on the timeline) and each process's peak resident memory.

    .venv/bin/python -m bench.sandbox_load --messages 2000 --concurrency 32
    .venv/bin/python -m bench.sandbox_load --backend postgres-redis
    .venv/bin/python -m bench.sandbox_load --backend postgres-redis --unsure-share 0.33
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
from cryptography.fernet import Fernet
from redis.asyncio import Redis

KESHER = str(Path(sys.executable).with_name("kesher"))
POSTGRES = os.environ.get(
    "KESHER_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS = os.environ.get("KESHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
# Messages in or near the fast detector's uncertain band at `balanced`; the number added to
# each moves its score a little, so only those that land in the band are timed.
UNSURE = (
    "still waiting for my refund ({n})",
    "this is the second time I write about it ({n})",
    "למה אתם סגורים בשישי? ({n})",
    "עדיין מחכה להחזר כספי ({n})",
)
POLL_SECONDS = 0.05


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
            self.env["KESHER_SECRET_KEY"] = Fernet.generate_key().decode()
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


def _text(n: int, unsure_share: float) -> str:
    """Every message's text; an even spread of them in the uncertain band."""
    if unsure_share and int(n * unsure_share) != int((n + 1) * unsure_share):
        return UNSURE[n % len(UNSURE)].format(n=n)
    return f"הודעה מספר {n} — message {n}"


async def _watch_reviews(
    client: httpx.AsyncClient,
    base: str,
    headers: dict[str, str],
    pending: dict[str, tuple[str, float]],  # unsure text -> (customer id, answered at)
    seen: list[float],
    sending: asyncio.Event,
) -> None:
    """Poll the timelines of customers with an unsure message not yet reviewed; the time from
    the webhook's answer until the encoder's score shows in the message's reasons."""
    deadline = None
    while pending or sending.is_set():
        if not sending.is_set():
            deadline = deadline or time.monotonic() + 60
            if time.monotonic() > deadline:
                return
        for text, (customer_id, answered) in list(pending.items()):
            timeline = await client.get(
                f"{base}/api/v1/demo/customers/{customer_id}/timeline",
                params={"limit": 50},
                headers=headers,
            )
            reviewed = any(
                item["type"] == "message"
                and item["text"] == text
                and any(r.startswith("encoder ") for r in item["reasons"] or ())
                for item in timeline.json()["items"]
            )
            if reviewed:
                seen.append(time.perf_counter() - answered)
                pending.pop(text, None)
        await asyncio.sleep(POLL_SECONDS)


async def _run(
    base: str,
    key: str,
    *,
    messages: int,
    concurrency: int,
    customers: int,
    unsure_share: float = 0.0,
) -> dict[str, object]:
    from bot.detection.shipped import default_detector

    detector = default_detector()
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    failures: list[str] = []
    pending: dict[str, tuple[str, float]] = {}
    reviews: list[float] = []
    unsure = 0
    plain = [n for n in range(messages) if _text(n, unsure_share) == _text(n, 0.0)]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(messages):
        queue.put_nowait(n)

    async def sender(client: httpx.AsyncClient) -> None:
        nonlocal unsure
        while not queue.empty():
            n = queue.get_nowait()
            text = _text(n, unsure_share)
            mixed = text != _text(n, 0.0)
            # An unsure message may hand its customer to a person, after which the bot is
            # quiet, and a customer's history moves the score: each unsure message comes
            # from a customer of its own, and only its answer's status is checked.
            body = {
                "customer": f"unsure-{n}" if mixed else f"bench-{n % customers}",
                "text": text,
                "message_id": f"bench-{n}",
            }
            started = time.perf_counter()
            response = await client.post(
                f"{base}/api/v1/demo/sandbox/messages", json=body, headers=headers
            )
            answered = time.perf_counter()
            latencies.append(answered - started)
            if response.status_code != 200 or (not mixed and len(response.json()["replies"]) != 1):
                failures.append(f"{response.status_code} {response.text[:200]}")
            elif mixed and detector.assess(text).uncertain:
                unsure += 1
                pending[text] = (response.json()["customer_id"], answered)

    limits = httpx.Limits(max_connections=concurrency + 4)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        sending = asyncio.Event()
        sending.set()
        watchers = [
            asyncio.create_task(_watch_reviews(client, base, headers, pending, reviews, sending))
            for _ in range(1 if unsure_share else 0)
        ]
        started = time.perf_counter()
        await asyncio.gather(*(sender(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        sending.clear()
        await asyncio.gather(*watchers)
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
            if sent >= len(plain):
                break
            await asyncio.sleep(0.5)
        stored = 0
        for offset in range(0, messages + customers, 500):
            page = await client.get(
                f"{base}/api/v1/demo/customers",
                params={"limit": 500, "offset": offset},
                headers=headers,
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
    reviews.sort()
    second_opinion = (
        {
            "unsure_messages": unsure,
            "reviewed": len(reviews),
            "review_p50_ms": round(statistics.median(reviews) * 1000, 1),
            "review_p99_ms": round(reviews[max(0, int(len(reviews) * 0.99) - 1)] * 1000, 1),
        }
        if reviews
        else {"unsure_messages": unsure, "reviewed": 0}
    )
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
        **(second_opinion if unsure_share else {}),
    }


def peak_memory_mb(process: subprocess.Popen[bytes]) -> float | None:
    """A running process's peak resident memory (Linux), in MB."""
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return round(int(found.group(1)) / 1024, 1) if found else None


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
    parser.add_argument(
        "--unsure-share",
        type=float,
        default=0.0,
        help="share of messages in the detector's uncertain band (their review is timed)",
    )
    options = parser.parse_args()
    backends = ["sqlite", "postgres-redis"] if options.backend == "both" else [options.backend]
    for backend in backends:
        deployment = Deployment(backend, options.workers)
        async with deployment as (base, key):
            result = await _run(
                base,
                key,
                messages=options.messages,
                concurrency=options.concurrency,
                customers=options.customers,
                unsure_share=options.unsure_share,
            )
            memory = {
                f"{p.args[1]}-{i}_peak_mb": peak_memory_mb(p)  # type: ignore[index]
                for i, p in enumerate(deployment.processes)
            }
        print(json.dumps({"backend": backend, **result, **memory}, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
