"""Replies out through Twilio's Messages REST API: the SDK's async client rooted at
KESHER_TWILIO_API_URL, the sender paced under each sender's MPS, Twilio's errors as SendFailed,
and a reply rendered as message bodies."""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import re
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp

# Loaded now rather than by the SDK on the first message, which takes ~50 ms of the event loop
# in the middle of paced sends (the senders due meanwhile would then go out together).
import twilio.rest.api  # noqa: F401
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList

from bot.domain import DeliveryStatus, Outbound, Rate, Reply, SendFailed, SentReceipt
from bot.ports import RateLimiter
from integrations.chunks import split_text
from integrations.throttle import MAX_WAIT, wait_turn
from integrations.whatsapp.account import TwilioAccount
from integrations.whatsapp.interactive import content_name, content_types, language_of
from integrations.whatsapp.resume import already_sent, sent_since
from integrations.whatsapp.statuses import OUTSIDE_WINDOW, STATUSES

DEFAULT_API_URL = "https://api.twilio.com"
# Twilio refuses a message Body over 1,600 characters (WhatsApp itself allows more).
MAX_TEXT = 1600

# Errors that will never succeed for this address; the identity is unreachable.
UNREACHABLE: Mapping[int, str] = {
    21211: "the 'To' number is not a valid phone number",
    21614: "the 'To' number is not a mobile number",
    21610: "the customer has blocked messages from this sender (replied STOP)",
    63003: "the number is not on WhatsApp",
    63024: "the recipient is not a valid WhatsApp user",
}
RATE_LIMITED = frozenset({20429, 63018})

log = logging.getLogger(__name__)
_retry_after: ContextVar[float | None] = ContextVar("twilio_retry_after", default=None)


class RootedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The SDK's aiohttp client with Twilio's hosts rewritten to one configured root.

    With a Twilio root (a regional edge) only api.* hosts move; with any other root (a test
    double) every *.twilio.com host does. Make it inside a running event loop; close it.
    """

    def __init__(self, root: str = DEFAULT_API_URL, *, timeout: float | None = 15.0) -> None:
        super().__init__(timeout=timeout)
        parts = urlsplit(root.rstrip("/"))
        self.root = root.rstrip("/")
        self._root_is_twilio = _twilio_host(parts.hostname or "")

    def rooted(self, url: str) -> str:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if not _twilio_host(host) or (self._root_is_twilio and not host.startswith("api.")):
            return url
        return self.root + parts.path + (f"?{parts.query}" if parts.query else "")

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if auth is not None:
            # Sent as a header: aiohttp deprecates the BasicAuth the SDK would build from `auth`.
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            headers = {**(headers or {}), "Authorization": f"Basic {token}"}
        if data is not None and (headers or {}).get("Content-Type") == "application/json":
            # The SDK's async client hands JSON bodies (the Content API's) to aiohttp as a form.
            data = json.dumps(data, ensure_ascii=False)  # type: ignore[assignment]
        # The SDK's async client ignores its own timeout unless one is passed per request.
        response: Response = await super().request(
            method,
            self.rooted(url),
            params=params,
            data=data,
            headers=headers,
            auth=None,
            timeout=timeout if timeout is not None else self.timeout,
            allow_redirects=allow_redirects,
        )
        # TwilioRestException drops the headers; keep Retry-After for this task's caller.
        _retry_after.set(
            _seconds(response.headers.get("Retry-After") if response.headers else None)
        )
        return response


def _twilio_host(host: str) -> bool:
    return host == "twilio.com" or host.endswith(".twilio.com")


def _seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    if re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


class WhatsAppSender:
    """Sends replies through Twilio's Messages API; one aiohttp session serves every account.

    With a limiter, each message first waits for room under its sender's MPS (shared by every
    worker); one that would wait over `max_wait` is refused as retryable, to be sent later.
    """

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        *,
        timeout: float = 15.0,
        limiter: RateLimiter | None = None,
        max_wait: float = MAX_WAIT,
    ) -> None:
        self.api_url = api_url
        self.timeout = timeout
        self.limiter = limiter
        self.max_wait = max_wait
        self._http: RootedHttpClient | None = None
        # (account SID, content name) -> ContentSid of buttons created on that account
        self._contents: dict[tuple[str, str], str] = {}

    async def send(
        self,
        outbound: Outbound,
        *,
        account: TwilioAccount,
        status_callback: str | None = None,
    ) -> SentReceipt:
        """Send the reply (choices as buttons when they fit, else as a numbered list; long text
        in several messages), or the approved template the outbound names (ContentSid with
        ContentVariables as JSON).

        Returns the last message's SID and status; raises SendFailed saying whether to retry.
        With `resume_since`, the parts an earlier attempt already left at Twilio are not sent
        again (`integrations.whatsapp.resume`).
        """
        to = whatsapp_address(outbound.address)
        parts: list[dict[str, str]]
        if outbound.template is not None:
            parts = [
                {
                    "content_sid": outbound.template.sid,
                    "content_variables": json.dumps(
                        dict(outbound.template.variables), ensure_ascii=False
                    ),
                }
            ]
        client = Client(account.account_sid, account.auth_token, http_client=self._client())
        if outbound.template is None:
            content = await self._buttons(client, account, outbound.reply)
            parts = (
                [{"content_sid": content}]
                if content
                else [{"body": text} for text in render(outbound.reply)]
            )
        options: dict[str, Any] = {"to": to}
        if account.sender:
            options["from_"] = account.sender
        if account.messaging_service_sid:
            options["messaging_service_sid"] = account.messaging_service_sid
        if status_callback:
            options["status_callback"] = status_callback
        receipt: SentReceipt | None = None
        if outbound.resume_since is not None:
            earlier = await sent_since(
                client, to=to, sender=account.sender or None, since=outbound.resume_since
            )
            done, receipt = already_sent(parts, earlier)
            parts = parts[done:]
        for part in parts:
            await self._wait_turn(account)
            _retry_after.set(None)
            try:
                created = await client.messages.create_async(**part, **options)
            except TwilioException as error:
                raise failure(error, retry_after=_retry_after.get()) from None
            except (TimeoutError, aiohttp.ClientError) as error:
                raise SendFailed(
                    f"Twilio did not answer ({type(error).__name__}); retrying later",
                    retryable=True,
                ) from None
            receipt = _receipt(created)
        assert receipt is not None
        return receipt

    async def _buttons(self, client: Client, account: TwilioAccount, reply: Reply) -> str | None:
        """The SID of session content showing the reply's choices as buttons, created through the
        Content API on first use and remembered; None when they do not fit or Twilio refuses (the
        reply then goes as text with the choices listed)."""
        types = content_types(reply)
        if types is None:
            return None
        name = content_name(types)
        key = (account.account_sid, name)
        if key not in self._contents:
            request = ContentList.ContentCreateRequest(
                {"friendly_name": name, "language": language_of(reply.text), "types": types}
            )
            try:
                created = await client.content.v1.contents.create_async(request)
            except (TwilioException, TimeoutError, aiohttp.ClientError) as error:
                log.warning("WhatsApp buttons not created, sending text instead: %s", error)
                return None
            self._contents[key] = str(created.sid)
        return self._contents[key]

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _wait_turn(self, account: TwilioAccount) -> None:
        if self.limiter is None:
            return
        sender = account.sender or account.messaging_service_sid
        rate = Rate(count=account.mps, per=timedelta(seconds=1))
        await wait_turn(
            self.limiter,
            ((f"whatsapp:sender:{sender}", rate),),
            max_wait=self.max_wait,
            provider="Twilio",
        )

    def _client(self) -> RootedHttpClient:
        if self._http is None:
            self._http = RootedHttpClient(self.api_url, timeout=self.timeout)
        return self._http


def _receipt(created: Any) -> SentReceipt:
    raw = str(created.status or "")
    status = STATUSES.get(raw)
    if status is DeliveryStatus.FAILED:
        code = created.error_code
        raise SendFailed(
            f"Twilio refused the message at once ({raw}, error {code}): {created.error_message}",
            retryable=False,
        )
    return SentReceipt(
        channel_message_id=str(created.sid),
        status=DeliveryStatus.SENT if status is DeliveryStatus.SENT else DeliveryStatus.QUEUED,
    )


def failure(error: TwilioException, *, retry_after: float | None = None) -> SendFailed:
    """A Twilio API error as a SendFailed that says whether to retry; `code` names the case.

    Codes: outside_window (63016: use a template), unreachable, rate_limited, twilio_unavailable,
    twilio_refused.
    """
    status = getattr(error, "status", None)
    code = getattr(error, "code", None)
    detail = str(getattr(error, "msg", "") or getattr(error, "detail", "") or "")
    said = f"Twilio {status} error {code}"
    if code == OUTSIDE_WINDOW:
        found = SendFailed(
            f"{said}: outside WhatsApp's 24-hour customer-service window; a free-form message "
            "cannot be sent, use an approved template for this message",
            retryable=False,
        )
        found.code = "outside_window"
    elif isinstance(code, int) and code in UNREACHABLE:
        found = SendFailed(f"{said}: {UNREACHABLE[code]}", retryable=False, unreachable=True)
        found.code = "unreachable"
    elif status == 429 or code in RATE_LIMITED:
        found = SendFailed(
            f"{said}: too many requests; retrying later", retryable=True, retry_after=retry_after
        )
        found.code = "rate_limited"
    elif isinstance(status, int) and status >= 500:
        found = SendFailed(f"{said}: {detail}", retryable=True, retry_after=retry_after)
        found.code = "twilio_unavailable"
    else:
        found = SendFailed(f"{said}: {detail}", retryable=False)
        found.code = "twilio_refused"
    return found


def whatsapp_address(address: str) -> str:
    """`whatsapp:+<digits>`; a bare number gets the prefix, or Twilio would send an SMS."""
    address = address.strip()
    number = address.removeprefix("whatsapp:")
    if not re.fullmatch(r"\+?\d{6,15}", number):
        raise SendFailed(
            f"{address!r} is not a WhatsApp address (whatsapp:+972...)",
            retryable=False,
            unreachable=True,
        )
    return "whatsapp:+" + number.lstrip("+")


def render(reply: Reply, *, limit: int = MAX_TEXT) -> list[str]:
    """The reply as message bodies: choices as a numbered list, or for a scale (choices that
    are numbers themselves) one line of the numbers, since a number typed is the answer."""
    text = reply.text.strip()
    if reply.choices and all(c.label.isdigit() for c in reply.choices):
        listed = " · ".join(c.label for c in reply.choices)
        text = f"{text}\n\n{listed}" if text else listed
    elif reply.choices:
        listed = "\n".join(f"{n}. {c.label}" for n, c in enumerate(reply.choices, start=1))
        text = f"{text}\n\n{listed}" if text else listed
    return split_text(text, limit=limit)
