"""Agents, the handoffs they take and the team's queue of conversations they work from."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.kinds import AgentRole, ChannelName, ConversationStatus
from bot.domain.records import Conversation


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
class WokenConversation:
    """A snoozed conversation the clock opened again."""

    id: uuid.UUID
    business_id: int
    customer_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class QueuedConversation:
    """One row of the inbox's list: the conversation, who wrote and their last words."""

    conversation: Conversation
    customer_name: str | None
    address: str
    channel: ChannelName
    last_text: str | None


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
    # The agent's alert preferences as stored (`flows.staff_alerts.parse_preferences`).
    alerts: Mapping[str, Any] = field(default_factory=dict)
    # Disabled: cannot sign in, gets no handoffs and no alerts, until enabled again.
    disabled_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """A sign-in attempt, counted before its password is checked: `number` is its place among
    the failures in a row, and a login locked (now, or by this attempt) has `locked_until`.
    A refused attempt (`allowed` False) is checked against nothing."""

    allowed: bool
    number: int
    locked_until: datetime | None


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
