"""What Twilio posts: the form read as signed, X-Twilio-Signature checked with the SDK's
RequestValidator, and the incoming message or status callback normalised."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator

from bot.domain import ChannelName, Forbidden, Inbound, InboundKind, InvalidInput
from integrations.whatsapp.account import TwilioAccount
from integrations.whatsapp.fields import message_sid
from integrations.whatsapp.forms import FormParams, read_form
from integrations.whatsapp.statuses import STATUSES, StatusUpdate

SIGNATURE_HEADER = "x-twilio-signature"
# A name is kept to 200 characters. A SID (34) and an address (at most 25, fields.py) fit,
# with "button:", in a 128-character key of the delivery log (bot/inbound/pipeline.py's tap key).
MAX_NAME = 200


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
    """A signed incoming-message webhook, its identifying fields checked (fields.py), as the
    customer's message."""
    params = verify(body, url=url, signature=signature, auth_token=account.auth_token)
    sid = message_sid(params, account, incoming=True)
    return [inbound_from(params, sid=sid, received_at=received_at)]


def inbound_from(params: Mapping[str, str], *, sid: str, received_at: datetime) -> Inbound:
    """The customer's message `sid` in verified webhook params; InvalidInput without From."""
    address = params.get("From", "").strip()
    if not address:
        raise InvalidInput("the webhook has no From", code="missing_from")
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
    sid = message_sid(params, account, incoming=False)
    raw = params.get("MessageStatus") or params.get("SmsStatus") or ""
    if not raw:
        raise InvalidInput("a status callback needs MessageStatus", code="no_status")
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
