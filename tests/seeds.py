"""Survey answers put on record as finished surveys would, for the insights' hand-worked figures."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from app.bootstrap import Runtime
from bot.accounts.businesses import create_business
from bot.domain import Answer, Business
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


def remarks(first: uuid.UUID, second: uuid.UUID) -> list[tuple[uuid.UUID, int, str]]:
    """(customer, days ago, words): two remarks share "משלוח" (המשלוח folds to it), two share
    "parking"; one theme of each."""
    return [
        (first, 1, "המשלוח הגיע קר"),
        (second, 2, "משלוח איטי מדי"),
        (first, 3, "No parking near the shop"),
        (second, 4, "parking is impossible"),
    ]


async def add_remarks(
    uow: UnitOfWork,
    business_id: int,
    said: list[tuple[uuid.UUID, int, str]],
    *,
    now: datetime,
) -> None:
    """Free-text answers to the NPS's "why?", as a finished survey would keep them."""
    for customer, days_ago, text in said:
        await uow.answers.add(
            business_id,
            Answer(
                customer_id=customer,
                flow="nps",
                question="why",
                value=text,
                score_kind="text",
                answered_at=now - timedelta(days=days_ago),
            ),
        )


async def other_business(
    runtime: Runtime, prefix: str = "other", *, name: str | None = None
) -> tuple[Business, str]:
    """Another business with the sandbox open, and its API key."""
    async with runtime.services.uow() as uow:
        found = await create_business(
            uow,
            f"{prefix}-{uuid.uuid4().hex[:6]}",
            name=name or prefix.capitalize(),
            sandbox=True,
            now=runtime.services.clock.now(),
        )
        await uow.commit()
    return found
