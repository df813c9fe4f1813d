"""A business, its customers and their addresses, conversations, messages, events and outbox items, and the rows they are made from."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.kinds import (
    ChannelName,
    ConversationMode,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    OutboxKind,
    OutboxStatus,
)
from bot.domain.messaging import ChannelAccount, Choice


@dataclass(frozen=True, slots=True)
class Business:
    id: int
    slug: str
    name: str
    language: str = "he"
    timezone: str = "Asia/Jerusalem"
    sandbox_enabled: bool = False
    detector_sensitivity: str = "balanced"
    contact_rules: Mapping[str, Any] = field(default_factory=dict)
    # Opt-out and opt-in words of this business's own, on top of the standard ones.
    opt_out_words: tuple[str, ...] = ()
    opt_in_words: tuple[str, ...] = ()
    handoff_rules: Mapping[str, Any] = field(default_factory=dict)
    canned_replies: tuple[CannedReply, ...] = ()
    # When a person answers the inbox (flows.opening_hours); empty: the default week.
    opening_hours: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CannedReply:
    """A ready answer agents pick in the inbox: a short title and its text."""

    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Customer:
    id: uuid.UUID
    business_id: int
    name: str | None
    phone: str | None
    language: str
    timezone: str
    attributes: Mapping[str, Any]
    opted_out: bool
    consent_at: datetime | None
    created_at: datetime
    external_id: str | None = None
    opted_out_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CustomerFields:
    """What a business says about a customer (an import row, an API call)."""

    name: str | None = None
    phone: str | None = None
    language: str | None = None
    timezone: str | None = None
    external_id: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LikelyDuplicates:
    """Customers who may be one person, and why: the same `phone`, the same `email` (an
    attribute, in any case), or the same `external_id` written in another form; for a person
    to confirm, never merged on their own."""

    reason: str
    value: str
    customers: tuple[Customer, ...]


@dataclass(frozen=True, slots=True)
class Identity:
    id: int
    customer_id: uuid.UUID
    channel: ChannelName
    address: str
    reachable: bool = True
    last_inbound_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    id: uuid.UUID
    customer_id: uuid.UUID
    identity_id: int
    mode: ConversationMode
    open: bool
    started_at: datetime
    # Its place in the team's queue (flows.inbox); None while no person is needed.
    status: ConversationStatus | None = None
    status_at: datetime | None = None
    auto_answered: bool = False
    snoozed_until: datetime | None = None
    assignee_id: int | None = None
    labels: tuple[str, ...] = ()
    unread: int = 0
    last_message_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    direction: Direction
    channel: ChannelName
    text: str
    status: DeliveryStatus
    created_at: datetime
    choices: tuple[Choice, ...] = ()
    channel_message_id: str | None = None
    reply_to_id: int | None = None
    frustration: float | None = None
    frustration_reasons: tuple[str, ...] = ()
    edited_text: str | None = None
    edited_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    customer_id: uuid.UUID
    kind: str
    occurred_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    business_id: int
    message_id: int
    idempotency_key: str
    kind: OutboxKind
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = None
    template_only: bool = False
    claimed_at: datetime | None = None
    # Since when an unfinished send has been handed to the provider (see `resumed_since`).
    sending_since: datetime | None = None

    @property
    def resumed_since(self) -> datetime | None:
        """When an earlier claim of this row may already have reached the provider: its
        worker died, or the provider's answer was lost, before the send was recorded."""
        if self.sending_since is None or self.claimed_at is None:
            return None
        return self.sending_since if self.sending_since < self.claimed_at else None


@dataclass(frozen=True, slots=True)
class OutboxSend:
    """What sending one outbox row takes, read in one go: the row, its message, the identity it
    goes to, the business and its account on that channel, the customer (None if not the
    business's), and whether an earlier row of the conversation is still unsent (`behind`)."""

    item: OutboxItem
    message: Message
    identity: Identity
    business: Business
    customer: Customer | None
    account: ChannelAccount | None
    behind: bool


@dataclass(frozen=True, slots=True)
class NewConversation:
    """A conversation to open on one of a customer's identities, among many opened at once."""

    customer_id: uuid.UUID
    identity_id: int


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append for a customer, among many appended at once."""

    customer_id: uuid.UUID
    kind: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to store in a conversation, among many stored at once."""

    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    channel: ChannelName
    text: str
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True, slots=True)
class NewOutboxItem:
    """A message to queue for sending, among many queued at once."""

    message_id: int
    kind: OutboxKind
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One of a business's API keys, known only by the hash of the key itself."""

    id: int
    business_id: int
    key_hash: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def fingerprint(self) -> str:
        """The start of the hash: what the audit log names the key by (`api-key:<this>`)."""
        return self.key_hash[:12]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who did what to whose record, and when: an export, a permanent delete."""

    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: Mapping[str, Any] = field(default_factory=dict)
