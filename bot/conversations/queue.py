"""Every conversation in the team's queue: where a customer's turn leaves it, how busy the
queue is (for the honest reply), and snoozed conversations woken on the scheduler's minute.

The moves themselves are `flows.inbox`'s; this writes them in the caller's transaction.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from bot.conversations import timeline
from bot.domain import Business, Conversation, ConversationStatus, Customer
from bot.jobs import AnnounceConversation
from bot.ports import UnitOfWork
from bot.services import Services
from flows import feedback
from flows.feedback import Availability
from flows.inbox import Standing, Turn, after_turn
from flows.opening_hours import describe, next_opening, parse_hours
from flows.outcome import Outcome

log = logging.getLogger(__name__)


def standing_of(conversation: Conversation) -> Standing:
    return Standing(
        conversation.status,
        auto_answered=conversation.auto_answered,
        snoozed_until=conversation.snoozed_until,
    )


async def record_turn(
    uow: UnitOfWork, business: Business, conversation: Conversation, turn: Turn, *, now: datetime
) -> Standing:
    """Move the conversation as the customer's turn says, counting a message a person has
    to read as unread."""
    before = standing_of(conversation)
    after = after_turn(before, turn)
    if after != before:
        await uow.conversations.set_standing(
            conversation.id,
            after.status,
            at=now,
            auto_answered=after.auto_answered,
            snoozed_until=after.snoozed_until,
        )
        if after.status is not None:
            await timeline.status_changed(uow, business.id, conversation, after.status, now=now)
    if turn is Turn.NEEDS_PERSON:
        await uow.conversations.add_unread(conversation.id)
    return after


def bot_may_answer(conversation: Conversation) -> bool:
    """Whether the bot may answer a question itself (from the knowledge base): not while the
    conversation waits for a person or a person waits on the customer."""
    return conversation.status not in (ConversationStatus.OPEN, ConversationStatus.PENDING)


def announcements(
    business: Business, conversation: Conversation, after: Standing
) -> tuple[AnnounceConversation, ...]:
    """The alert a conversation owes the agents who asked for one when it enters the queue."""
    entered = after.status is ConversationStatus.OPEN
    if entered and conversation.status is not ConversationStatus.OPEN:
        return (AnnounceConversation(business.id, str(conversation.id)),)
    return ()


async def set_open(
    uow: UnitOfWork, business: Business, conversation: Conversation, *, now: datetime
) -> Conversation:
    """A person is needed now (a handoff opened): the conversation is open in the queue."""
    if conversation.status is ConversationStatus.OPEN:
        return conversation
    await uow.conversations.set_standing(conversation.id, ConversationStatus.OPEN, at=now)
    await timeline.status_changed(uow, business.id, conversation, ConversationStatus.OPEN, now=now)
    return replace(
        conversation,
        status=ConversationStatus.OPEN,
        status_at=now,
        auto_answered=False,
        snoozed_until=None,
    )


async def staffed(uow: UnitOfWork, business_id: int) -> bool:
    """Whether an agent of the business is online now: a person can answer, whatever the
    opening hours say."""
    return any(agent.online and agent.active for agent in await uow.agents.list(business_id))


async def availability(
    uow: UnitOfWork, business: Business, customer: Customer, *, now: datetime
) -> Availability:
    """The team's hours in the customer's language, when it is next in, how many
    conversations wait before one entering the queue now, and whether an agent is online."""
    hours = parse_hours(business.opening_hours)
    return Availability(
        hours=describe(hours, customer.language),
        opens=next_opening(now, hours, timezone=business.timezone),
        ahead=await uow.conversations.ahead_of(business.id, waiting_since=now),
        timezone=customer.timezone or business.timezone,
        online=await staffed(uow, business.id),
    )


async def acknowledge(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    conversation: Conversation,
    text: str | None,
    *,
    first: bool,
    now: datetime,
) -> Outcome:
    """The reply to a message that goes to a person (a question the bot could not answer,
    feedback): what happens next when it puts the conversation in the queue, a short thanks
    when it is already there, and nothing while a person waits on the customer's answer."""
    if conversation.status is ConversationStatus.PENDING:
        return feedback.heard(text)
    queued = conversation.status is not ConversationStatus.OPEN
    return feedback.receive(
        text,
        language=customer.language,
        business=business.name,
        customer_name=customer.name,
        first=first,
        queued=queued,
        availability=await availability(uow, business, customer, now=now) if queued else None,
        now=now,
    )


async def wake_snoozed(services: Services, *, now: datetime) -> int:
    """Snoozed conversations whose time came are open again (the scheduler's minute)."""
    async with services.uow() as uow:
        woken = await uow.conversations.wake(now=now)
        await timeline.woken(uow, woken, now=now)
        await uow.commit()
    if woken:
        log.info("woke %d snoozed conversations", len(woken))
    return len(woken)
