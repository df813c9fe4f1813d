"""Survey answers put on record as finished surveys would, for the insights' hand-worked figures."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from bot.domain import Answer
from bot.ports import UnitOfWork


def hand_worked(falling: uuid.UUID, happy: uuid.UUID) -> list[tuple[uuid.UUID, int, str, int]]:
    """(customer, days ago, kind, score): NPS 9 then 4 and a CSAT 2 for one, 10 and 5 for the
    other. NPS 100 × (2 promoters − 1 detractor) / 3 = 33; CSAT (5 + 2) / 2 = 3.5."""
    return [
        (falling, 30, "nps", 9),
        (falling, 1, "nps", 4),
        (happy, 2, "nps", 10),
        (happy, 2, "csat", 5),
        (falling, 1, "csat", 2),
    ]


async def add_answers(
    uow: UnitOfWork,
    business_id: int,
    answers: list[tuple[uuid.UUID, int, str, int]],
    *,
    now: datetime,
) -> None:
    for customer, days_ago, kind, score in answers:
        await uow.answers.add(
            business_id,
            Answer(
                customer_id=customer,
                flow=kind,
                question="score",
                value=str(score),
                score=score,
                score_kind=kind,
                answered_at=now - timedelta(days=days_ago),
            ),
        )
