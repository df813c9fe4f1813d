"""A small fake Twilio REST API on loopback: the Messages resource, recorded, answering as scripted.

The SDK talks to it over real HTTP through `integrations.whatsapp.RootedHttpClient`
(`KESHER_TWILIO_API_URL`), so the code under test runs exactly as against api.twilio.com.
Errors use Twilio's legacy JSON shape (`code`, `message`, `more_info`, `status`), which the SDK
turns into `TwilioRestException`.

Optionally it enforces a sender's throughput (`mps` messages a second per `From`, metered as
in `tests/fakes/metering.py`): a message over it is answered 429 (error 20429, `Retry-After: 1`)
and kept in `limited`. With `faults.rate` set, that share of messages fails as
`tests/fakes/faults.py` says and is kept in `faulted`. Each call is stamped with the wall-clock
time it came. Every message created is kept in `messages`, newest last, and the list call
(`GET .../Messages.json`, filtered by `To` and `From`) answers from them, newest first, as
Twilio does; `lists` counts those calls.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.faults import Fault, Faults
from tests.fakes.loopback import serve_app
from tests.fakes.metering import Meter

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "fake_twilio_auth_token_0123456789"
SENDER = "whatsapp:+14155238886"


@dataclass(frozen=True)
class Call:
    account_sid: str
    username: str | None
    password: str | None
    pairs: tuple[tuple[str, str], ...]
    at: float = field(default_factory=time.time)

    @property
    def params(self) -> dict[str, str]:
        return dict(self.pairs)


@dataclass
class Script:
    """What the next call gets instead of a created message (or before it, for a delay)."""

    status: int | None = None
    code: int | None = None
    message: str = ""
    retry_after: int | None = None
    delay: float = 0.0


@dataclass
class FakeTwilio:
    url: str = ""
    accounts: dict[str, str] = field(default_factory=lambda: {ACCOUNT_SID: AUTH_TOKEN})
    calls: list[Call] = field(default_factory=list)
    scripts: list[Script] = field(default_factory=list)
    status: str = "queued"
    mps: int | None = None
    limited: list[Call] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    faulted: list[Call] = field(default_factory=list)
    contents: list[dict[str, object]] = field(default_factory=list)
    refuse_contents: bool = False
    messages: list[dict[str, object]] = field(default_factory=list)
    lists: int = 0
    _meter: Meter = field(default_factory=Meter)

    def reset(self) -> None:
        self.accounts = {ACCOUNT_SID: AUTH_TOKEN}
        self.calls.clear()
        self.scripts.clear()
        self.status = "queued"
        self.mps = None
        self.limited.clear()
        self.faults.rate = 0.0
        self.faulted.clear()
        self.contents.clear()
        self.refuse_contents = False
        self.messages.clear()
        self.lists = 0
        self._meter.clear()

    def fail_next(
        self, status: int, code: int, message: str, *, retry_after: int | None = None
    ) -> None:
        self.scripts.append(Script(status, code, message, retry_after))

    def delay_next(self, seconds: float) -> None:
        self.scripts.append(Script(delay=seconds))

    async def create_message(self, request: Request) -> JSONResponse:
        sid = request.path_params["sid"]
        username, password = _basic(request.headers.get("authorization", ""))
        pairs = tuple(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        call = Call(sid, username, password, pairs)
        self.calls.append(call)
        if username not in self.accounts or self.accounts[username] != password:
            return _error(401, 20003, "Authenticate")
        if username != sid:
            return _error(404, 20404, f"The requested resource /Accounts/{sid} was not found")
        script = self.scripts.pop(0) if self.scripts else Script()
        if script.delay:
            # Answered (as created) after the client gave up, outside the meter and the faults:
            # by then the next test may be metering its own sends.
            await asyncio.sleep(script.delay)
            return JSONResponse(self._message(sid, dict(pairs)), status_code=201)
        if script.status is not None:
            headers = {"Retry-After": str(script.retry_after)} if script.retry_after else None
            return _error(script.status, script.code, script.message, headers=headers)
        fault = self.faults.pick()
        if fault is not None:
            self.faulted.append(call)
            return await self._fail(fault)
        params = dict(pairs)
        if self._over_mps(params.get("From") or params.get("MessagingServiceSid") or ""):
            self.limited.append(call)
            return _error(429, 20429, "Too Many Requests", headers={"Retry-After": "1"})
        if not params.get("To"):
            return _error(400, 21604, "A 'To' phone number is required.")
        if not params.get("From") and not params.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' phone number is required.")
        if not params.get("Body") and not params.get("ContentSid"):
            return _error(400, 21602, "Message body is required.")
        return JSONResponse(self._message(sid, params), status_code=201)

    async def list_messages(self, request: Request) -> JSONResponse:
        """The Messages list: the account's messages, newest first, by `To` and `From`."""
        sid = request.path_params["sid"]
        username, password = _basic(request.headers.get("authorization", ""))
        if username not in self.accounts or self.accounts[username] != password or username != sid:
            return _error(401, 20003, "Authenticate")
        self.lists += 1
        query = request.query_params
        size = int(query.get("PageSize", "50"))
        found = [
            m
            for m in reversed(self.messages)
            if m["account_sid"] == sid
            and m["to"] == query.get("To", m["to"])
            and m["from"] == query.get("From", m["from"])
        ][:size]
        uri = f"/2010-04-01/Accounts/{sid}/Messages.json"
        return JSONResponse(
            {
                "messages": found,
                "end": max(len(found) - 1, 0),
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": size,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            }
        )

    async def create_content(self, request: Request) -> JSONResponse:
        """The Content API's create: kept in `contents` and given an HX SID."""
        username, password = _basic(request.headers.get("authorization", ""))
        if username not in self.accounts or self.accounts[username] != password:
            return _error(401, 20003, "Authenticate")
        if self.refuse_contents:
            return _error(400, 20001, "Invalid content")
        content = dict(await request.json())
        content["sid"] = "HX" + secrets.token_hex(16)
        content["account_sid"] = username
        self.contents.append(content)
        return JSONResponse(content, status_code=201)

    async def _fail(self, fault: Fault) -> JSONResponse:
        if fault is Fault.LIMITED:
            return _error(429, 20429, "Too Many Requests", headers={"Retry-After": "1"})
        if fault is Fault.TIMEOUT:
            await asyncio.sleep(self.faults.hang_seconds)
        return _error(500, 20500, "Internal Server Error")

    def _over_mps(self, sender: str) -> bool:
        """True when a message now would break the sender's MPS; otherwise it is counted."""
        return self.mps is not None and not self._meter.take([(sender, float(self.mps))])

    def _message(self, account: str, params: dict[str, str]) -> dict[str, object]:
        sid = "SM" + secrets.token_hex(16)
        now = formatdate(usegmt=True)
        service = params.get("MessagingServiceSid")
        message: dict[str, object] = {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": params.get("Body", ""),
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": params.get("From"),
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service and not params.get("From") else self.status,
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"
            },
            "to": params.get("To"),
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
        }
        self.messages.append(message)
        return message


def _basic(header: str) -> tuple[str | None, str | None]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    username, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
    return username, password


def _error(
    status: int, code: int | None, message: str, *, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def routes(fake: FakeTwilio) -> list[Route]:
    return [
        Route("/2010-04-01/Accounts/{sid}/Messages.json", fake.create_message, methods=["POST"]),
        Route("/2010-04-01/Accounts/{sid}/Messages.json", fake.list_messages, methods=["GET"]),
        Route("/v1/Content", fake.create_content, methods=["POST"]),
    ]


def serve() -> tuple[FakeTwilio, uvicorn.Server, threading.Thread]:
    """Start the fake on a free loopback port in a thread; stop with `server.should_exit`."""
    fake = FakeTwilio()
    fake.url, server, thread = serve_app(Starlette(routes=routes(fake)))
    return fake, server, thread
