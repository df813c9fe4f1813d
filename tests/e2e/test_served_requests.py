"""What `kesher serve` does with requests at the HTTP level, over real sockets: connections
that trickle a body are answered 408 and closed at the body timeout while others are served,
and the access log has each request's path but never its query string."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import Kesher, clean_env

TRICKLERS = 40


async def _trickle(port: int, path: str) -> tuple[str, float]:
    """A POST that promises 1,000 bytes and sends one every 0.3 s; the status line it got back
    and how long the server kept the connection open."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: kesher\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n{".encode()
    )
    await writer.drain()

    async def drip() -> None:
        while True:
            await asyncio.sleep(0.3)  # the attacker's pace, not a wait for Kesher
            writer.write(b" ")
            await writer.drain()

    dripping = asyncio.create_task(drip())
    try:
        answer = await asyncio.wait_for(reader.read(), timeout=30)  # until the server closes
    finally:
        dripping.cancel()
        writer.close()
    return answer.split(b"\r\n", 1)[0].decode(), time.monotonic() - started


async def _flood(port: int) -> tuple[list[tuple[str, float]], list[int]]:
    paths = ["/api/v1/demo/sandbox/messages", "/webhooks/telegram/demo"]
    slow = [asyncio.create_task(_trickle(port, paths[n % 2])) for n in range(TRICKLERS)]
    healthy = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        while not all(task.done() for task in slow):
            healthy.append((await client.get("/healthz", timeout=5)).status_code)
            await asyncio.sleep(0.2)
    return [task.result() for task in slow], healthy


def test_connections_trickling_a_body_are_answered_408_and_closed_at_the_timeout(
    tmp_path: Path,
) -> None:
    kesher = Kesher(
        tmp_path,
        clean_env(
            KESHER_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/k.db",
            KESHER_BODY_TIMEOUT_SECONDS="2",
        ),
    )
    try:
        _, base = kesher.serve()
        port = int(base.rsplit(":", 1)[1])
        closed, healthy = asyncio.run(_flood(port))
    finally:
        kesher.stop()

    statuses = {status for status, _ in closed}
    assert statuses <= {"HTTP/1.1 408 Request Timeout", "HTTP/1.1 404 Not Found"}, statuses
    assert sum("408" in status for status, _ in closed) >= TRICKLERS // 2
    assert max(seconds for _, seconds in closed) < 8, "held open well past the 2 s timeout"
    assert healthy and set(healthy) == {200}


def test_the_access_log_keeps_paths_and_leaves_out_query_strings(tmp_path: Path) -> None:
    kesher = Kesher(tmp_path, clean_env(KESHER_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/k.db"))
    try:
        process, base = kesher.serve()
        httpx.get(f"{base}/inbox/conversations", params={"q": "+972545551234"}, timeout=5)
        httpx.get(f"{base}/api/v1/demo/customers", params={"q": "Dana Levi"}, timeout=5)
        probe = httpx.get(f"{base}/healthz", params={"probe": "last"}, timeout=5)
        deadline = time.monotonic() + 5
        while "/healthz" not in process.output() and time.monotonic() < deadline:
            time.sleep(0.05)
        output = process.output()
    finally:
        kesher.stop()

    assert probe.headers.get("connection") != "close"  # only a request with an unread body
    assert "GET /inbox/conversations 303" in output
    assert "GET /api/v1/demo/customers 401" in output
    assert "GET /healthz 200" in output
    for secret in ("972545551234", "Dana", "Levi", "probe", "?q="):
        assert secret not in output, secret
