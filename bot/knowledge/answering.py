"""Customers' questions answered from the knowledge base, in a worker job after the message is
committed (an encoding takes 50-150 ms, a language model seconds).

A business with entries gets no immediate acknowledgement of plain feedback: the pipeline puts
the question on the record as pending and queues `AnswerQuestion`; the job sends either the
automatic answer (saying it is one, offering a person) or, when nothing is near enough, the
ordinary reply. A question whose job was lost is found again by the scheduler's minute.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.conversations import queue
from bot.domain import (
    Business,
    ConversationMode,
    Customer,
    EventKind,
    Inbound,
    InboundKind,
    KnowledgeEntry,
    KnowledgeQuestion,
    Message,
    OutboxKind,
    QuestionStatus,
)
from bot.jobs import AnswerQuestion
from bot.outbound.replies import add_replies, queue_sends
from bot.ports import UnitOfWork
from bot.services import Services
from flows import knowledge
from flows.inbox import Turn, turn_of
from flows.outcome import AnsweredFromKnowledge, FeedbackReceived, Outcome
from flows.text import detect_language

log = logging.getLogger(__name__)

# How long after an automatic answer "not helpful" in words is taken as said of it.
REACTION_WINDOW = timedelta(hours=24)
# A pending question older than this had its job lost; the minute's sweep queues it again.
STALE_AFTER = timedelta(minutes=2)
SWEEP_LIMIT = 200


async def defer(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    inbound: Inbound,
    message: Message,
    outcome: Outcome,
    *,
    first: bool,
) -> AnswerQuestion | None:
    """For plain feedback in words to a business with entries: the question put on the record
    as pending, and the job that will answer it (None: answer as usual, now)."""
    text = (inbound.text or "").strip()
    if inbound.kind is not InboundKind.MESSAGE or not text:
        return None
    if not any(isinstance(e, FeedbackReceived) for e in outcome.effects):
        return None
    if not await uow.knowledge.any(business.id):
        return None
    await uow.questions.add(
        business.id,
        customer_id=customer.id,
        message_id=message.id,
        text=text,
        first=first,
        asked_at=message.created_at,
    )
    return AnswerQuestion(business.id, message.id)


async def react(
    uow: UnitOfWork, customer: Customer, inbound: Inbound, *, now: datetime
) -> Outcome | None:
    """A tap on an automatic answer's buttons, or "not helpful" written after one: the
    question goes to a person, and a thumbs-down is kept as a candidate for a new entry."""
    choice = inbound.choice
    reaction = knowledge.reaction_of(inbound.text, choice=choice)
    if reaction is None:
        return None
    last = await uow.questions.last_answered(customer.id, since=now - REACTION_WINDOW)
    if last is None and choice is None:
        return None  # "not helpful" with no automatic answer before it is plain feedback
    if last is not None and reaction is knowledge.Reaction.UNHELPFUL:
        await uow.questions.mark_unhelpful(last.id)
    return knowledge.after_reaction(reaction)


async def answer_question(business_id: int, message_id: int, services: Services) -> QuestionStatus:
    """Match the question, compose the answer, and send it, or the ordinary reply; once."""
    async with services.uow() as uow:
        question = await uow.questions.for_message(message_id)
        if question is None or question.status is not QuestionStatus.PENDING:
            return question.status if question else QuestionStatus.PASSED
        business = await uow.businesses.get(business_id)
        customer = await uow.customers.get(business_id, question.customer_id)
        message = await uow.messages.get(message_id)
        entries = await uow.knowledge.list(business_id)
    if customer is None:
        return QuestionStatus.PASSED
    language = detect_language(question.text) or customer.language
    buttons = (
        message.channel in services.channels
        and services.channels[message.channel].capabilities.buttons
    )
    outcome, score = await _compose(question, entries, services, language=language, buttons=buttons)
    return await _send(
        business, customer, question, message, outcome, services, score=score, language=language
    )


async def _compose(
    question: KnowledgeQuestion,
    entries: Sequence[KnowledgeEntry],
    services: Services,
    *,
    language: str,
    buttons: bool,
) -> tuple[Outcome | None, float | None]:
    """The automatic answer and the best score, or None when nothing may be said of it."""
    listed = list(entries)
    vector = None
    if services.encoder is not None and any(e.vectors for e in listed):
        [vector] = await services.encoder.embed([question.text], query=True)
    ranked = knowledge.rank(
        question.text,
        [knowledge.Entry(e.id, e.texts(), e.vectors) for e in listed],
        vector=vector,
    )
    chosen = knowledge.chosen(ranked)
    score = ranked[0].score if ranked else None
    if not chosen:
        return None, score
    by_id = {e.id: e for e in listed}
    grounds = [by_id[m.entry_id] for m in chosen]
    text = grounds[0].answer(language)
    used: tuple[int, ...] = (grounds[0].id,)
    if services.answer_writer is not None:
        written = await services.answer_writer.write(question.text, grounds, language=language)
        if written is not None:
            supported = tuple(i for i in written.entries if i in by_id and by_id[i] in grounds)
            if not supported or not written.text.strip():
                log.info("the language model's answer rests on no entry; not sent")
                return None, score
            text, used = written.text, supported
    return knowledge.automatic_answer(text, used, language=language, buttons=buttons), score


async def _send(
    business: Business,
    customer: Customer,
    question: KnowledgeQuestion,
    message: Message,
    outcome: Outcome | None,
    services: Services,
    *,
    score: float | None,
    language: str,
) -> QuestionStatus:
    now = services.clock.now()
    async with services.uow() as uow:
        again = await uow.questions.for_message(message.id)
        if again is None or again.status is not QuestionStatus.PENDING:
            return again.status if again else QuestionStatus.PASSED  # answered meanwhile
        conversation = await uow.conversations.get(message.conversation_id)
        customer = await uow.customers.get(business.id, customer.id) or customer
        if conversation.mode is ConversationMode.HUMAN:
            # A person took the conversation while it waited.
            status, replies = QuestionStatus.PASSED, Outcome()
        elif outcome is None:
            status = QuestionStatus.UNANSWERED
            replies = await queue.acknowledge(
                uow, business, customer, conversation, question.text, first=question.first, now=now
            )
        else:
            status, replies = QuestionStatus.ANSWERED, outcome
        after = await queue.record_turn(
            uow, business, conversation, turn_of(replies, otherwise=Turn.NEEDS_PERSON), now=now
        )
        sent, outbox_ids = await add_replies(
            uow,
            business,
            conversation,
            replies.replies,
            channel=message.channel,
            kind=OutboxKind.REPLY,
            key=f"reply:{message.id}",
            now=now,
            reply_to_id=message.id,
        )
        used = _entries_of(replies)
        if not await uow.questions.settle(
            question.id,
            status,
            entries=used,
            score=score,
            reply_id=sent[0].id if sent else None,
            at=now,
        ):
            return status  # another worker settled it first; this transaction rolls back
        for effect in replies.effects:
            if isinstance(effect, AnsweredFromKnowledge):
                # The conversation was answered: on the customer's timeline, with its entries.
                await uow.events.add(
                    business.id,
                    customer.id,
                    kind=EventKind.ANSWERED_FROM_KNOWLEDGE,
                    occurred_at=now,
                    data={
                        "message_id": message.id,
                        "entries": list(effect.entries),
                        "score": score,
                    },
                )
        await uow.commit()
    await queue_sends(outbox_ids, services)
    await services.enqueue(*queue.announcements(business, conversation, after))
    log.info("question %s %s (score %s, language %s)", question.id, status.value, score, language)
    return status


def _entries_of(outcome: Outcome) -> tuple[int, ...]:
    for effect in outcome.effects:
        if isinstance(effect, AnsweredFromKnowledge):
            return effect.entries
    return ()


async def sweep(services: Services, *, now: datetime) -> int:
    """Queue again the questions whose job was lost."""
    async with services.uow() as uow:
        stale = await uow.questions.stale(asked_before=now - STALE_AFTER, limit=SWEEP_LIMIT)
    await services.enqueue(*(AnswerQuestion(q.business_id, q.message_id) for q in stale))
    return len(stale)
