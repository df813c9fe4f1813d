"""The sandbox channel: a JSON chat for demos, the web chat page and tests.

It is a real channel with the same pipeline as Telegram and WhatsApp; what it "sends" is the
outbound message row itself, which the sandbox endpoints read back.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from bot.domain import (
    Capabilities,
    ChannelName,
    DeliveryStatus,
    Inbound,
    InvalidInput,
    Outbound,
    SentReceipt,
    WebhookRequest,
)

MAX_TEXT = 4096
MAX_ID = 128


class SandboxChannel:
    name = ChannelName.SANDBOX
    capabilities = Capabilities(buttons=True, max_text=MAX_TEXT, can_initiate=True)

    async def parse(self, request: WebhookRequest) -> list[Inbound]:
        body = _json_object(request.body)
        customer = _identifier(body, "customer", required=True)
        message_id = _identifier(body, "message_id", required=False)
        text = body.get("text")
        choice = body.get("choice")
        if text is not None and not isinstance(text, str):
            raise InvalidInput("'text' must be a string", code="invalid_field")
        if choice is not None and not isinstance(choice, str):
            raise InvalidInput("'choice' must be a string or null", code="invalid_field")
        if (text is None or not text.strip()) and not choice:
            raise InvalidInput("'text' is empty and no 'choice' was given", code="empty_text")
        if text is not None and len(text) > MAX_TEXT:
            raise InvalidInput(
                f"'text' is {len(text)} characters; at most {MAX_TEXT} are accepted",
                code="text_too_long",
            )
        if choice is not None and len(choice) > MAX_ID:
            raise InvalidInput(f"'choice' is longer than {MAX_ID} characters", code="invalid_field")
        return [
            Inbound(
                channel=ChannelName.SANDBOX,
                delivery_id=_delivery(customer or "", message_id),
                address=customer or "",
                received_at=request.received_at,
                text=text if text is not None and text.strip() else None,
                choice=choice or None,
                channel_message_id=message_id,
            )
        ]

    async def send(self, outbound: Outbound) -> SentReceipt:
        return SentReceipt(
            channel_message_id=f"sandbox-{uuid.uuid4().hex}", status=DeliveryStatus.DELIVERED
        )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"the body is not valid UTF-8 (byte {error.start})", code="invalid_utf8"
        ) from None
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"the body is not valid JSON: {error.msg}", code="invalid_json"
        ) from None
    except (ValueError, RecursionError):  # a 5,000-digit number, or nesting past Python's depth
        raise InvalidInput("the body is not JSON Kesher can read", code="invalid_json") from None
    if not isinstance(decoded, dict):
        raise InvalidInput("the body must be a JSON object", code="invalid_json")
    try:
        json.dumps(decoded, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise InvalidInput(
            "the body holds a lone surrogate (\\ud800-\\udfff), which is not text",
            code="invalid_json",
        ) from None
    return decoded


def _delivery(customer: str, message_id: str | None) -> str:
    """The delivery's key: a caller's message id is its own per customer, not across them."""
    if message_id is None:
        return uuid.uuid4().hex
    return hashlib.sha256(f"{customer}\n{message_id}".encode()).hexdigest()


def _identifier(body: dict[str, Any], field: str, *, required: bool) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise InvalidInput(f"'{field}' is required", code="missing_field")
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidInput(f"'{field}' must be a string", code="invalid_field")
    value = str(value).strip()
    if not value or len(value) > MAX_ID:
        raise InvalidInput(f"'{field}' must be 1 to {MAX_ID} characters", code="invalid_field")
    return value
