"""Kesher deployed as its parts on one machine: two `kesher serve --no-worker` processes on two
ports, two `kesher worker` processes and the one `kesher scheduler`, on PostgreSQL and Redis,
with the fake Bot API and fake Twilio API (bench/channel_servers.py) as the providers and the
business `bench` connected to both, and a fake Ollama as the language model asked for second
opinions (answering in time unless told to be slow; KESHER_LLM_TIMEOUT_SECONDS is 1). The reliability suite kills and restarts its parts; by
hand it starts the whole set, prints where everything is, and stops it all on Ctrl-C:

    .venv/bin/python -m bench.cluster [--private]

With `--private` the set runs on a PostgreSQL and a Redis of its own (a throwaway `initdb`
cluster and a `redis-server`, each on a free port, in temporary folders), which the suite may
restart without touching the machine's shared servers; without it, on a fresh database of
KESHER_TEST_POSTGRES_URL's server and on KESHER_BENCH_REDIS_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bench.harness import POSTGRES, REDIS, SLUG, Deployment, FakeApi, free_port, workdir
from bot.ports import Clock
from tests.fakes.telegram_api import TOKEN
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER

WEBS = 2
WORKERS = 2
# The sender's MPS and the bot's rate are raised so the load, not the limits, is what runs.
MPS = 400
BOT_RATE = 1000
LLM_MODEL = "ollama:kesher-bench"
LLM_TIMEOUT_SECONDS = 1.0


class PrivateRedis:
    """A `redis-server` of the set's own on a free port, keeping nothing on disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def _launch(self) -> None:
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *("redis-server", "--bind", "127.0.0.1", "--port", str(self.port)),
                    *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def start(self) -> None:
        self._launch()
        redis = Redis.from_url(self.url)
        try:
            for _ in range(100):
                with contextlib.suppress(RedisError, OSError):
                    if await redis.ping():
                        return
                await asyncio.sleep(0.05)
        finally:
            await redis.aclose()
        raise SystemExit(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: everything it held (delivery ids, locks, the task queue) is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (`initdb`, trust on loopback) on a free port, run as the
    `postgres` user when this runs as root (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="kesher-pg-"))
        self.data = self.home / "data"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    @staticmethod
    def available() -> bool:
        return all(shutil.which(tool) for tool in ("initdb", "pg_ctl"))

    def _run(self, *args: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*as_postgres, *args], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise SystemExit(f"{args[0]} failed:\n{done.stdout}\n{done.stderr}")

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c max_connections=300"
        )
        log = str(self.home / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """`immediate` is a crash: no checkpoint, recovery from the WAL on the next start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)


@dataclass
class Servers:
    """Where the set's PostgreSQL and Redis are; `pg` and `private_redis` when they are its own."""

    postgres: str
    redis: str
    pg: PrivatePostgres | None = None
    private_redis: PrivateRedis | None = None


@contextlib.asynccontextmanager
async def servers(directory: Path, *, private: bool) -> AsyncIterator[Servers]:
    """Private PostgreSQL and Redis where asked for and installed; otherwise the shared ones."""
    found = Servers(POSTGRES, REDIS)
    try:
        if private and shutil.which("redis-server"):
            found.private_redis = PrivateRedis(directory)
            await found.private_redis.start()
            found.redis = found.private_redis.url
        if private and PrivatePostgres.available():
            found.pg = PrivatePostgres()
            found.pg.init()
            found.pg.start()
            found.postgres = found.pg.url
        yield found
    finally:
        if found.private_redis is not None:
            found.private_redis.kill()
        if found.pg is not None:
            with contextlib.suppress(SystemExit):
                found.pg.stop("immediate")
            found.pg.remove()


class Cluster:
    """The whole set, started by `async with`; its web and worker processes can be killed and
    replaced while it runs."""

    def __init__(
        self,
        directory: Path,
        *,
        postgres: str,
        redis: str,
        webs: int = WEBS,
        workers: int = WORKERS,
        clock: Clock | None = None,
    ) -> None:
        self.deployment = Deployment(
            directory, postgres=postgres, redis=redis, webs=webs, clock=clock
        )
        self.worker_count = workers
        self.telegram = FakeApi(self.deployment.processes, "fake-telegram")
        self.twilio = FakeApi(self.deployment.processes, "fake-twilio")
        self.ollama = FakeApi(self.deployment.processes, "fake-ollama")
        self.env = {
            "KESHER_TELEGRAM_API_URL": self.telegram.url,
            "KESHER_TWILIO_API_URL": self.twilio.url,
            "KESHER_TELEGRAM_BOT_RATE": str(BOT_RATE),
            "KESHER_LLM_MODEL": LLM_MODEL,
            "KESHER_LLM_TIMEOUT_SECONDS": str(LLM_TIMEOUT_SECONDS),
            "OLLAMA_HOST": self.ollama.url,
            # The language model alone gives the second opinion here, on the uncertain band it
            # uses without the encoder, so the reliability suite can count what it was asked.
            "KESHER_ENCODER": "false",
        }
        self.webs: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.telegram_secret = ""
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Cluster:
        await self._stack.enter_async_context(self.telegram)
        await self._stack.enter_async_context(self.twilio)
        await self._stack.enter_async_context(self.ollama)
        deployment = await self._stack.enter_async_context(self.deployment)
        deployment.kesher("telegram", "connect", "--business", SLUG, "--token", TOKEN, env=self.env)
        deployment.kesher(
            "whatsapp", "connect", "--business", SLUG, "--account-sid", ACCOUNT_SID,
            "--auth-token", AUTH_TOKEN, "--sender", SENDER, "--mps", str(MPS),
        )  # fmt: skip
        self.telegram_secret = await deployment.telegram_secret()
        started = await deployment.serve(self.worker_count, self.env)
        self.webs = started[: len(deployment.ports)]
        self.workers = started[len(deployment.ports) :]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.__aexit__(*exc)

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.deployment.ports]

    async def kill_worker(self, index: int, *, down_seconds: float) -> None:
        """SIGKILL one worker mid-work; a new one starts `down_seconds` later, as a supervisor
        would start it."""
        self.deployment.processes.kill(self.workers[index])
        await asyncio.sleep(down_seconds)
        self.workers[index] = (await self.deployment.workers(1, self.env, ready=False))[0]

    async def kill_web(self, index: int, *, down_seconds: float) -> None:
        """SIGKILL one web process mid-request; a new one on its port `down_seconds` later."""
        self.deployment.processes.kill(self.webs[index])
        await asyncio.sleep(down_seconds)
        port = self.deployment.ports[index]
        self.webs[index] = self.deployment.web(port, self.env)
        await self.deployment.until_up(port, self.webs[index])


async def _up(options: argparse.Namespace) -> None:
    with workdir(keep=True) as directory:
        async with (
            servers(directory, private=options.private) as found,
            Cluster(
                directory,
                postgres=found.postgres,
                redis=found.redis,
                webs=options.webs,
                workers=options.workers,
            ) as cluster,
        ):
            deployment = cluster.deployment
            print(f"Kesher: {options.webs} web, {options.workers} workers, 1 scheduler")
            print(f"  web:        {', '.join(cluster.bases)}  (public URL {deployment.base})")
            print(f"  Telegram:   POST /webhooks/telegram/{SLUG}  X-Telegram-Bot-Api-Secret-Token:"
                  f" {cluster.telegram_secret}")  # fmt: skip
            print(f"  WhatsApp:   POST /webhooks/whatsapp/{SLUG}  (signed with {AUTH_TOKEN})")
            print(f"  fake APIs:  Bot API {cluster.telegram.url}, Twilio {cluster.twilio.url},"
                  f" Ollama {cluster.ollama.url}")  # fmt: skip
            print(f"  database:   {deployment.database_url}\n  redis:      {found.redis}")
            print(f"  logs:       {directory}\nCtrl-C stops the whole set.")
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--private", action="store_true", help="PostgreSQL and Redis of its own")
    parser.add_argument("--webs", type=int, default=WEBS)
    parser.add_argument("--workers", type=int, default=WORKERS)
    asyncio.run(_up(parser.parse_args()))


if __name__ == "__main__":
    main()
