"""The plain records Kesher's core, its adapters and its storage pass to one another.

Adapters and repositories take and return these dataclasses; nothing outside `storage/`
ever sees an ORM object or a session.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from flows.inbox import Status

# A conversation's place in the team's queue (the moves are flows.inbox's).
ConversationStatus = Status


class ChannelName(StrEnum):
    SANDBOX = "sandbox"
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class DeliveryStatus(StrEnum):
    """Delivery states of one message; a later state never moves back to an earlier one."""

    RECEIVED = "received"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    SKIPPED = "skipped"
    # Outside WhatsApp's 24-hour window with no approved template: held, never sent to fail.
    NEEDS_TEMPLATE = "needs_template"


class ConversationMode(StrEnum):
    BOT = "bot"
    HUMAN = "human"


class InboundKind(StrEnum):
    """What a customer did on a channel; only messages, commands and buttons get replies."""

    MESSAGE = "message"
    EDIT = "edit"
    BUTTON = "button"
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"
    COMMAND = "command"


class AccountStatus(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    NEEDS_TEMPLATE = "needs_template"


class CheckinStatus(StrEnum):
    """Where one planned touch is: waiting, taken by the dispatcher, asked, and how it ended."""

    PLANNED = "planned"
    CLAIMED = "claimed"
    SENT = "sent"
    ANSWERED = "answered"
    EXPIRED = "expired"
    SKIPPED = "skipped"


class OutboxKind(StrEnum):
    """Why a message goes out; only consent notices may reach an opted-out customer.

    The proactive kinds (check-in to handoff notice) are the ones a business approves a
    WhatsApp template for, to reach a customer outside the 24-hour window.
    """

    REPLY = "reply"
    CONSENT = "consent"
    CHECKIN = "checkin"
    NPS = "nps"
    CSAT = "csat"
    FOLLOW_UP = "follow_up"
    HANDOFF_NOTICE = "handoff_notice"


class EventKind(StrEnum):
    """What Kesher itself writes on a customer's timeline; a business's own events (posted
    through the API) have names of their own and may not pose as one of these."""

    CUSTOMER_CREATED = "customer_created"
    IDENTITY_LINKED = "identity_linked"
    CHANNEL_BLOCKED = "channel_blocked"
    CHANNEL_UNBLOCKED = "channel_unblocked"
    MESSAGE_EDITED = "message_edited"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    FEEDBACK_RECEIVED = "feedback_received"
    FRUSTRATION_DETECTED = "frustration_detected"
    SURVEY_ANSWERED = "survey_answered"
    NOT_UNDERSTOOD = "not_understood"
    CHECKIN_SENT = "checkin_sent"
    CHECKIN_EXPIRED = "checkin_expired"
    DELIVERY_FAILED = "delivery_failed"
    HANDOFF_REQUESTED = "handoff_requested"
    HANDOFF_ASSIGNED = "handoff_assigned"
    AGENT_REPLIED = "agent_replied"
    NOTE = "note"
    HANDOFF_RESOLVED = "handoff_resolved"
    HANDOFF_OVERDUE = "handoff_overdue"
    ANSWERED_FROM_KNOWLEDGE = "answered_from_knowledge"


class KesherError(Exception):
    """A failure the caller can explain to a person: it carries a stable code."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(KesherError):
    code = "invalid_input"


class NotFound(KesherError):
    code = "not_found"


class Forbidden(KesherError):
    code = "forbidden"


class SendFailed(KesherError):
    """A channel could not send; `retryable` says whether trying again later may work, and
    `throttled` that Kesher itself held the message back (no turn under the provider's rate
    limits soon enough): nothing was tried, so no attempt is counted."""

    code = "send_failed"

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        unreachable: bool = False,
        throttled: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.unreachable = unreachable
        self.throttled = throttled


class ProviderError(KesherError):
    """A provider refused or failed a setup call (a bad token, an unreachable API)."""

    code = "provider_error"


class DuplicateDelivery(KesherError):
    """The delivery was already stored (raised when a commit hits the delivery log's key)."""

    code = "duplicate_delivery"


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


@dataclass(frozen=True, slots=True)
class SentReceipt:
    channel_message_id: str
    status: DeliveryStatus


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
class Opinion:
    """A language model's second opinion on one message."""

    score: float
    wants_person: bool
    reason: str
    topic: str


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
class QueueFilter:
    """Which of a business's conversations an agent lists: one status, and optionally only
    those assigned to one agent (`assignee`) or to nobody (`unassigned`), on one channel, with
    one label, or matching `search` (the customer's name or address, or any of their words)."""

    status: ConversationStatus = ConversationStatus.OPEN
    assignee: int | None = None
    unassigned: bool = False
    channel: ChannelName | None = None
    label: str | None = None
    search: str | None = None


@dataclass(frozen=True, slots=True)
class QueuedConversation:
    """One row of the inbox's list: the conversation, who wrote and their last words."""

    conversation: Conversation
    customer_name: str | None
    address: str
    channel: ChannelName
    last_text: str | None


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
class ScheduleRecord:
    """A stored schedule: its checked definition as the business wrote it."""

    id: int
    business_id: int
    name: str
    flow: str
    definition: Mapping[str, Any]
    active: bool
    priority: int
    starts_at: datetime
    planned_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Checkin:
    """One planned touch of one customer, and the flow run it started once sent."""

    id: int
    business_id: int
    schedule_id: int | None
    customer_id: uuid.UUID
    key: str
    flow: str
    priority: int
    status: CheckinStatus
    due_at: datetime
    send_at: datetime
    reason: str | None = None
    channel: ChannelName | None = None
    conversation_id: uuid.UUID | None = None
    run: Mapping[str, Any] | None = None
    wake_at: datetime | None = None
    sent_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PlannedTouch:
    """A check-in to add; `key` makes planning the same occurrence twice a no-op."""

    customer_id: uuid.UUID
    key: str
    flow: str
    due_at: datetime
    send_at: datetime
    schedule_id: int | None = None
    priority: int = 0
    reason: str | None = None


CalendarDay = tuple[str, date, datetime | None, datetime | None, datetime | None]
"""(timezone, local day, allowed from, allowed until, next day's opening), UTC; see
`flows.contact.AllowedDay`."""


@dataclass(frozen=True, slots=True)
class CadencePlan:
    """What planning a cadence schedule set-based needs: its touch, its segment, the calendar.

    Customers whose next touch would fall at or after `horizon` wait for a later pass.
    """

    flow: str
    priority: int
    period: timedelta
    start_of: datetime
    horizon: datetime
    calendar: tuple[CalendarDay, ...]
    moved_reason: str
    language: str | None = None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class PlanningFacts:
    """What planning one schedule needs to know about one customer."""

    customer_id: uuid.UUID
    language: str
    timezone: str
    attributes: Mapping[str, Any]
    opted_out: bool
    channels: frozenset[str]
    last_touch: datetime | None
    pending: bool
    occurrences: int


@dataclass(frozen=True, slots=True)
class ContactHistory:
    """What the contact rules need to know about one customer at send time."""

    recent_touches: tuple[datetime, ...] = ()
    run_active: bool = False
    last_answered: datetime | None = None
    handoff_open: bool = False
    last_complaint: datetime | None = None


@dataclass(frozen=True, slots=True)
class TouchFacts:
    """What making one claimed touch needs: its customer, where to reach them, their history.

    `identities` are the reachable ones in the order they were linked; `conversations` the
    open conversation of each identity that has one.
    """

    checkin: Checkin
    customer: Customer | None
    identities: tuple[Identity, ...]
    last_channel: ChannelName | None
    history: ContactHistory
    conversations: Mapping[int, Conversation]


@dataclass(frozen=True, slots=True)
class TouchStart:
    """One touch to record as made: claimed → sent, its messages, outbox rows and event.

    `conversation_id` None opens a new conversation on the identity.
    """

    checkin_id: int
    customer_id: uuid.UUID
    identity_id: int
    channel: ChannelName
    conversation_id: uuid.UUID | None
    run: Mapping[str, Any]
    wake_at: datetime | None
    replies: tuple[tuple[str, tuple[Choice, ...]], ...]
    kind: OutboxKind
    key: str
    event: Mapping[str, Any]


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


@dataclass(frozen=True, slots=True)
class Answer:
    customer_id: uuid.UUID
    flow: str
    question: str
    value: str
    answered_at: datetime
    checkin_id: int | None = None
    score: int | None = None
    score_kind: str | None = None
    label: str | None = None

    @property
    def shown(self) -> str:
        """What the customer chose as they saw it (a button's label), else the value."""
        return self.label or self.value


@dataclass(frozen=True, slots=True)
class ScoredAnswer:
    """One survey score with who gave it: the segments it counts in."""

    at: datetime
    score: int
    schedule_id: int | None
    language: str
    channel: str | None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AgentTally:
    """One agent's count of something in one week of several (`week` indexes them), and the
    sum that goes with it: seconds waited, or follow-up answers that said solved. `agent_id`
    None counts what no agent held."""

    agent_id: int | None
    week: int
    count: int
    total: float


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with an e-mail."""

    filename: str
    content: bytes
    media_type: str


@dataclass(frozen=True, slots=True)
class ThemeName:
    """What a language model calls a feedback theme."""

    label: str
    summary: str


@dataclass(frozen=True, slots=True)
class Remark:
    """Something a customer wrote in words: a free-text answer ('answer'), a message to the
    feedback channel ('feedback') or a message found frustrated ('complaint')."""

    customer_id: uuid.UUID
    text: str
    at: datetime
    source: str


@dataclass(frozen=True, slots=True)
class CustomerSignals:
    """What a customer's health is judged from: scores, complaints, handoffs and silence."""

    customer_id: uuid.UUID
    name: str | None
    language: str
    opted_out: bool
    nps: tuple[tuple[datetime, int], ...] = ()
    csat: tuple[tuple[datetime, int], ...] = ()
    complaints: tuple[datetime, ...] = ()
    handoffs: tuple[datetime, ...] = ()
    unanswered: int = 0
    last_contact: datetime | None = None


class AgentRole(StrEnum):
    AGENT = "agent"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Agent:
    """A person who answers handed-off customers of one business from the inbox."""

    id: int
    business_id: int
    email: str
    name: str
    role: AgentRole
    language: str
    capacity: int
    online: bool = False
    telegram_chat: str | None = None
    failed_logins: int = 0
    locked_until: datetime | None = None
    # The agent's alert preferences as stored (`flows.staff_alerts.parse_preferences`).
    alerts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Handoff:
    """One conversation handed to a person, from the request until it is the bot's again."""

    id: int
    business_id: int
    customer_id: uuid.UUID
    conversation_id: uuid.UUID
    state: str
    trigger: str
    reason: str
    requested_at: datetime
    sla_due_at: datetime
    agent_id: int | None = None
    assigned_at: datetime | None = None
    first_reply_at: datetime | None = None
    sla_noticed_at: datetime | None = None
    resolved_at: datetime | None = None
    announced_at: datetime | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True, slots=True)
class KnowledgeEntry:
    """One of a business's facts (hours, address, parking, prices) or questions with their
    answers, in Hebrew, English or both; `vectors` are its texts' meaning as passages (empty
    where the encoder was off when it was saved)."""

    id: int
    business_id: int
    kind: str
    question_he: str
    answer_he: str
    question_en: str
    answer_en: str
    created_at: datetime
    updated_at: datetime
    vectors: tuple[tuple[float, ...], ...] = ()

    def texts(self) -> tuple[str, ...]:
        """Each language's question and answer as one passage, the languages it has."""
        return tuple(
            f"{q}\n{a}".strip()
            for q, a in ((self.question_he, self.answer_he), (self.question_en, self.answer_en))
            if (q + a).strip()
        )

    def answer(self, language: str) -> str:
        """The answer in `language`, or in the other one when it has none."""
        first, second = (
            (self.answer_he, self.answer_en)
            if language == "he"
            else (self.answer_en, self.answer_he)
        )
        return first.strip() or second.strip()


class QuestionStatus(StrEnum):
    """Where a customer's question stands with the knowledge base: waiting for the worker,
    answered automatically, not answered (nothing matched, or the language model found no
    support), or passed over (a person took the conversation first)."""

    PENDING = "pending"
    ANSWERED = "answered"
    UNANSWERED = "unanswered"
    PASSED = "passed"


@dataclass(frozen=True, slots=True)
class KnowledgeQuestion:
    """A customer's message put to the knowledge base, and what became of it: the reply and
    the entries it used, its score, and whether the customer said it did not help."""

    id: int
    business_id: int
    customer_id: uuid.UUID
    message_id: int
    text: str
    status: QuestionStatus
    first: bool
    asked_at: datetime
    entries: tuple[int, ...] = ()
    score: float | None = None
    reply_id: int | None = None
    unhelpful: bool = False
    settled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WrittenAnswer:
    """A language model's answer to a question, and the entries it says it rests on."""

    text: str
    entries: tuple[int, ...]
