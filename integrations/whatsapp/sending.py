"""The WhatsApp channel through Twilio: signed webhooks in, the Messages REST API out.

Webhooks are checked with the SDK's RequestValidator over the exact public URL and every
posted parameter, then normalised. Replies go out through the SDK's async client, whose HTTP
client is rooted at KESHER_TWILIO_API_URL so a test double on loopback works unchanged.
"""

from __future__ import annotations

import base64
import email.utils
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, parse_qsl, urlsplit

import aiohttp

# Loaded now rather than by the SDK on the first message, which takes ~50 ms of the event loop
# in the middle of paced sends (the senders due meanwhile would then go out together).
import twilio.rest.api  # noqa: F401
from twilio.base.exceptions import TwilioException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.domain import (
    Capabilities,
    ChannelAccount,
    ChannelName,
    DeliveryStatus,
    Forbidden,
    Inbound,
    InboundKind,
    InvalidInput,
    Outbound,
    Rate,
    Reply,
    SendFailed,
    SentReceipt,
    WebhookRequest,
)
from bot.ports import RateLimiter
from integrations.chunks import split_text
from integrations.throttle import MAX_WAIT, wait_turn

DEFAULT_API_URL = "https://api.twilio.com"
SIGNATURE_HEADER = "x-twilio-signature"
# Twilio refuses a message Body over 1,600 characters (WhatsApp itself allows more).
MAX_TEXT = 1600
# WhatsApp's customer-service window: free-form messages only within 24 h of the customer's
# last message; outside it only an approved template may be sent.
REPLY_WINDOW = timedelta(hours=24)
CAPABILITIES = Capabilities(
    buttons=False, max_text=MAX_TEXT, can_initiate=False, reply_window=REPLY_WINDOW
)
OUTSIDE_WINDOW = 63016
MAX_FIELDS = 500
# Twilio's SIDs are 34 characters and a WhatsApp address ("whatsapp:+" and an E.164 number)
# at most 25; longer ones are refused, not stored cut. Both have to fit, with "button:", in a
# 128-character key of the delivery log (bot/pipeline.py's tap key); a name is kept to 200.
MAX_SID = 64
MAX_ADDRESS = 48
MAX_NAME = 200
# Twilio sends at most a sender's MPS (messages a second; 80 for a WhatsApp sender unless
# raised) and queues or refuses the rest. Kesher keeps each sender under the business's MPS.
DEFAULT_MPS = 80
MAX_MPS = 400

STATUSES: Mapping[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
    "undelivered": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}

# Errors that will never succeed for this address; the identity is unreachable.
UNREACHABLE: Mapping[int, str] = {
    21211: "the 'To' number is not a valid phone number",
    21614: "the 'To' number is not a mobile number",
    21610: "the customer has blocked messages from this sender (replied STOP)",
    63003: "the number is not on WhatsApp",
    63024: "the recipient is not a valid WhatsApp user",
}
RATE_LIMITED = frozenset({20429, 63018})

_retry_after: ContextVar[float | None] = ContextVar("twilio_retry_after", default=None)


@dataclass(frozen=True, slots=True)
class TwilioAccount:
    """A business's Twilio account and WhatsApp sender (or Messaging Service)."""

    account_sid: str
    auth_token: str = field(repr=False)
    sender: str | None = None
    messaging_service_sid: str | None = None
    mps: int = DEFAULT_MPS

    def __post_init__(self) -> None:
        if not 1 <= self.mps <= MAX_MPS:
            raise InvalidInput(
                f"the MPS (messages a second) must be 1 to {MAX_MPS}, not {self.mps}",
                code="invalid_mps",
            )
        if not self.account_sid.startswith("AC"):
            raise InvalidInput("a Twilio account SID starts with 'AC'", code="invalid_account")
        if not self.sender and not self.messaging_service_sid:
            raise InvalidInput(
                "a WhatsApp sender (whatsapp:+...) or a Messaging Service SID is needed",
                code="invalid_account",
            )
        if self.sender and not self.sender.startswith("whatsapp:+"):
            raise InvalidInput(
                f"the sender must look like whatsapp:+972..., not {self.sender!r}",
                code="invalid_account",
            )


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """One status callback: where Twilio says an outbound message has got to."""

    message_sid: str
    # None for a status Kesher does not track (Twilio adds values without notice).
    status: DeliveryStatus | None
    raw_status: str
    received_at: datetime
    address: str | None = None
    error_code: int | None = None
    error_message: str | None = None

    @property
    def needs_template(self) -> bool:
        return self.error_code == OUTSIDE_WINDOW


class FormParams(Mapping[str, str]):
    """Posted form fields in order with repeated names kept; `getall` is what the validator reads,
    exactly as signed. A field read by name has its NUL characters dropped: PostgreSQL text
    cannot hold them, and a forged-looking but signed body must get an answer, not a 503."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.pairs = tuple(pairs)
        self._first: dict[str, str] = {}
        for name, value in self.pairs:
            self._first.setdefault(name, value.replace("\x00", ""))

    def __getitem__(self, name: str) -> str:
        return self._first[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


def read_form(body: bytes) -> FormParams:
    """An x-www-form-urlencoded body as params, decoded as UTF-8; InvalidInput when it is not."""
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:
        raise InvalidInput("the body is not UTF-8 form data", code="invalid_form") from None
    except ValueError:
        raise InvalidInput(
            f"the body has more than {MAX_FIELDS} fields", code="invalid_form"
        ) from None
    return FormParams(pairs)


def verify(body: bytes, *, url: str, signature: str | None, auth_token: str) -> FormParams:
    """The posted params, once X-Twilio-Signature proves Twilio sent exactly these to `url`.

    `url` is the public URL Twilio called. Raises Forbidden for a missing or wrong signature and
    InvalidInput for a body that is not form data.
    """
    if not signature:
        raise Forbidden("missing X-Twilio-Signature", code="bad_signature")
    if not auth_token:
        # An empty HMAC key is one anybody can sign with.
        raise Forbidden("no Twilio auth token to check the signature with", code="bad_signature")
    validator = RequestValidator(auth_token)
    if "bodySHA256" in parse_qs(urlsplit(url).query):
        # Twilio signs a JSON body through its SHA-256 in the URL, with no params.
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("the body is not UTF-8", code="invalid_body") from None
        params, valid = FormParams(()), validator.validate(url, text, signature)
    else:
        params = read_form(body)
        valid = validator.validate(url, params, signature)
    if not valid:
        raise Forbidden("X-Twilio-Signature does not match the request", code="bad_signature")
    return params


def parse_inbound(
    body: bytes,
    *,
    url: str,
    signature: str | None,
    account: TwilioAccount,
    received_at: datetime,
) -> list[Inbound]:
    """A signed incoming-message webhook as the customer's message."""
    params = verify(body, url=url, signature=signature, auth_token=account.auth_token)
    return [inbound_from(params, received_at=received_at)]


def inbound_from(params: Mapping[str, str], *, received_at: datetime) -> Inbound:
    """The customer's message in verified webhook params; InvalidInput without MessageSid/From."""
    sid = _required(params, "MessageSid", limit=MAX_SID)
    address = _required(params, "From", limit=MAX_ADDRESS)
    body = params.get("Body", "")
    text = body if body.strip() else None
    notes = [*_media(params), *_location(params)]
    payload = params.get("ButtonPayload", "")
    label = params.get("ButtonText", "")
    if payload:
        return Inbound(
            channel=ChannelName.WHATSAPP,
            delivery_id=sid,
            address=address,
            received_at=received_at,
            kind=InboundKind.BUTTON,
            text=label or text,
            choice=payload,
            note=label or None,
            profile_name=_profile_name(params),
            channel_message_id=sid,
        )
    if text is None and label:
        text = label
    if text is None and not notes:
        # Still a message from the customer (it opens the 24-hour window): say what it was.
        notes.append(f"[{params.get('MessageType') or 'message'}]")
    return Inbound(
        channel=ChannelName.WHATSAPP,
        delivery_id=sid,
        address=address,
        received_at=received_at,
        text=text,
        note=" ".join(notes) or None,
        profile_name=_profile_name(params),
        channel_message_id=sid,
    )


def parse_status(
    body: bytes,
    *,
    url: str,
    signature: str | None,
    account: TwilioAccount,
    received_at: datetime,
) -> StatusUpdate:
    """A signed status callback as a StatusUpdate; unknown statuses come back with status None."""
    params = verify(body, url=url, signature=signature, auth_token=account.auth_token)
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    raw = params.get("MessageStatus") or params.get("SmsStatus") or ""
    if not sid or not raw:
        raise InvalidInput("a status callback needs MessageSid and MessageStatus", code="no_status")
    code = params.get("ErrorCode", "").strip()
    return StatusUpdate(
        message_sid=sid,
        status=STATUSES.get(raw.strip().lower()),
        raw_status=raw,
        received_at=received_at,
        address=params.get("To") or None,
        error_code=_number(code),
        error_message=params.get("ErrorMessage") or None,
    )


def public_url(base: str, request_url: str) -> str:
    """The URL Twilio called: KESHER_PUBLIC_URL with the request's path and query."""
    parts = urlsplit(request_url)
    return base.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


def _required(params: Mapping[str, str], name: str, *, limit: int) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise InvalidInput(f"the webhook has no {name}", code=f"missing_{name.lower()}")
    if len(value) > limit:
        raise InvalidInput(
            f"the webhook's {name} is over {limit} characters", code=f"invalid_{name.lower()}"
        )
    return value


def _profile_name(params: Mapping[str, str]) -> str | None:
    return params.get("ProfileName", "").strip()[:MAX_NAME].strip() or None


def _number(text: str) -> int | None:
    """A parameter's small whole number; None for anything else (a 5,000-digit one too)."""
    return int(text) if text.isdecimal() and len(text) <= 9 else None


def _media(params: Mapping[str, str]) -> list[str]:
    count = params.get("NumMedia", "0")
    notes = []
    for index in range(min(_number(count) or 0, 10)):
        link = params.get(f"MediaUrl{index}", "")
        kind = params.get(f"MediaContentType{index}", "").partition("/")[0] or "file"
        if link:
            notes.append(f"[{kind if kind in ('image', 'video', 'audio') else 'file'}: {link}]")
    return notes


def _location(params: Mapping[str, str]) -> list[str]:
    latitude, longitude = params.get("Latitude", ""), params.get("Longitude", "")
    if not latitude or not longitude:
        return []
    label = ", ".join(p for p in (params.get("Label", ""), params.get("Address", "")) if p)
    return [f"[location: {latitude},{longitude}{' ' + label if label else ''}]"]


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

    async def send(
        self,
        outbound: Outbound,
        *,
        account: TwilioAccount,
        status_callback: str | None = None,
    ) -> SentReceipt:
        """Send the reply (choices as a numbered list, long text in several messages), or the
        approved template the outbound names (ContentSid with ContentVariables as JSON).

        Returns the last message's SID and status; raises SendFailed saying whether to retry.
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
        else:
            parts = [{"body": text} for text in render(outbound.reply)]
        client = Client(account.account_sid, account.auth_token, http_client=self._client())
        options: dict[str, Any] = {"to": to}
        if account.sender:
            options["from_"] = account.sender
        if account.messaging_service_sid:
            options["messaging_service_sid"] = account.messaging_service_sid
        if status_callback:
            options["status_callback"] = status_callback
        receipt: SentReceipt | None = None
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
    """The reply as message bodies: choices as a numbered list (no buttons without templates)."""
    text = reply.text.strip()
    if reply.choices:
        listed = "\n".join(f"{n}. {c.label}" for n, c in enumerate(reply.choices, start=1))
        text = f"{text}\n\n{listed}" if text else listed
    return split_text(text, limit=limit)


def account_from(account: ChannelAccount | None) -> TwilioAccount:
    """A stored channel account as a TwilioAccount.

    Credentials: account_sid, auth_token. Settings: sender, messaging_service_sid, mps.
    """
    if account is None:
        raise Forbidden("WhatsApp is not connected for this business", code="not_connected")
    return TwilioAccount(
        account_sid=account.secret("account_sid") or str(account.settings.get("account_sid", "")),
        auth_token=account.secret("auth_token"),
        sender=account.settings.get("sender") or None,
        messaging_service_sid=account.settings.get("messaging_service_sid") or None,
        mps=int(account.settings.get("mps") or DEFAULT_MPS),
    )


def parse_mps(value: str | None) -> int:
    """The MPS given as text (a form, a flag); DEFAULT_MPS when empty, InvalidInput when not 1-400."""
    if value is None or not value.strip():
        return DEFAULT_MPS
    if not value.strip().isdecimal():
        raise InvalidInput(
            f"the MPS (messages a second) must be a whole number, not {value!r}",
            code="invalid_mps",
        )
    return int(value)


class WhatsAppChannel:
    """The Channel port for WhatsApp through Twilio, over the functions above."""

    name = ChannelName.WHATSAPP
    capabilities = CAPABILITIES

    def __init__(
        self,
        api_url: str,
        *,
        public_base: str,
        limiter: RateLimiter | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.public_base = public_base.rstrip("/")
        self.sender = WhatsAppSender(api_url, timeout=timeout, limiter=limiter)

    async def parse(self, request: WebhookRequest) -> list[Inbound]:
        return parse_inbound(
            request.body,
            url=public_url(self.public_base, request.url),
            signature=_header(request.headers, SIGNATURE_HEADER),
            account=_webhook_account(request),
            received_at=request.received_at,
        )

    def status(self, request: WebhookRequest) -> StatusUpdate:
        return parse_status(
            request.body,
            url=public_url(self.public_base, request.url),
            signature=_header(request.headers, SIGNATURE_HEADER),
            account=_webhook_account(request),
            received_at=request.received_at,
        )

    async def send(self, outbound: Outbound) -> SentReceipt:
        try:
            account = account_from(outbound.account)
        except (Forbidden, InvalidInput) as error:
            raise SendFailed(f"WhatsApp: {error.message}", retryable=False) from None
        return await self.sender.send(
            outbound,
            account=account,
            status_callback=f"{self.public_base}/webhooks/whatsapp/{outbound.business}/status",
        )

    async def connect(
        self, credentials: Mapping[str, str], *, webhook_url: str
    ) -> Mapping[str, Any]:
        """Check the values; Twilio's webhook URLs are pasted in its console by the owner.

        `mps` (optional, 1-400, default 80) is the sender's throughput, kept in the settings.
        """
        if not credentials.get("auth_token", "").strip():
            raise InvalidInput("the Twilio auth token is empty", code="invalid_account")
        account = TwilioAccount(
            account_sid=credentials.get("account_sid", "").strip(),
            auth_token=credentials["auth_token"].strip(),
            sender=credentials.get("sender", "").strip() or None,
            messaging_service_sid=credentials.get("messaging_service_sid", "").strip() or None,
            mps=parse_mps(credentials.get("mps")),
        )
        return {
            "sender": account.sender,
            "messaging_service_sid": account.messaging_service_sid,
            "mps": account.mps,
            "webhook_url": webhook_url,
            "status_url": f"{webhook_url}/status",
        }

    async def disconnect(self, credentials: Mapping[str, str]) -> None:
        """Nothing to undo at Twilio; the stored credentials are dropped by the caller."""

    async def aclose(self) -> None:
        await self.sender.aclose()


def _webhook_account(request: WebhookRequest) -> TwilioAccount:
    try:
        return account_from(request.account)
    except InvalidInput as error:
        # A half-configured account cannot verify anything: refuse, never a 400 to Twilio.
        raise Forbidden(f"WhatsApp: {error.message}", code="not_connected") from None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)
