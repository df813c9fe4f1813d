"""A customer's message to a waiting check-in question: the flow advanced, the answer
recorded, and a low score offered a person.
"""

from __future__ import annotations

from datetime import datetime

from bot.checkins.catalog import contact_rules, flow_fields, flow_named
from bot.checkins.planning import plan_service_touch
from bot.checkins.runs import record_turn
from bot.domain import (
    Business,
    Customer,
    Inbound,
)
from bot.ports import UnitOfWork
from flows.engine import Ask, Flow, Run, Status, Turn, advance
from flows.follow_up import OFFER
from flows.handoff import LowScore, is_low_score, parse_handoff_rules
from flows.outcome import Outcome, RequestHandoff


async def answer(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    inbound: Inbound,
    *,
    now: datetime,
) -> Outcome | None:
    """Feed a customer's message to their waiting check-in; None when none waits."""
    checkin = await uow.checkins.active_for(customer.id)
    if checkin is None or checkin.run is None:
        return None
    flow = await flow_named(uow, business.id, checkin.flow)
    rules = contact_rules(business)
    turn = advance(
        flow,
        Run.from_dict(checkin.run),
        inbound.text,
        inbound.choice,
        language=customer.language,
        now=now,
        fields=flow_fields(business, customer),
    )
    if turn.run.status is Status.ACTIVE:
        await uow.checkins.update_run(
            checkin.id, run=turn.run.as_dict(), wake_at=now + rules.remind_after, now=now
        )
    await record_turn(uow, business, customer, checkin, turn, now=now)
    low = _low_score(flow, turn)
    if low is None:
        return Outcome(replies=turn.replies, effects=turn.effects)
    if parse_handoff_rules(business.handoff_rules or None).low_score is LowScore.HAND_OFF:
        request = RequestHandoff(low, trigger="low_score")
        return Outcome(replies=turn.replies, effects=(*turn.effects, request))
    await plan_service_touch(
        uow,
        business,
        customer,
        flow=OFFER.name,
        key=f"offer:{checkin.id}",
        due=now,
        reason="low_score",
        now=now,
    )
    return Outcome(replies=turn.replies, effects=turn.effects)


def _low_score(flow: Flow, turn: Turn) -> str | None:
    """'nps score 3' when a survey just ended with an NPS detractor or a CSAT of 2 or less."""
    if turn.run.status is Status.ACTIVE:
        return None
    for step in flow.steps:
        if not isinstance(step, Ask):
            continue
        value = turn.run.answers.get(step.key)
        if isinstance(value, int) and is_low_score(step.score_kind, value):
            return f"{step.score_kind} score {value}"
    return None
