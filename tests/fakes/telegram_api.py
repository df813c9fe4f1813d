"""A small fake Telegram Bot API server on loopback: records calls, answers as scripted.

python-telegram-bot talks to it over real HTTP (`KESHER_TELEGRAM_API_URL`), so the code under
test runs exactly as against api.telegram.org. Requests arrive form-encoded, each value
JSON-encoded unless it is a plain string (python-telegram-bot's `RequestData`).

Optionally it enforces Telegram's sending limits (`bot_rate` sendMessage calls a second per
bot, `chat_rate` per chat, metered as in `tests/fakes/metering.py`): a call over them is
answered 429 with `retry_after` and kept in `limited`. With `faults.rate` set, that share of
sendMessage calls fails as `tests/fakes/faults.py` says and is kept in `faulted`. Each call is
stamped with the wall-clock time it came.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.faults import Fault, Faults
from tests.fakes.loopback import serve_app
from tests.fakes.metering import Meter

TOKEN = "123456789:AAFakeTokenForKesherTestsOnly_0123456"
BOT_ID = 123456789
USERNAME = "kesher_test_bot"


@dataclass(frozen=True)
class Call:
    token: str
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.time)


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class FakeTelegram:
    url: str = ""
    tokens: dict[str, str] = field(default_factory=lambda: {TOKEN: USERNAME})
    calls: list[Call] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    down: set[str] = field(default_factory=set)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    bot_rate: int | None = None
    chat_rate: int | None = None
    limited: list[Call] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    faulted: list[Call] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _meter: Meter = field(default_factory=Meter)

    def reset(self) -> None:
        self.tokens = {TOKEN: USERNAME}
        self.calls.clear()
        self.blocked.clear()
        self.missing.clear()
        self.down.clear()
        self.failures.clear()
        self.bot_rate = self.chat_rate = None
        self.limited.clear()
        self.faults.rate = 0.0
        self.faulted.clear()
        self._meter.clear()

    def fail_next(
        self, method: str, status: int, description: str, *, retry_after: int | None = None
    ) -> None:
        self.failures.setdefault(method, []).append(Failure(status, description, retry_after))

    def called(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.called(method)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.called(method)

    async def handle(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        form = parse_qsl((await request.body()).decode(), keep_blank_values=True)
        params = {k: _decoded(v) for k, v in form}
        call = Call(token, method, params)
        self.calls.append(call)
        if token not in self.tokens:
            return _error(401, "Unauthorized")
        scripted = self.failures.get(method)
        if scripted:
            failure = scripted.pop(0)
            extra = {"retry_after": failure.retry_after} if failure.retry_after else None
            return _error(failure.status, failure.description, extra)
        fault = self.faults.pick() if method == "sendMessage" else None
        if fault is not None:
            self.faulted.append(call)
            return await self._fail(fault)
        if method == "sendMessage" and self._over_limits(token, str(params.get("chat_id"))):
            self.limited.append(call)
            return _error(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        answer = self._answer(token, method, params)
        if isinstance(answer, JSONResponse):
            return answer
        return JSONResponse({"ok": True, "result": answer})

    async def _fail(self, fault: Fault) -> JSONResponse:
        if fault is Fault.LIMITED:
            return _error(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        if fault is Fault.TIMEOUT:
            await asyncio.sleep(self.faults.hang_seconds)
        return _error(500, "Internal Server Error")

    def _over_limits(self, token: str, chat: str) -> bool:
        """True when a send now would break a limit; otherwise the send is counted."""
        limits = [
            (key, float(rate))
            for key, rate in ((token, self.bot_rate), (f"{token}:{chat}", self.chat_rate))
            if rate is not None
        ]
        return bool(limits) and not self._meter.take(limits)

    def _answer(self, token: str, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {
                "id": int(token.split(":")[0]),
                "is_bot": True,
                "first_name": "Kesher Test",
                "username": self.tokens[token],
            }
        if method in ("setWebhook", "deleteWebhook", "answerCallbackQuery", "sendChatAction"):
            return True
        chat = str(params.get("chat_id"))
        if method == "sendMessage":
            if chat in self.blocked:
                return _error(403, "Forbidden: bot was blocked by the user")
            if chat in self.missing:
                return _error(400, "Bad Request: chat not found")
            if chat in self.down:
                return _error(502, "Bad Gateway")
            return self._message(token, chat, params.get("text", ""), params.get("reply_markup"))
        if method == "editMessageReplyMarkup":
            return self._message(token, chat, "", None, message_id=int(params["message_id"]))
        return _error(404, "Not Found")

    def _message(
        self,
        token: str,
        chat: str,
        text: str,
        markup: Any,
        *,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id or next(self._ids),
            "date": int(time.time()),
            "chat": {"id": int(chat), "type": "private", "first_name": "Customer"},
            "from": {
                "id": int(token.split(":")[0]),
                "is_bot": True,
                "first_name": "Kesher Test",
                "username": self.tokens[token],
            },
            "text": text,
        }
        if markup:
            message["reply_markup"] = markup
        return message


def _decoded(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=status)


def routes(fake: FakeTelegram) -> list[Route]:
    return [Route("/bot{token}/{method}", fake.handle, methods=["GET", "POST"])]


def serve() -> tuple[FakeTelegram, uvicorn.Server, threading.Thread]:
    """Start the fake on a free loopback port in a thread; stop with `server.should_exit`."""
    fake = FakeTelegram()
    fake.url, server, thread = serve_app(Starlette(routes=routes(fake)))
    return fake, server, thread
