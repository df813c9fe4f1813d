"""What Twilio posts: the form read as signed, X-Twilio-Signature checked with the SDK's
RequestValidator, and the incoming message or status callback normalised."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from urllib.parse import parse_qs, parse_qsl, urlsplit

from twilio.request_validator import RequestValidator

from bot.domain import ChannelName, Forbidden, Inbound, InboundKind, InvalidInput
from integrations.whatsapp.account import TwilioAccount
from integrations.whatsapp.statuses import STATUSES, StatusUpdate

SIGNATURE_HEADER = "x-twilio-signature"
MAX_FIELDS = 500
# Twilio's SIDs are 34 characters and a WhatsApp address ("whatsapp:+" and an E.164 number)
# at most 25; longer ones are refused, not stored cut. Both have to fit, with "button:", in a
# 128-character key of the delivery log (bot/inbound/pipeline.py's tap key); a name is kept to 200.
MAX_SID = 64
MAX_ADDRESS = 48
MAX_NAME = 200


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
    # A quick-reply button says ButtonPayload/ButtonText, a list's item ListId/ListTitle.
    payload = params.get("ButtonPayload", "") or params.get("ListId", "")
    label = params.get("ButtonText", "") or params.get("ListTitle", "")
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
