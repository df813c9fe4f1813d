"""A check-in's run after each turn: survey answers and misunderstandings on the record, and
the row finished when the run ends.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain import (
    Answer,
    Business,
    Checkin,
    CheckinStatus,
    Customer,
    EventKind,
)
from bot.ports import UnitOfWork
from flows.engine import Status, Turn
from flows.outcome import FlowFinished, SurveyAnswered


async def record_turn(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    checkin: Checkin,
    turn: Turn,
    *,
    now: datetime,
) -> CheckinStatus:
    """Record what a turn did (answers, handoff requests) and where the run now stands."""
    for effect in turn.effects:
        if isinstance(effect, SurveyAnswered):
            value = effect.value
            await uow.answers.add(
                business.id,
                Answer(
                    customer_id=customer.id,
                    checkin_id=checkin.id,
                    flow=effect.flow,
                    question=effect.question,
                    value=str(value),
                    score=value if isinstance(value, int) else None,
                    score_kind=effect.score_kind,
                    label=effect.label,
                    answered_at=now,
                ),
            )
            await uow.events.add(
                business.id,
                customer.id,
                kind=EventKind.SURVEY_ANSWERED,
                occurred_at=now,
                data={
                    "checkin_id": checkin.id,
                    "flow": effect.flow,
                    "question": effect.question,
                    "value": value,
                    "score_kind": effect.score_kind,
                    "label": effect.label,
                },
            )
        elif isinstance(effect, FlowFinished) and not effect.completed:
            await uow.events.add(
                business.id,
                customer.id,
                kind=EventKind.NOT_UNDERSTOOD,
                occurred_at=now,
                data={"checkin_id": checkin.id, "flow": effect.flow},
            )
    run = turn.run
    if run.status is Status.ACTIVE:
        return CheckinStatus.SENT
    status = CheckinStatus.ANSWERED if run.answers else CheckinStatus.EXPIRED
    reason = (
        None
        if run.status is Status.FINISHED and run.answers
        else ("unanswered" if run.status is Status.EXPIRED else "not_understood")
    )
    await uow.checkins.finish(checkin.id, status, reason=reason, now=now, run=run.as_dict())
    if status is CheckinStatus.EXPIRED:
        await uow.events.add(
            business.id,
            customer.id,
            kind=EventKind.CHECKIN_EXPIRED,
            occurred_at=now,
            data={"checkin_id": checkin.id, "flow": checkin.flow, "reason": reason},
        )
    return status
