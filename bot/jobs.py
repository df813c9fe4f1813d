"""Jobs: the work the core hands to the workers once a transaction has committed.

Each job is a small record; `TASKS` names the worker task that runs each kind, in one table.
A job the queue loses is found again by the scheduler's minute (the outbox sweep, stale
check-ins, unannounced handoffs), so queueing one is never part of a transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SendOutbound:
    """Send one committed outbox row."""

    outbox_id: int


@dataclass(frozen=True, slots=True)
class SendOutboundBatch:
    """Send several committed outbox rows in one task."""

    outbox_ids: list[int]


@dataclass(frozen=True, slots=True)
class ReviewMessage:
    """A second opinion (the encoder's, then a language model's) on a message the fast detector
    was unsure of."""

    business_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class AnswerQuestion:
    """Answer a customer's question from the knowledge base, or with the ordinary reply."""

    business_id: int
    message_id: int


@dataclass(frozen=True, slots=True)
class StartCheckin:
    """Make one claimed check-in."""

    checkin_id: int


@dataclass(frozen=True, slots=True)
class StartCheckins:
    """Make a batch of claimed check-ins in one transaction."""

    checkin_ids: list[int]


@dataclass(frozen=True, slots=True)
class AnnounceHandoff:
    """Tell the agents about a new handoff."""

    business_id: int
    handoff_id: int


@dataclass(frozen=True, slots=True)
class AnnounceConversation:
    """Tell the agents who asked for it about a new conversation in the inbox's queue."""

    business_id: int
    conversation_id: str
    """The conversation's UUID, as text (what the queue carries)."""


@dataclass(frozen=True, slots=True)
class TellChat:
    """Send a Telegram chat a line outside any conversation (whether an agent's link worked,
    a customer's link that did not); `key` sends it once."""

    business_id: int
    chat: str
    text: str
    key: str


Job = (
    SendOutbound
    | SendOutboundBatch
    | ReviewMessage
    | AnswerQuestion
    | StartCheckin
    | StartCheckins
    | AnnounceHandoff
    | AnnounceConversation
    | TellChat
)

# The worker task that runs each kind of job. The names are what the Redis queue carries, so
# they stay the same across releases (a job queued by the old release runs on the new one).
TASKS: Mapping[type[Job], str] = {
    SendOutbound: "kesher.send_outbound",
    SendOutboundBatch: "kesher.send_outbound_batch",
    ReviewMessage: "kesher.review_message",
    AnswerQuestion: "kesher.answer_question",
    StartCheckin: "kesher.start_checkin",
    StartCheckins: "kesher.start_checkins",
    AnnounceHandoff: "kesher.announce_handoff",
    AnnounceConversation: "kesher.announce_conversation",
    TellChat: "kesher.tell_chat",
}


def task_of(job: Job) -> tuple[str, dict[str, Any]]:
    """The task's name and its keyword arguments."""
    return TASKS[type(job)], asdict(job)
