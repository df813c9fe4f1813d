"""Repositories of what is said: conversations, messages, events, the delivery log and the outbox."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.domain import (
    ChannelName,
    Choice,
    Conversation,
    ConversationMode,
    ConversationStatus,
    DeliveryStatus,
    Direction,
    Event,
    Message,
    NewConversation,
    NewEvent,
    NewMessage,
    NewOutboxItem,
    OutboxItem,
    OutboxKind,
    OutboxSend,
    OutboxStatus,
    QueuedConversation,
    QueueFilter,
    SentReceipt,
    WokenConversation,
)


class ConversationRepository(Protocol):
    async def add(
        self, business_id: int, *, customer_id: uuid.UUID, identity_id: int, started_at: datetime
    ) -> Conversation: ...

    async def add_many(
        self, business_id: int, openings: Sequence[NewConversation], *, started_at: datetime
    ) -> Sequence[Conversation]:
        """`add` for each opening, in one statement; the conversations in the same order."""
        ...

    async def open_for(self, identity_id: int) -> Conversation | None: ...

    async def find(self, business_id: int, conversation_id: uuid.UUID) -> Conversation | None:
        """The business's conversation, or None (another business's is not found either)."""
        ...

    async def get(self, conversation_id: uuid.UUID) -> Conversation: ...

    async def set_last_message(self, conversation_id: uuid.UUID, *, at: datetime) -> None: ...

    async def close(self, conversation_id: uuid.UUID, *, at: datetime) -> None: ...

    async def set_mode(self, conversation_id: uuid.UUID, mode: ConversationMode) -> None: ...

    async def set_standing(
        self,
        conversation_id: uuid.UUID,
        status: ConversationStatus | None,
        *,
        at: datetime,
        auto_answered: bool = False,
        snoozed_until: datetime | None = None,
    ) -> None:
        """Its place in the team's queue, entered `at`."""
        ...

    async def add_unread(self, conversation_id: uuid.UUID) -> None:
        """One more customer message no agent has read."""
        ...

    async def mark_read(self, conversation_id: uuid.UUID) -> None: ...

    async def assign(self, conversation_id: uuid.UUID, agent_id: int | None) -> None: ...

    async def unassign_all(self, agent_id: int) -> int:
        """Give the agent's unresolved conversations back to the queue (resolved ones keep who
        handled them); how many."""
        ...

    async def set_labels(self, conversation_id: uuid.UUID, labels: Sequence[str]) -> None: ...

    async def wake(self, *, now: datetime) -> Sequence[WokenConversation]:
        """Snoozed conversations whose time has come are open again, in one statement; which."""
        ...

    async def ahead_of(self, business_id: int, *, waiting_since: datetime) -> int:
        """How many of the business's open conversations have waited since before then."""
        ...

    async def queue(
        self,
        business_id: int,
        chosen: QueueFilter,
        *,
        limit: int,
        after: tuple[datetime, uuid.UUID] | None = None,
    ) -> Sequence[QueuedConversation]:
        """A queue view: the conversations `chosen` names, latest message first (then by id);
        `after` is the last message's time and the id of the last row seen, for the next page."""
        ...

    async def counts(
        self, business_id: int, *, assignee: int | None = None
    ) -> Mapping[ConversationStatus, tuple[int, int]]:
        """By status: how many conversations (of one agent, if given), and how many of them
        have unread messages."""
        ...

    async def reassign_customer(self, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
        """Give every conversation of one customer to another (a merge); how many moved."""
        ...

    async def reassign_identity(self, identity_id: int, to_id: uuid.UUID) -> list[uuid.UUID]:
        """Give every conversation on one channel identity to another customer (a chat moved
        by a deep link); their ids."""
        ...


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

    async def add_many(
        self,
        business_id: int,
        messages: Sequence[NewMessage],
        *,
        direction: Direction,
        status: DeliveryStatus,
        created_at: datetime,
    ) -> Sequence[int]:
        """Store the messages in one statement; their ids in the same order."""
        ...

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

    async def for_conversation(
        self, conversation_id: uuid.UUID, *, limit: int
    ) -> Sequence[Message]:
        """The conversation's latest `limit` messages, oldest first."""
        ...

    async def page(self, business_id: int, *, after_id: int, limit: int) -> Sequence[Message]:
        """The business's messages with ids above `after_id`, by id (an export, page by page)."""
        ...

    async def transcript(self, identity_id: int, *, limit: int) -> Sequence[Message]:
        """What one identity's chat shows: every inbound message, and the outbound ones that
        left Kesher; the latest `limit`, oldest first."""
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

    async def reassign_customer(self, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
        """Give every message of one customer to another (a merge); how many moved."""
        ...

    async def reassign_conversations(
        self, conversation_ids: Sequence[uuid.UUID], to_id: uuid.UUID
    ) -> int:
        """Give the messages of these conversations to another customer (a chat moved by a deep
        link); how many moved."""
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

    async def add_many(
        self, business_id: int, events: Sequence[NewEvent], *, occurred_at: datetime
    ) -> None:
        """Append the events in one statement."""
        ...

    async def for_customer(self, customer_id: uuid.UUID, *, limit: int) -> Sequence[Event]: ...

    async def reassign_customer(self, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
        """Give every event of one customer to another (a merge); how many moved."""
        ...


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

    async def add_many(
        self, business_id: int, items: Sequence[NewOutboxItem], *, due_at: datetime
    ) -> Sequence[int]:
        """`add` for each item, in one statement; their ids in the same order."""
        ...

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
