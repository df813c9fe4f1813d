"""Taking back a handoff the detector opened when a second look finds it was not needed.

Only a handoff no person has touched is taken back; the agents find a note on the record
saying why, and the conversation is the bot's again (with no follow-up: nothing was solved).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.domain import Business, ConversationMode, EventKind, Handoff
from bot.ports import UnitOfWork
from flows.handoff import Action, State, move

TOUCH_EVENTS = 200  # a customer's latest events searched for an agent's touch


async def touched(uow: UnitOfWork, handoff: Handoff) -> bool:
    """Whether a person has acted on the handoff: answered, noted, claimed or passed it on
    (any assignment after the routing that opened it)."""
    if handoff.first_reply_at is not None or handoff.state == State.ACTIVE.value:
        return True
    for event in await uow.events.for_customer(handoff.customer_id, limit=TOUCH_EVENTS):
        if event.data.get("handoff_id") != handoff.id:
            continue
        if event.kind == EventKind.NOTE or (
            event.kind == EventKind.HANDOFF_ASSIGNED and event.occurred_at > handoff.requested_at
        ):
            return True
    return False


async def withdraw(
    uow: UnitOfWork, business: Business, handoff: Handoff, *, note: str, now: datetime
) -> Handoff:
    """Resolve the handoff as not needed, with `note` on the customer's record."""
    withdrawn = replace(
        handoff, state=move(State(handoff.state), Action.RESOLVE).value, resolved_at=now
    )
    await uow.handoffs.save(withdrawn, at=now)
    await uow.conversations.set_mode(handoff.conversation_id, ConversationMode.BOT)
    await uow.events.add(
        business.id,
        handoff.customer_id,
        kind=EventKind.NOTE,
        occurred_at=now,
        data={"handoff_id": handoff.id, "agent_id": None, "agent": "Kesher", "text": note},
    )
    await uow.events.add(
        business.id,
        handoff.customer_id,
        kind=EventKind.HANDOFF_RESOLVED,
        occurred_at=now,
        data={"handoff_id": handoff.id, "agent_id": None, "withdrawn": True},
    )
    return withdrawn
