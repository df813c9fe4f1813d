"""Who wrote each message of a conversation: the customer, the bot, an agent (by name) or a
schedule's touch (by the schedule's name). An agent's reply is known by its `AGENT_REPLIED`
event, which keeps the agent's id (the name stays once the agent is deleted); a touch's
messages by its `CHECKIN_SENT` event, which keeps the schedule's id and the message ids."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.domain import Direction, Event, EventKind, Message
from bot.ports import UnitOfWork

# As many of the customer's latest events as are read to find the authors among them.
EVENTS_READ = 2000

AuthorKind = Literal["customer", "bot", "agent", "schedule"]


@dataclass(frozen=True, slots=True)
class Author:
    kind: AuthorKind
    # The agent's display name or the schedule's name; None when there is none (an agent
    # with no name is shown as "the team", a deleted schedule as a schedule).
    name: str | None = None


def agent_replies(events: Sequence[Event], names: Mapping[int, str]) -> dict[int, str]:
    """The name of the agent who wrote each agent's message, by message id ("" if none)."""
    return {
        e.data["message_id"]: names.get(e.data.get("agent_id", 0), "")
        for e in events
        if e.kind == EventKind.AGENT_REPLIED and isinstance(e.data.get("message_id"), int)
    }


def _touches(events: Sequence[Event], schedules: Mapping[int, str]) -> dict[int, Author]:
    found: dict[int, Author] = {}
    for e in events:
        schedule_id = e.data.get("schedule_id")
        if e.kind != EventKind.CHECKIN_SENT or not isinstance(schedule_id, int):
            continue
        for message_id in e.data.get("message_ids") or ():
            found[message_id] = Author("schedule", schedules.get(schedule_id))
    return found


async def authors(
    uow: UnitOfWork, business_id: int, customer_id: uuid.UUID, messages: Sequence[Message]
) -> dict[int, Author]:
    """Each message's author, by message id."""
    events = await uow.events.for_customer(customer_id, limit=EVENTS_READ)
    agents = agent_replies(events, await uow.agents.names(business_id))
    touches = _touches(events, {s.id: s.name for s in await uow.schedules.list(business_id)})
    written: dict[int, Author] = {}
    for m in messages:
        if m.direction == Direction.IN:
            written[m.id] = Author("customer")
        elif m.id in agents:
            written[m.id] = Author("agent", agents[m.id].strip() or None)
        else:
            written[m.id] = touches.get(m.id, Author("bot"))
    return written
