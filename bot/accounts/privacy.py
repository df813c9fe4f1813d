"""A customer's own record on request: everything Kesher keeps about them, or none of it.

The export gathers the profile, the channel identities, every message, event (agents' notes
included), survey answer, check-in and handoff. The delete removes the customer and, through
the foreign keys, every row about them: messages with their outbox rows, events, answers,
check-ins, handoffs. Both go in the audit log, which keeps the customer's id (a random UUID
that leads nowhere once the record is gone) and counts, never their name or words.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.domain import Business, NotFound
from bot.ports import UnitOfWork

ALL = 1_000_000


async def export_customer(
    uow: UnitOfWork, business: Business, customer_id: uuid.UUID, *, actor: str, now: datetime
) -> dict[str, Any]:
    """Everything about the customer, as plain data (the caller commits the audit entry)."""
    record = await _record(uow, business, customer_id)
    await _audit(uow, business, "customer_exported", customer_id, _counts(record), actor, now)
    return record


async def delete_customer(
    uow: UnitOfWork, business: Business, customer_id: uuid.UUID, *, actor: str, now: datetime
) -> dict[str, int]:
    """Remove the customer and all about them for good; how many of each were removed."""
    counts = _counts(await _record(uow, business, customer_id))
    await uow.customers.delete(business.id, customer_id)
    await _audit(uow, business, "customer_deleted", customer_id, counts, actor, now)
    return counts


async def _audit(
    uow: UnitOfWork,
    business: Business,
    action: str,
    customer_id: uuid.UUID,
    counts: dict[str, int],
    actor: str,
    now: datetime,
) -> None:
    await uow.audit.add(
        business.id, at=now, actor=actor, action=action, subject=str(customer_id), details=counts
    )


async def _record(uow: UnitOfWork, business: Business, customer_id: uuid.UUID) -> dict[str, Any]:
    customer = await uow.customers.get(business.id, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}", code="unknown_customer")
    parts: dict[str, Sequence[Any]] = {
        "identities": await uow.identities.for_customer(customer.id),
        "messages": await uow.messages.for_customer(customer.id, limit=ALL),
        "events": await uow.events.for_customer(customer.id, limit=ALL),
        "answers": await uow.answers.for_customer(customer.id, limit=ALL),
        "checkins": await uow.checkins.list(
            business.id, status=None, limit=ALL, offset=0, customer_id=customer.id
        ),
        "handoffs": await uow.handoffs.list(
            business.id, open_only=False, customer_id=customer.id, limit=ALL
        ),
    }
    return {
        "customer": dataclasses.asdict(customer),
        **{name: [dataclasses.asdict(item) for item in items] for name, items in parts.items()},
    }


def _counts(record: dict[str, Any]) -> dict[str, int]:
    return {name: len(items) for name, items in record.items() if isinstance(items, list)}
