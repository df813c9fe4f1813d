"""Structured JSON logs carrying a correlation id, and the Prometheus metrics Kesher exports."""

from __future__ import annotations

import json
import logging
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from prometheus_client import Counter, Histogram

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

INBOUND = Counter(
    "kesher_inbound_total", "Inbound deliveries by channel and result", ["channel", "result"]
)
OUTBOUND = Counter(
    "kesher_outbound_total", "Outbox sends by channel and outcome", ["channel", "outcome"]
)
PIPELINE_SECONDS = Histogram(
    "kesher_pipeline_seconds",
    "Time from a delivery's arrival to its commit",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def new_correlation_id() -> str:
    return uuid.uuid4().hex[:16]


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, correlation id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = correlation_id.get()
        if current:
            entry["correlation_id"] = current
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


CHATTY = ("httpx", "telegram", "aiosqlite", "alembic")


def configure_logging(level: str, *, as_json: bool) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if as_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx and telegram log request URLs, and a Telegram Bot API URL carries the bot's token;
    # aiosqlite logs every call with its parameters (customers' words, stored credentials);
    # Alembic names its backend and plugins at INFO on every run (storage.schema logs a change).
    for chatty in CHATTY:
        logging.getLogger(chatty).setLevel(logging.WARNING)
