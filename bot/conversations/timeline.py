"""A conversation's changes on the customer's timeline: opened, pending, snoozed, woken,
resolved, reopened, assigned, labelled. Each is written in the transaction of the change; its
data names the conversation and the agent who made it (None: the customer, the bot or the
clock), which is what the agents' "conversations handled" counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain import Conversation, ConversationStatus, EventKind, NewEvent, WokenConversation
from bot.ports import UnitOfWork

_ENTERED = {
    ConversationStatus.PENDING: EventKind.CONVERSATION_PENDING,
    ConversationStatus.SNOOZED: EventKind.CONVERSATION_SNOOZED,
    ConversationStatus.RESOLVED: EventKind.CONVERSATION_RESOLVED,
}


def status_kind(before: ConversationStatus | None, after: ConversationStatus) -> EventKind | None:
    """The event of a move from one status to another; None when it stays where it was."""
    if before is after:
        return None
    if after is ConversationStatus.OPEN:
        return EventKind.CONVERSATION_OPENED if before is None else EventKind.CONVERSATION_REOPENED
    return _ENTERED[after]


async def status_changed(
    uow: UnitOfWork,
    business_id: int,
    conversation: Conversation,
    after: ConversationStatus,
    *,
    now: datetime,
    agent_id: int | None = None,
    until: datetime | None = None,
) -> None:
    """Put the move from the conversation's status to `after` on the timeline, if it moved."""
    kind = status_kind(conversation.status, after)
    if kind is None:
        return
    data: dict[str, Any] = _about(conversation, agent_id)
    if until is not None:
        data["until"] = until.isoformat()
    await uow.events.add(
        business_id, conversation.customer_id, kind=kind, occurred_at=now, data=data
    )


async def assigned(
    uow: UnitOfWork,
    business_id: int,
    conversation: Conversation,
    assignee_id: int | None,
    *,
    now: datetime,
    agent_id: int | None,
) -> None:
    """The conversation given to an agent (None: to nobody), by `agent_id`."""
    if assignee_id == conversation.assignee_id:
        return
    await uow.events.add(
        business_id,
        conversation.customer_id,
        kind=EventKind.CONVERSATION_ASSIGNED,
        occurred_at=now,
        data={**_about(conversation, agent_id), "assignee_id": assignee_id},
    )


async def labelled(
    uow: UnitOfWork,
    business_id: int,
    conversation: Conversation,
    labels: Sequence[str],
    *,
    now: datetime,
    agent_id: int | None,
) -> None:
    """The conversation's labels set to `labels`, by `agent_id`."""
    if tuple(labels) == conversation.labels:
        return
    await uow.events.add(
        business_id,
        conversation.customer_id,
        kind=EventKind.CONVERSATION_LABELLED,
        occurred_at=now,
        data={**_about(conversation, agent_id), "labels": list(labels)},
    )


async def woken(uow: UnitOfWork, woken: Sequence[WokenConversation], *, now: datetime) -> None:
    """Snoozed conversations the clock opened again, one statement per business."""
    by_business: dict[int, list[NewEvent]] = {}
    for w in woken:
        by_business.setdefault(w.business_id, []).append(
            NewEvent(
                w.customer_id,
                EventKind.CONVERSATION_WOKEN,
                {"conversation_id": str(w.id), "agent_id": None},
            )
        )
    for business_id, events in by_business.items():
        await uow.events.add_many(business_id, events, occurred_at=now)


def _about(conversation: Conversation, agent_id: int | None) -> dict[str, Any]:
    return {"conversation_id": str(conversation.id), "agent_id": agent_id}
