"""Kesher as a user runs it: the `kesher` command in subprocesses, over real HTTP, and in a real
headless Chromium (Debian's, driven by Playwright; missing, the browser tests skip saying why,
or fail under KESHER_REQUIRE_SERVERS=1)."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import REQUIRE_SERVERS, TEST_PASSWORD_COST, WORKER, no_waiting_for_the_disk

KESHER = str(Path(sys.executable).with_name("kesher"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(**values: str) -> dict[str, str]:
    """The environment without any KESHER_ setting of the developer's, plus the tests' cheap
    password hashing and `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KESHER_")}
    env.update(TEST_PASSWORD_COST)
    env.update(values)
    return env


@dataclass
class Process:
    popen: subprocess.Popen[str]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


class Kesher:
    """Starts `kesher` roles in one directory; stops them all at the end of the test."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.env = env
        self.processes: list[Process] = []

    def start(self, *args: str) -> Process:
        log = self.directory / f"{args[0]}-{len(self.processes)}.log"
        handle = log.open("w", encoding="utf-8")
        popen = subprocess.Popen(
            [KESHER, *args],
            cwd=self.directory,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            text=True,
        )
        process = Process(popen, log)
        self.processes.append(process)
        return process

    def serve(self, *args: str) -> tuple[Process, str]:
        port = free_port()
        process = self.start("serve", "--port", str(port), *args)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise AssertionError(f"kesher serve exited:\n{process.output()}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return process, base
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"kesher serve did not answer /healthz:\n{process.output()}")

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [KESHER, *args],
            cwd=self.directory,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def demo_key(process: Process) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = re.search(r"demo API key:\s+(ksh_\S+)", process.output())
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no demo API key printed:\n{process.output()}")


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kesher, Process, str]]:
    """`kesher serve` on the embedded default (SQLite, no Redis) in a fresh folder, per module."""
    home = tmp_path_factory.mktemp("kesher-serve")
    kesher = Kesher(home, clean_env(KESHER_DATABASE_URL=f"sqlite+aiosqlite:///{home}/k.db"))
    try:
        process, base = kesher.serve()
        yield kesher, process, base
    finally:
        kesher.stop()


@pytest.fixture
def kesher(tmp_path: Path) -> Iterator[Kesher]:
    runner = Kesher(tmp_path, clean_env())
    yield runner
    runner.stop()


@pytest.fixture
def empty_postgres(postgres_url: str):  # type: ignore[no-untyped-def]
    name = f"kesher_e2e_{WORKER}_{uuid.uuid4().hex[:8]}"

    async def admin(statement: str) -> None:
        engine = create_async_engine(postgres_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.exec_driver_sql(statement)
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    asyncio.run(admin(no_waiting_for_the_disk(name)))
    yield postgres_url.rsplit("/", 1)[0] + "/" + name
    asyncio.run(admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVERS:
        pytest.fail(reason + " (KESHER_REQUIRE_SERVERS=1)")
    pytest.skip(reason)


# Module scope: Playwright's sync API runs an event loop that must be gone before the
# asyncio tests of later modules start.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()
