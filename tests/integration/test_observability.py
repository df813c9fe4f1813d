"""A delivery can be followed through the logs by its correlation id, and counted in /metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator

import httpx
import pytest

from app.bootstrap import Runtime
from bot.domain import Business
from bot.telemetry import JsonFormatter, correlation_id
from tests.integration.conftest import settled


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[Collected]:
    handler = Collected()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def _metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    found = re.search(rf"^{name}\{{{re.escape(wanted)}\}} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_the_correlation_id_of_a_request_follows_it_to_the_send_and_back(
    client: httpx.AsyncClient, business: tuple[Business, str], logs: Collected
) -> None:
    shop, key = business
    response = await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages",
        json={"customer": "maya", "text": "hello"},
        headers={"X-Request-ID": "req-42"},
    )
    for _ in range(100):
        if any("sent outbox item" in line for line in logs.lines):
            break
        await asyncio.sleep(0.05)

    assert response.headers["x-request-id"] == "req-42"
    entries = [json.loads(line) for line in logs.lines]
    stored = [e for e in entries if e["message"].startswith("stored sandbox delivery")]
    sent = [e for e in entries if e["message"].startswith("sent outbox item")]
    assert [e["correlation_id"] for e in stored] == ["req-42"]
    assert [e["correlation_id"] for e in sent] == ["req-42"]
    assert key not in "\n".join(logs.lines)


async def test_a_request_without_a_sane_id_gets_a_fresh_one(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith junk"})

    assert re.fullmatch(r"[0-9a-f]{16}", response.headers["x-request-id"])


async def test_metrics_count_stored_and_duplicate_deliveries_and_sends(
    client: httpx.AsyncClient, business: tuple[Business, str], runtime: Runtime
) -> None:
    shop, _ = business
    before = (await client.get("/metrics")).text
    body = {"customer": "ron", "text": "hi", "message_id": "m-metrics"}
    await client.post(f"/api/v1/{shop.slug}/sandbox/messages", json=body)
    await client.post(f"/api/v1/{shop.slug}/sandbox/messages", json=body)
    await settled(runtime)
    after = (await client.get("/metrics")).text

    def grew(name: str, **labels: str) -> float:
        return _metric(after, name, **labels) - _metric(before, name, **labels)

    assert grew("kesher_inbound_total", channel="sandbox", result="stored") == 1
    assert grew("kesher_inbound_total", channel="sandbox", result="duplicate") == 1
    assert grew("kesher_outbound_total", channel="sandbox", outcome="sent") == 1
    assert "kesher_pipeline_seconds_bucket" in after


def test_a_json_log_line_carries_the_current_correlation_id_and_keeps_hebrew() -> None:
    token = correlation_id.set("abc")
    try:
        record = logging.LogRecord("bot", logging.INFO, __file__, 1, "שלום %s", ("דנה",), None)
        line = json.loads(JsonFormatter().format(record))
    finally:
        correlation_id.reset(token)

    assert line["message"] == "שלום דנה"
    assert line["correlation_id"] == "abc"
    assert line["level"] == "INFO"
