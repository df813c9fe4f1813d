"""Schedules, check-in runs, the touches planned for each customer, and the answers they collect."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.domain.kinds import ChannelName, CheckinStatus, OutboxKind
from bot.domain.messaging import Choice
from bot.domain.records import Conversation, Customer, Identity


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
