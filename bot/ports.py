"""The seams between Kesher's core and the outside world: small async Protocols.

Each port has one real implementation (PostgreSQL, Redis, taskiq on Redis, a provider's
SDK) and one in-memory implementation for the embedded single-process mode and fast tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

from bot.domain import (
    AccountStatus,
    Agent,
    AgentRole,
    Answer,
    ApiKey,
    Attachment,
    AuditEntry,
    Business,
    CadencePlan,
    CannedReply,
    Capabilities,
    ChannelAccount,
    ChannelName,
    Checkin,
    CheckinStatus,
    Choice,
    ContactHistory,
    Conversation,
    ConversationMode,
    Customer,
    CustomerFields,
    CustomerSignals,
    DeliveryStatus,
    Direction,
    Event,
    Handoff,
    Identity,
    Inbound,
    Message,
    Opinion,
    Outbound,
    OutboxItem,
    OutboxKind,
    OutboxSend,
    OutboxStatus,
    PlannedTouch,
    PlanningFacts,
    Rate,
    Remark,
    ScheduleRecord,
    ScoredAnswer,
    SentReceipt,
    ThemeName,
    TouchFacts,
    TouchStart,
    WebhookRequest,
)


class Clock(Protocol):
    def now(self) -> datetime: ...


class Channel(Protocol):
    name: ChannelName
    capabilities: Capabilities

    async def parse(self, request: WebhookRequest) -> list[Inbound]:
        """Verify the provider's signature, then normalise; raises InvalidInput or Forbidden."""
        ...

    async def send(self, outbound: Outbound) -> SentReceipt: ...


class ChannelSetup(Protocol):
    """Connecting a business's account at the provider (Telegram's getMe and setWebhook)."""

    async def connect(
        self, credentials: Mapping[str, str], *, webhook_url: str
    ) -> Mapping[str, Any]:
        """Check the credentials and point the provider at `webhook_url`; returns settings to keep.

        Raises InvalidInput when the provider refuses the credentials, ProviderError otherwise.
        """
        ...

    async def disconnect(self, credentials: Mapping[str, str]) -> None: ...


class ButtonAnswer(Protocol):
    """Settles a button tap at the provider: stops the spinner and takes the buttons away."""

    async def answer_button(self, inbound: Inbound, *, account: ChannelAccount) -> None: ...


class Idempotency(Protocol):
    """A shared set of keys that expire: delivery ids already seen."""

    async def add(self, key: str, *, ttl: timedelta) -> bool:
        """Add the key; True when it was not there before."""
        ...

    async def contains(self, key: str) -> bool: ...

    async def discard(self, key: str) -> None: ...


class ConversationLock(Protocol):
    def hold(self, key: str, *, timeout: timedelta) -> AbstractAsyncContextManager[None]:
        """Hold the lock for `key`; raises TimeoutError when it cannot be had within timeout."""
        ...

    def hold_all(
        self, keys: Sequence[str], *, timeout: timedelta
    ) -> AbstractAsyncContextManager[None]:
        """Hold the locks of all `keys` at once (a batch's customers), each excluding `hold`
        of the same key; raises TimeoutError, holding none, when not all can be had within
        timeout."""
        ...


class RateLimiter(Protocol):
    async def hit(self, key: str, rate: Rate) -> bool:
        """Count one hit; False (and nothing counted) when the key is over its rate."""
        ...

    async def retry_after(self, key: str, rate: Rate) -> float:
        """Seconds until the next hit would be allowed."""
        ...

    async def reserve(self, key: str, rate: Rate, *, max_wait: float) -> float | None:
        """Book the key's next turn at an even pace, one every `rate.per / rate.count`; the
        seconds to wait for it, or None (nothing booked) when that is longer than `max_wait`.

        For sending to a provider: turns are spread out, never a burst, so any `per` holds at
        most `count` of them, whichever process booked them."""
        ...


class SecondOpinion(Protocol):
    """An optional language model asked about messages the offline detector is unsure of."""

    async def review(self, text: str, *, language: str | None) -> Opinion | None:
        """The model's opinion, or None when it failed or took too long (keep the offline verdict)."""
        ...


class Summarizer(Protocol):
    """An optional language model that sums up a handed-off conversation for the agent."""

    async def summarize(self, lines: Sequence[str], *, language: str) -> str | None:
        """A few sentences on the customer's issue, or None when it failed or took too long."""
        ...


class Mailer(Protocol):
    """Outgoing e-mail to the business's own people (the weekly digest), when configured."""

    async def send(
        self, to: str, subject: str, text: str, *, attachments: Sequence[Attachment] = ()
    ) -> None:
        """Hand the message to the mail server; raises SendFailed when it refuses or is down."""
        ...


class ThemeNamer(Protocol):
    """An optional language model that names a feedback theme from what customers wrote."""

    async def name(self, quotes: Sequence[str], *, word: str, language: str) -> ThemeName | None:
        """A short label and a sentence of summary, or None when it failed or took too long."""
        ...


class TaskQueue(Protocol):
    async def enqueue(self, task: str, /, **kwargs: Any) -> None: ...


class BusinessRepository(Protocol):
    async def add(
        self,
        slug: str,
        *,
        name: str,
        sandbox_enabled: bool,
        created_at: datetime,
        language: str = "he",
    ) -> Business: ...

    async def get_by_slug(self, slug: str) -> Business | None: ...

    async def get(self, business_id: int) -> Business: ...

    async def set_consent_words(
        self, business_id: int, *, opt_out: Sequence[str], opt_in: Sequence[str]
    ) -> None:
        """The business's own opt-out and opt-in words, on top of the standard ones."""
        ...

    async def add_api_key(
        self, business_id: int, *, key_hash: str, created_at: datetime
    ) -> ApiKey: ...

    async def find_by_api_key(self, key_hash: str) -> Business | None:
        """The business whose key this is, unless the key was revoked."""
        ...

    async def api_keys(self, business_id: int) -> Sequence[ApiKey]:
        """The business's keys, revoked ones included, oldest first."""
        ...

    async def revoke_api_key(self, business_id: int, key_id: int, *, at: datetime) -> ApiKey | None:
        """Revoke the key (a revoked one keeps its first time); None when the business has no
        such key."""
        ...

    async def set_detector_sensitivity(self, business_id: int, sensitivity: str) -> None: ...

    async def set_contact_rules(self, business_id: int, rules: Mapping[str, Any]) -> None: ...

    async def set_handoff_rules(self, business_id: int, rules: Mapping[str, Any]) -> None: ...

    async def set_canned_replies(
        self, business_id: int, replies: Sequence[CannedReply]
    ) -> None: ...


class CustomerRepository(Protocol):
    async def add(
        self,
        business_id: int,
        *,
        name: str | None,
        phone: str | None,
        language: str,
        timezone: str,
        attributes: Mapping[str, Any],
        created_at: datetime,
        external_id: str | None = None,
    ) -> Customer: ...

    async def get(self, business_id: int, customer_id: uuid.UUID) -> Customer | None: ...

    async def find_by_external_id(self, business_id: int, external_id: str) -> Customer | None: ...

    async def find_by_phone(self, business_id: int, phone: str) -> Customer | None: ...

    async def unreachable(self, business_id: int) -> int:
        """How many customers (not opted out) have no channel they can be reached on yet."""
        ...

    async def find_refs(
        self, business_id: int, *, external_ids: Sequence[str], phones: Sequence[str]
    ) -> Sequence[Customer]:
        """The customers with any of these external ids or phones, newest first."""
        ...

    async def update(self, customer_id: uuid.UUID, fields: CustomerFields) -> None:
        """Set every field that is not None; attributes are merged into the existing ones."""
        ...

    async def list(self, business_id: int, *, limit: int, offset: int) -> Sequence[Customer]: ...

    async def search(
        self, business_id: int, *, text: str, phone: str | None, limit: int
    ) -> Sequence[Customer]:
        """Customers whose id, external id or phone is `text`, whose phone is `phone` (already
        normalised), or whose name holds `text` (any case); newest first."""
        ...

    async def delete(self, business_id: int, customer_id: uuid.UUID) -> bool:
        """Remove the customer and, by the foreign keys, everything recorded about them."""
        ...

    async def set_name(self, customer_id: uuid.UUID, name: str) -> None: ...

    async def set_opted_out(
        self, customer_id: uuid.UUID, opted_out: bool, *, at: datetime
    ) -> None: ...

    async def set_link_token(self, customer_id: uuid.UUID, token: str | None) -> None: ...

    async def find_by_link_token(self, business_id: int, token: str) -> Customer | None: ...

    async def link_token(self, customer_id: uuid.UUID) -> str | None: ...


class IdentityRepository(Protocol):
    async def add(
        self,
        business_id: int,
        customer_id: uuid.UUID,
        *,
        channel: ChannelName,
        address: str,
        created_at: datetime,
        last_inbound_at: datetime | None = None,
    ) -> Identity:
        """A new identity; `last_inbound_at` when it is made for a message the customer wrote."""
        ...

    async def add_from_phones(
        self,
        business_id: int,
        channel: ChannelName,
        *,
        prefix: str,
        at: datetime,
        customer_ids: Sequence[uuid.UUID] | None = None,
    ) -> int:
        """An identity `prefix + phone` for each customer with a phone and none such yet (of
        customers sharing a phone, the oldest); how many were added."""
        ...

    async def find(
        self, business_id: int, channel: ChannelName, address: str
    ) -> Identity | None: ...

    async def find_with_customer(
        self, business_id: int, channel: ChannelName, address: str
    ) -> tuple[Identity, Customer] | None:
        """The identity, as `find` has it, with its customer, in one read."""
        ...

    async def get(self, identity_id: int) -> Identity: ...

    async def touch_inbound(self, identity_id: int, *, at: datetime) -> None:
        """The customer wrote at `at` (it opens WhatsApp's window); never moves back in time."""
        ...

    async def for_customer(self, customer_id: uuid.UUID) -> Sequence[Identity]: ...

    async def set_reachable(self, identity_id: int, reachable: bool) -> None: ...

    async def move(self, identity_id: int, customer_id: uuid.UUID) -> None:
        """Give the identity to another customer of the same business."""
        ...


class ChannelAccountRepository(Protocol):
    async def get(self, business_id: int, channel: ChannelName) -> ChannelAccount | None: ...

    async def by_slug(
        self, slug: str, channel: ChannelName
    ) -> tuple[Business, ChannelAccount | None] | None:
        """The business named `slug` and its account on `channel` (None if it has none), in one
        read; None when no business has that slug."""
        ...

    async def save(
        self,
        business_id: int,
        channel: ChannelName,
        *,
        status: AccountStatus,
        credentials: Mapping[str, str],
        settings: Mapping[str, Any],
        last_error: str | None,
        at: datetime,
    ) -> ChannelAccount:
        """Create or replace the business's account on the channel."""
        ...


class ConversationRepository(Protocol):
    async def add(
        self, business_id: int, *, customer_id: uuid.UUID, identity_id: int, started_at: datetime
    ) -> Conversation: ...

    async def open_for(self, identity_id: int) -> Conversation | None: ...

    async def get(self, conversation_id: uuid.UUID) -> Conversation: ...

    async def touch(self, conversation_id: uuid.UUID, *, at: datetime) -> None: ...

    async def close(self, conversation_id: uuid.UUID, *, at: datetime) -> None: ...

    async def set_mode(self, conversation_id: uuid.UUID, mode: ConversationMode) -> None: ...


class MessageRepository(Protocol):
    async def add(
        self,
        business_id: int,
        *,
        conversation: Conversation,
        direction: Direction,
        channel: ChannelName,
        text: str,
        status: DeliveryStatus,
        created_at: datetime,
        choices: Sequence[Choice] = (),
        channel_message_id: str | None = None,
        reply_to_id: int | None = None,
        frustration: float | None = None,
        frustration_reasons: Sequence[str] = (),
    ) -> Message: ...

    async def get(self, message_id: int) -> Message: ...

    async def find_inbound(self, identity_id: int, channel_message_id: str) -> Message | None:
        """The customer's message with the channel's id, on any conversation of the identity."""
        ...

    async def record_edit(self, message_id: int, *, text: str, at: datetime) -> None: ...

    async def replies_to(self, message_id: int) -> Sequence[Message]: ...

    async def find_sent(
        self, business_id: int, channel: ChannelName, channel_message_id: str
    ) -> Message | None:
        """The outbound message a provider knows by `channel_message_id`."""
        ...

    async def from_customer(
        self, conversation_id: uuid.UUID, *, since: datetime, before_id: int | None, limit: int
    ) -> Sequence[Message]:
        """The customer's messages in a conversation since a time and before one id (None: all
        so far), oldest first; the last `limit` of them."""
        ...

    async def set_frustration(
        self, message_id: int, score: float, reasons: Sequence[str]
    ) -> None: ...

    async def for_customer(self, customer_id: uuid.UUID, *, limit: int) -> Sequence[Message]: ...

    async def page(self, business_id: int, *, after_id: int, limit: int) -> Sequence[Message]:
        """The business's messages with ids above `after_id`, by id (an export, page by page)."""
        ...

    async def sent_to(self, identity_id: int, *, limit: int) -> Sequence[Message]:
        """Outbound messages on one identity that left Kesher: the latest `limit`, oldest first."""
        ...

    async def set_status(
        self,
        message_id: int,
        status: DeliveryStatus,
        *,
        at: datetime,
        channel_message_id: str | None = None,
        only_from: Collection[DeliveryStatus] | None = None,
    ) -> bool:
        """Set the status (only while it is one of `only_from`, when given, checked in the
        same statement); True when the message changed."""
        ...

    async def set_sent(self, receipts: Mapping[int, SentReceipt], *, at: datetime) -> None:
        """For each message id, the status and channel message id its send's receipt gave."""
        ...


class EventRepository(Protocol):
    async def add(
        self,
        business_id: int,
        customer_id: uuid.UUID,
        *,
        kind: str,
        occurred_at: datetime,
        data: Mapping[str, Any] | None = None,
    ) -> Event: ...

    async def for_customer(self, customer_id: uuid.UUID, *, limit: int) -> Sequence[Event]: ...


class DeliveryLogRepository(Protocol):
    """Every inbound delivery id a channel gave us, unique per (business, channel, id)."""

    async def add(
        self,
        business_id: int,
        *,
        channel: ChannelName,
        delivery_id: str,
        message_id: int | None,
        received_at: datetime,
    ) -> None: ...

    async def find(self, business_id: int, channel: ChannelName, delivery_id: str) -> int | None:
        """The stored message id of a delivery already seen (0 when it had no message)."""
        ...


class OutboxRepository(Protocol):
    async def add(
        self,
        business_id: int,
        *,
        message_id: int,
        kind: OutboxKind,
        idempotency_key: str,
        due_at: datetime,
    ) -> OutboxItem: ...

    async def get(self, item_id: int) -> OutboxItem: ...

    async def by_key(self, idempotency_key: str) -> OutboxItem | None: ...

    async def claim(self, item_id: int, *, now: datetime) -> bool:
        """Move a due pending item to sending; False when someone else has it or it is done."""
        ...

    async def claim_many(self, item_ids: Sequence[int], *, now: datetime) -> Sequence[int]:
        """Move those of the items that are due and pending to sending, in one statement; the
        ids claimed, in id order (an item claimed elsewhere, done or not due is left out)."""
        ...

    async def finish_many(self, item_ids: Sequence[int], status: OutboxStatus) -> None:
        """`finish` for each of the items, in one statement."""
        ...

    async def unclaim(self, item_ids: Sequence[int]) -> None:
        """Undo this transaction's claim of the items: pending again, the attempt not counted."""
        ...

    async def finish(
        self, item_id: int, status: OutboxStatus, *, error: str | None = None
    ) -> None: ...

    async def retry(self, item_id: int, *, error: str, next_attempt_at: datetime) -> None: ...

    async def defer(self, item_id: int, *, reason: str, until: datetime) -> None:
        """Let a claimed item go again, the attempt not counted, not to be sent before `until`
        (the channel had no turn for it soon enough)."""
        ...

    async def for_message(self, message_id: int) -> OutboxItem | None: ...

    async def use_template(self, item_id: int, *, error: str, now: datetime) -> None:
        """Send the row again now, as an approved template only (Twilio said 63016)."""
        ...

    async def release_held(self, business_id: int, *, now: datetime) -> Sequence[int]:
        """Rows held for a template go back to pending (the business set templates)."""
        ...

    async def due(self, *, now: datetime, limit: int) -> Sequence[int]:
        """Pending items whose next attempt is due, oldest first."""
        ...

    async def release_stale(self, *, stale_before: datetime) -> int:
        """Put items claimed before `stale_before` (their sender died) back to pending."""
        ...

    async def sending(self, item_id: int, *, now: datetime) -> OutboxSend:
        """Everything sending the item takes, in one read; `behind`: whether an earlier item of
        the same conversation is being sent or is due to be."""
        ...

    async def sending_many(self, item_ids: Sequence[int], *, now: datetime) -> Sequence[OutboxSend]:
        """`sending` for each of the items, in one read, in id order (an unknown id is left
        out)."""
        ...


class ScheduleRepository(Protocol):
    async def save(
        self,
        business_id: int,
        *,
        name: str,
        flow: str,
        definition: Mapping[str, Any],
        active: bool,
        priority: int,
        now: datetime,
    ) -> ScheduleRecord:
        """Create or replace the schedule `name`; a replaced one keeps its start and is re-planned."""
        ...

    async def get(self, business_id: int, name: str) -> ScheduleRecord | None: ...

    async def by_id(self, schedule_id: int) -> ScheduleRecord: ...

    async def list(self, business_id: int) -> Sequence[ScheduleRecord]: ...

    async def delete(self, business_id: int, name: str) -> bool:
        """Delete the schedule and its touches not made yet; the touches it made stay, with
        no schedule. False when there is no such schedule."""
        ...

    async def to_plan(self, *, planned_before: datetime) -> Sequence[ScheduleRecord]:
        """Active schedules never planned, or last planned before `planned_before`."""
        ...

    async def mark_planned(self, schedule_id: int, *, at: datetime) -> None: ...


class FlowRepository(Protocol):
    """A business's custom flows, as the definitions it wrote."""

    async def save(
        self, business_id: int, name: str, definition: Mapping[str, Any], *, now: datetime
    ) -> None: ...

    async def get(self, business_id: int, name: str) -> Mapping[str, Any] | None: ...

    async def names(self, business_id: int) -> frozenset[str]: ...

    async def delete(self, business_id: int, name: str) -> bool: ...


class CheckinRepository(Protocol):
    async def plan(
        self, business_id: int, touches: Sequence[PlannedTouch], *, now: datetime
    ) -> int:
        """Add the touches whose key is new; how many were added."""
        ...

    async def planning_facts(
        self, business_id: int, schedule_id: int, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[PlanningFacts]:
        """Customers in id order after `after`, with what planning `schedule_id` needs."""
        ...

    async def timezones(self, business_id: int) -> frozenset[str]:
        """The timezones the business's customers live in."""
        ...

    async def plan_cadence(
        self, business_id: int, schedule_id: int, *, cadence: CadencePlan, now: datetime
    ) -> int | None:
        """Plan every customer's next cadence touch at once; None where the store cannot."""
        ...

    async def claim_due(self, *, now: datetime, limit: int) -> Sequence[Checkin]:
        """Planned touches due by `now`, marked claimed; rows another worker holds are skipped."""
        ...

    async def claimed(self, checkin_ids: Sequence[int]) -> Sequence[Checkin]:
        """Those of these touches still claimed, by id."""
        ...

    async def touch_facts(
        self, checkin_ids: Sequence[int], *, since: datetime
    ) -> Sequence[TouchFacts]:
        """The claimed ones of these touches, each with what making it needs; recent touches
        count from `since`."""
        ...

    async def start_many(
        self, business_id: int, starts: Sequence[TouchStart], *, now: datetime
    ) -> dict[int, list[int]]:
        """Claimed → sent with messages, outbox rows and events, for the rows still claimed;
        the outbox ids of each touch made."""
        ...

    async def release_stale(self, *, stale_before: datetime) -> int: ...

    async def get(self, checkin_id: int) -> Checkin: ...

    async def active_for(self, customer_id: uuid.UUID) -> Checkin | None:
        """The sent check-in whose flow run still waits for an answer, if any."""
        ...

    async def history(self, customer_id: uuid.UUID, *, since: datetime) -> ContactHistory: ...

    async def start(
        self,
        checkin_id: int,
        *,
        channel: ChannelName,
        conversation_id: uuid.UUID,
        run: Mapping[str, Any],
        wake_at: datetime | None,
        now: datetime,
    ) -> bool:
        """Claimed → sent with its run; False when it was no longer claimed."""
        ...

    async def move(self, checkin_id: int, *, send_at: datetime, reason: str, now: datetime) -> None:
        """Back to planned for a later time, with the reason."""
        ...

    async def finish(
        self,
        checkin_id: int,
        status: CheckinStatus,
        *,
        reason: str | None,
        now: datetime,
        run: Mapping[str, Any] | None = None,
    ) -> None: ...

    async def update_run(
        self, checkin_id: int, *, run: Mapping[str, Any], wake_at: datetime | None, now: datetime
    ) -> None: ...

    async def waking(self, *, now: datetime, limit: int) -> Sequence[Checkin]:
        """Sent check-ins whose run needs a reminder or an end by `now`."""
        ...

    async def list(
        self,
        business_id: int,
        *,
        status: CheckinStatus | None,
        limit: int,
        offset: int,
        customer_id: uuid.UUID | None = None,
    ) -> Sequence[Checkin]: ...

    async def unfinished(self, business_id: int, *, flow: str) -> int:
        """Touches in `flow` still planned, claimed or sent (a customer may be answering)."""
        ...


class AnswerRepository(Protocol):
    async def add(self, business_id: int, answer: Answer) -> None: ...

    async def for_customer(self, customer_id: uuid.UUID, *, limit: int) -> Sequence[Answer]: ...

    async def page(
        self, business_id: int, *, after_id: int, limit: int
    ) -> Sequence[tuple[int, Answer]]:
        """The business's answers with ids above `after_id`, by id, with their ids."""
        ...


class InsightRepository(Protocol):
    async def scores(
        self, business_id: int, *, kind: str, since: datetime, until: datetime | None = None
    ) -> Sequence[ScoredAnswer]:
        """Every `kind` score since then (and before `until`), in time order, with its schedule
        and the customer's language, channel and tags."""
        ...

    async def outcomes(
        self, business_id: int, *, since: datetime, until: datetime | None = None
    ) -> Sequence[tuple[int | None, str, int]]:
        """(schedule id, status, count) of the touches due since then (and before `until`)."""
        ...

    async def signals(self, business_id: int, *, since: datetime) -> Sequence[CustomerSignals]:
        """Every customer with their scores, complaints and handoffs since then."""
        ...

    async def remarks(self, business_id: int, *, since: datetime) -> Sequence[Remark]:
        """What customers wrote in words since then, newest first: free-text answers,
        feedback messages and the messages found frustrated."""
        ...


class AgentRepository(Protocol):
    async def add(
        self,
        business_id: int,
        *,
        email: str,
        name: str,
        role: AgentRole,
        language: str,
        password_hash: str,
        capacity: int,
        created_at: datetime,
    ) -> Agent: ...

    async def get(self, agent_id: int) -> Agent | None: ...

    async def credentials(self, email: str) -> tuple[Agent, str] | None:
        """The agent with this email and their password hash."""
        ...

    async def list(self, business_id: int) -> Sequence[Agent]: ...

    async def of_role(self, role: AgentRole) -> Sequence[Agent]:
        """Every business's agents of `role`, by business."""
        ...

    async def set_password(self, agent_id: int, password_hash: str) -> None: ...

    async def record_login(
        self, agent_id: int, *, failed_logins: int, locked_until: datetime | None
    ) -> None: ...

    async def set_online(self, agent_id: int, online: bool, *, at: datetime) -> None: ...

    async def lapsed(self, *, now: datetime, limit: int) -> Sequence[Agent]:
        """Online agents who signed in to the inbox and whose every session has expired (an
        agent put online through the API, with no session, is not one)."""
        ...

    async def set_profile(self, agent_id: int, *, capacity: int, role: AgentRole) -> None: ...

    async def set_language(self, agent_id: int, language: str) -> None: ...

    async def set_telegram_chat(self, agent_id: int, chat: str | None) -> None:
        """Link (or unlink) the agent's own Telegram chat; any pending link is used up."""
        ...

    async def set_telegram_link(
        self, agent_id: int, token_hash: str, *, expires_at: datetime
    ) -> None: ...

    async def by_telegram_link(
        self, business_id: int, token_hash: str, *, now: datetime
    ) -> Agent | None:
        """The agent of the business whose unexpired Telegram link this is."""
        ...

    async def holding(self, business_id: int) -> Mapping[int, int]: ...

    async def add_session(
        self,
        token_hash: str,
        *,
        agent_id: int,
        csrf: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> None: ...

    async def session_for(self, token_hash: str, *, now: datetime) -> tuple[Agent, str] | None: ...

    async def drop_session(self, token_hash: str) -> None: ...


class HandoffRepository(Protocol):
    async def add(
        self,
        business_id: int,
        *,
        customer_id: uuid.UUID,
        conversation_id: uuid.UUID,
        state: str,
        trigger: str,
        reason: str,
        details: dict[str, Any],
        requested_at: datetime,
        sla_due_at: datetime,
    ) -> Handoff: ...

    async def get(self, business_id: int, handoff_id: int) -> Handoff | None: ...

    async def open_for(self, conversation_id: uuid.UUID) -> Handoff | None: ...

    async def save(self, handoff: Handoff, *, at: datetime) -> None: ...

    async def list(
        self,
        business_id: int,
        *,
        open_only: bool = True,
        agent_id: int | None = None,
        customer_id: uuid.UUID | None = None,
        limit: int = 200,
    ) -> Sequence[Handoff]: ...

    async def overdue(self, *, now: datetime, limit: int) -> Sequence[Handoff]: ...

    async def note_announcement(
        self, handoff_id: int, *, summary: str | None, announced_at: datetime | None
    ) -> None:
        """Keep the language model's summary in the handoff's details; with `announced_at`,
        the agents were told and the tick stops retrying."""
        ...

    async def unannounced(self, *, before: datetime, limit: int) -> Sequence[Handoff]:
        """Open handoffs requested before `before` whose agents were not yet told."""
        ...

    async def last_assigned_agent(self, business_id: int) -> int | None: ...

    async def changes(self, business_id: int) -> str: ...


class AuditRepository(Protocol):
    async def add(
        self,
        business_id: int,
        *,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        details: Mapping[str, Any],
    ) -> AuditEntry: ...

    async def list(self, business_id: int, *, limit: int) -> Sequence[AuditEntry]:
        """Newest first."""
        ...


class UnitOfWork(Protocol):
    """One transaction; repositories never commit, the caller commits once."""

    businesses: BusinessRepository
    customers: CustomerRepository
    identities: IdentityRepository
    accounts: ChannelAccountRepository
    conversations: ConversationRepository
    messages: MessageRepository
    events: EventRepository
    deliveries: DeliveryLogRepository
    outbox: OutboxRepository
    schedules: ScheduleRepository
    flows: FlowRepository
    checkins: CheckinRepository
    answers: AnswerRepository
    insights: InsightRepository
    agents: AgentRepository
    handoffs: HandoffRepository
    audit: AuditRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None:
        """Commit; raises DuplicateDelivery when the delivery log already had the delivery."""
        ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
