"""What a customer's turn amounts to: a consent word, a command, the answer to a waiting
check-in question, or feedback; and what in it asks for a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.checkins import answers
from bot.conversations import queue
from bot.domain import (
    Business,
    Conversation,
    ConversationMode,
    Customer,
    EventKind,
    Inbound,
    InboundKind,
    OutboxKind,
)
from bot.knowledge import answering
from bot.ports import UnitOfWork
from flows import commands
from flows.consent import OPTED_IN, OPTED_OUT, ConsentCommand, consent_command
from flows.frustration import Verdict
from flows.handoff import Trigger
from flows.inbox import Turn
from flows.outcome import FeedbackReceived, FlowFinished, Outcome, RequestHandoff, Said


def consent_of(business: Business, inbound: Inbound) -> ConsentCommand | None:
    if inbound.kind is InboundKind.COMMAND:
        return {
            commands.STOP: ConsentCommand.OPT_OUT,
            commands.START: ConsentCommand.OPT_IN,
        }.get(inbound.command or "")
    return consent_command(
        inbound.text, opt_out=business.opt_out_words, opt_in=business.opt_in_words
    )


@dataclass(frozen=True, slots=True)
class Decision:
    """What the turn amounts to: how its replies go (`kind`), the flow's outcome, whether it
    answered a waiting check-in question, and what it means for the team's queue."""

    kind: OutboxKind
    outcome: Outcome
    answering: bool = False
    turn: Turn = Turn.COMPLETE


async def decide(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    conversation: Conversation,
    inbound: Inbound,
    command: ConsentCommand | None,
    *,
    first: bool,
    now: datetime,
    new_customer: bool = False,
) -> Decision:
    """Consent words first (`command`, the one the message amounts to, if any). Opting out
    stops proactive contact only: an opted-out customer who writes is served like anyone.

    In `human` mode a person answers, so the bot says nothing more. A waiting check-in
    question takes the message next (the flag says so; a customer made for this message has
    none); anything else goes to the team's queue, with a reply that says what happens next.
    """
    language = customer.language
    if command is ConsentCommand.OPT_OUT:
        if customer.opted_out:
            return Decision(OutboxKind.REPLY, Outcome())
        await _set_consent(uow, business, customer, inbound, opted_out=True)
        said = Said(OPTED_OUT.render(language, business=business.name))
        return Decision(OutboxKind.CONSENT, Outcome(replies=(said,)))
    if command is ConsentCommand.OPT_IN and customer.opted_out:
        await _set_consent(uow, business, customer, inbound, opted_out=False)
        said = Said(OPTED_IN.render(language, business=business.name))
        return Decision(OutboxKind.CONSENT, Outcome(replies=(said,)))
    if conversation.mode is ConversationMode.HUMAN:
        return Decision(OutboxKind.REPLY, Outcome(), turn=Turn.NEEDS_PERSON)
    if inbound.kind is InboundKind.COMMAND and inbound.command is not None:
        answer = commands.answer(
            inbound.command, language=language, business=business.name, customer_name=customer.name
        )
        return Decision(OutboxKind.REPLY, answer)
    if not new_customer:
        reacted = await answering.react(uow, customer, inbound, now=now)
        if reacted is not None:
            return Decision(OutboxKind.REPLY, reacted)
    answered = (
        None if new_customer else await answers.answer(uow, business, customer, inbound, now=now)
    )
    if answered is not None:
        return Decision(OutboxKind.REPLY, answered, answering=True)
    words = inbound.text if inbound.text is not None else inbound.choice
    outcome = await queue.acknowledge(
        uow, business, customer, conversation, words, first=first, now=now
    )
    for effect in outcome.effects:
        if isinstance(effect, FeedbackReceived):
            await uow.events.add(
                business.id,
                customer.id,
                kind=EventKind.FEEDBACK_RECEIVED,
                occurred_at=inbound.received_at,
                data={"text": effect.text},
            )
    return Decision(OutboxKind.REPLY, outcome, turn=Turn.NEEDS_PERSON)


async def _set_consent(
    uow: UnitOfWork, business: Business, customer: Customer, inbound: Inbound, *, opted_out: bool
) -> None:
    await uow.customers.set_opted_out(customer.id, opted_out, at=inbound.received_at)
    await uow.events.add(
        business.id,
        customer.id,
        kind=EventKind.OPTED_OUT if opted_out else EventKind.OPTED_IN,
        occurred_at=inbound.received_at,
        data={"channel": inbound.channel.value, "text": inbound.text or ""},
    )


def trigger_of(
    outcome: Outcome, verdict: Verdict | None
) -> tuple[Trigger, str, dict[str, object]] | None:
    """What, if anything, in this turn asks for a person: a flow's request, a misunderstanding,
    a low score, or the detector."""
    for effect in outcome.effects:
        if isinstance(effect, RequestHandoff):
            return Trigger(effect.trigger), effect.reason, {}
        if isinstance(effect, FlowFinished) and not effect.completed:
            return Trigger.NOT_UNDERSTOOD, f"{effect.flow}: not understood twice", {}
    if verdict is None or not verdict.handoff:
        return None
    asked = verdict.wants_person or verdict.wants_to_leave
    details = {"score": verdict.score, "reasons": list(verdict.reasons)}
    reason = "; ".join(verdict.reasons) or "frustrated"
    return (Trigger.REQUEST if asked else Trigger.DETECTOR), reason, details
