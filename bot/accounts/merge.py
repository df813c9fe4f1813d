"""Two records of one person made one: everything the other record holds moves to the
survivor in one transaction, the other record is gone and the audit log keeps the merge.

The survivor keeps its own fields and takes each one it lacks from the other (name, phone,
external id, attributes; tags are joined). A customer who opted out on either record stays
opted out. Kesher suggests records that may be one person (`likely_duplicates`) for a person
to confirm; it never merges on its own, except when a deep link joins a chat whose record held
nothing but that chat (`bot/inbound/senders.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.accounts.customers import reach_on_whatsapp
from bot.domain import (
    Business,
    Customer,
    CustomerFields,
    EventKind,
    InvalidInput,
    LikelyDuplicates,
    NotFound,
)
from bot.ports import UnitOfWork

MERGED = "customer_merged"


@dataclass(frozen=True, slots=True)
class Merge:
    """A merge done, or previewed: the survivor as it is after it, the record that goes, and
    how many rows of each table move."""

    survivor: Customer
    other: Customer
    moved: Mapping[str, int]
    preview: bool


async def merge_customers(
    uow: UnitOfWork,
    business: Business,
    survivor_id: uuid.UUID,
    other_id: uuid.UUID,
    *,
    actor: str,
    now: datetime,
    preview: bool = False,
) -> Merge:
    """Move everything of `other_id` to `survivor_id` and delete it (the caller commits);
    with `preview`, only say what would happen and change nothing."""
    if survivor_id == other_id:
        raise InvalidInput("a customer cannot be merged into themselves", code="same_customer")
    if not preview:
        await uow.customers.lock([survivor_id, other_id])
    survivor = await _found(uow, business, survivor_id)
    other = await _found(uow, business, other_id)
    taken = taken_over(survivor, other)
    after = replace(
        survivor,
        name=survivor.name or other.name,
        phone=survivor.phone or other.phone,
        external_id=survivor.external_id or other.external_id,
        attributes={**survivor.attributes, **taken.attributes},
        opted_out=survivor.opted_out or other.opted_out,
        opted_out_at=survivor.opted_out_at if survivor.opted_out else other.opted_out_at,
    )
    if preview:
        return Merge(after, other, await uow.customers.holdings(other.id), preview=True)
    moved = await _move(uow, other.id, survivor.id, now=now)
    # The other record goes first: its external id is unique, and the survivor may take it.
    await uow.customers.delete(business.id, other.id)
    await uow.customers.update(survivor.id, taken)
    if other.opted_out and not survivor.opted_out:
        await uow.customers.set_opted_out(survivor.id, True, at=other.opted_out_at or now)
    await uow.events.add(
        business.id,
        survivor.id,
        kind=EventKind.CUSTOMER_MERGED,
        occurred_at=now,
        data={"merged": str(other.id), "moved": dict(moved)},
    )
    await uow.audit.add(
        business.id,
        at=now,
        actor=actor,
        action=MERGED,
        subject=str(other.id),
        details={"into": str(survivor.id), **moved},
    )
    await reach_on_whatsapp(uow, business, now=now, customer_ids=[survivor.id])
    return Merge(after, other, moved, preview=False)


async def _move(
    uow: UnitOfWork, from_id: uuid.UUID, to_id: uuid.UUID, *, now: datetime
) -> dict[str, int]:
    """Each table's rows of one customer given to another, by that table's repository."""
    return {
        "identities": await uow.identities.reassign_customer(from_id, to_id),
        "conversations": await uow.conversations.reassign_customer(from_id, to_id),
        "messages": await uow.messages.reassign_customer(from_id, to_id),
        "events": await uow.events.reassign_customer(from_id, to_id),
        "answers": await uow.answers.reassign_customer(from_id, to_id),
        "checkins": await uow.checkins.reassign_customer(from_id, to_id, now=now),
        "handoffs": await uow.handoffs.reassign_customer(from_id, to_id),
        "questions": await uow.questions.reassign_customer(from_id, to_id),
    }


async def move_chat(uow: UnitOfWork, identity_id: int, to_id: uuid.UUID) -> dict[str, int]:
    """The history of one chat given to another customer with the chat (a deep link joined
    it to their record): its conversations with their messages, handoffs, check-ins, answers
    to those check-ins and questions asked in them. The events stay with the record they were
    written on, which keeps its other channels."""
    conversations = await uow.conversations.reassign_identity(identity_id, to_id)
    return {
        "conversations": len(conversations),
        "messages": await uow.messages.reassign_conversations(conversations, to_id),
        "answers": await uow.answers.reassign_conversations(conversations, to_id),
        "checkins": await uow.checkins.reassign_conversations(conversations, to_id),
        "handoffs": await uow.handoffs.reassign_conversations(conversations, to_id),
        "questions": await uow.questions.reassign_conversations(conversations, to_id),
    }


def taken_over(survivor: Customer, other: Customer) -> CustomerFields:
    """What the survivor takes from the other record: each field it lacks, each attribute it
    lacks, and the other's tags joined to its own."""
    attributes: dict[str, Any] = {
        key: value for key, value in other.attributes.items() if key not in survivor.attributes
    }
    mine, theirs = _tags(survivor), _tags(other)
    if mine and theirs:
        attributes["tags"] = mine + [tag for tag in theirs if tag not in mine]
    return CustomerFields(
        name=None if survivor.name else other.name,
        phone=None if survivor.phone else other.phone,
        external_id=None if survivor.external_id else other.external_id,
        attributes=attributes,
    )


def _tags(customer: Customer) -> list[str]:
    tags = customer.attributes.get("tags")
    return [str(tag) for tag in tags] if isinstance(tags, list) else []


async def _found(uow: UnitOfWork, business: Business, customer_id: uuid.UUID) -> Customer:
    customer = await uow.customers.get(business.id, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}", code="unknown_customer")
    return customer


async def likely_duplicates(
    uow: UnitOfWork, business: Business, *, limit: int
) -> Sequence[LikelyDuplicates]:
    """Records that may be one person (the same phone unless each has an external id of their
    own, the same e-mail, the same external id in another form), for a person to confirm."""
    return await uow.customers.duplicates(business.id, limit=limit)
