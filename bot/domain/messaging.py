"""What crosses a channel: inbound deliveries, outbound messages, their buttons, receipts and delivery reports, and a channel account's settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.domain.kinds import AccountStatus, ChannelName, DeliveryStatus, InboundKind


@dataclass(frozen=True, slots=True)
class Choice:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True, slots=True)
class Rate:
    """At most `count` hits per `per`."""

    count: int
    per: timedelta


@dataclass(frozen=True, slots=True)
class Capabilities:
    buttons: bool
    max_text: int
    can_initiate: bool
    reply_window: timedelta | None = None


@dataclass(frozen=True, slots=True)
class ChannelAccount:
    """A business's account on one channel; `credentials` holds secrets and is never shown."""

    id: int
    business_id: int
    channel: ChannelName
    status: AccountStatus
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    settings: Mapping[str, Any] = field(default_factory=dict)
    last_error: str | None = None
    updated_at: datetime | None = None

    def secret(self, name: str) -> str:
        return self.credentials.get(name, "")


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One HTTP delivery from a provider, exactly as received, with the business's account."""

    business: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime
    account: ChannelAccount | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a customer did on a channel, normalised."""

    channel: ChannelName
    delivery_id: str
    address: str
    received_at: datetime
    text: str | None = None
    choice: str | None = None
    profile_name: str | None = None
    channel_message_id: str | None = None
    kind: InboundKind = InboundKind.MESSAGE
    # What a non-text message was ("[voice]"), or the label of the button tapped.
    note: str | None = None
    command: str | None = None
    payload: str | None = None
    callback_id: str | None = None
    # The language of the customer's app, when the channel tells.
    language: str | None = None


@dataclass(frozen=True, slots=True)
class FilledTemplate:
    """An approved template to send instead of free text, with its variables filled in."""

    sid: str
    # Twilio's ContentVariables: "1", "2", ... → value.
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outbound:
    channel: ChannelName
    business: str
    address: str
    reply: Reply
    idempotency_key: str
    account: ChannelAccount | None = None
    template: FilledTemplate | None = None
    # An earlier attempt may have reached the provider since then (its worker died before
    # recording the answer): a channel that can look its messages up sends only what is not
    # there yet. Telegram cannot, and sends again.
    resume_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class SentReceipt:
    channel_message_id: str
    status: DeliveryStatus
    # Found at the provider, sent by an earlier attempt, rather than sent now.
    found: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """A provider's word on a message it was given: delivered, read, failed with a code..."""

    channel: ChannelName
    channel_message_id: str
    status: DeliveryStatus | None
    received_at: datetime
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with an e-mail."""

    filename: str
    content: bytes
    media_type: str
