"""Bulk exports of a business's data: customers, survey answers and every message of every
conversation, page by page, so nothing is held in memory whole.

The customers file has the import's own columns first (`external_id, name, phone, language,
timezone, tags`, then one column per attribute), so it can be edited and imported again;
Kesher's own read-only columns come last, named `kesher_…`, and the import skips them. It
starts with a byte-order mark so Excel reads Hebrew right, and a cell that a spreadsheet would
run as a formula (bot/accounts/formulas.py) is written with a leading `'`.
Conversations also come as one JSON array, written a page at a time. The weekly digest's
figures come as rows of (section, name, value).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from bot.accounts.customers import KNOWN_COLUMNS, READ_ONLY_PREFIX
from bot.accounts.formulas import guarded
from bot.domain import Business, Customer, Message
from bot.insights.digest import Digest
from bot.services import Services

PAGE = 1000
BOM = "\ufeff"
ANSWER_COLUMNS = ("customer_id", "flow", "question", "value", "score", "score_kind", "answered_at")
OWN_COLUMNS = tuple(f"{READ_ONLY_PREFIX}{c}" for c in ("id", "opted_out", "created_at"))
MESSAGE_COLUMNS = (
    "message_id",
    "customer_id",
    "conversation_id",
    "direction",
    "channel",
    "text",
    "status",
    "frustration",
    "created_at",
)


def _cell(value: object) -> str:
    return guarded("" if value is None else str(value))


def _lines(rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


async def _customer_pages(services: Services, business: Business) -> AsyncIterator[list[Customer]]:
    offset = 0
    while True:
        async with services.uow() as uow:
            page = list(await uow.customers.list(business.id, limit=PAGE, offset=offset))
        if not page:
            return
        yield page
        offset += len(page)


async def customers_csv(services: Services, business: Business) -> AsyncIterator[str]:
    """The business's customers, oldest first; the attribute columns are found in a first pass."""
    keys: set[str] = set()
    async for page in _customer_pages(services, business):
        for customer in page:
            keys.update(k for k in customer.attributes if k != "tags")
    attributes = sorted(keys)
    yield BOM + _lines([(*KNOWN_COLUMNS, *attributes, *OWN_COLUMNS)])
    async for page in _customer_pages(services, business):
        yield _lines(_customer_row(c, attributes) for c in page)


def _customer_row(customer: Customer, attributes: list[str]) -> list[Any]:
    tags = customer.attributes.get("tags") or []
    return [
        customer.external_id,
        customer.name,
        customer.phone,
        customer.language,
        customer.timezone,
        ", ".join(map(str, tags)) if isinstance(tags, list) else tags,
        *(customer.attributes.get(k) for k in attributes),
        customer.id,
        customer.opted_out,
        customer.created_at.isoformat(),
    ]


async def answers_csv(services: Services, business: Business) -> AsyncIterator[str]:
    """Every survey answer of the business, in the order they were given."""
    yield BOM + _lines([ANSWER_COLUMNS])
    after = 0
    while True:
        async with services.uow() as uow:
            page = await uow.answers.page(business.id, after_id=after, limit=PAGE)
        if not page:
            return
        yield _lines(
            (a.customer_id, a.flow, a.question, a.value, a.score, a.score_kind, a.answered_at)
            for _, a in page
        )
        after = page[-1][0]


async def _message_pages(services: Services, business: Business) -> AsyncIterator[list[Message]]:
    after = 0
    while True:
        async with services.uow() as uow:
            page = list(await uow.messages.page(business.id, after_id=after, limit=PAGE))
        if not page:
            return
        yield page
        after = page[-1].id


def _message_values(message: Message) -> tuple[Any, ...]:
    return (
        message.id,
        str(message.customer_id),
        str(message.conversation_id),
        message.direction.value,
        message.channel.value,
        message.text,
        message.status.value,
        message.frustration,
        message.created_at.isoformat(),
    )


async def conversations_csv(services: Services, business: Business) -> AsyncIterator[str]:
    """Every message of every customer of the business, in the order they were stored."""
    yield BOM + _lines([MESSAGE_COLUMNS])
    async for page in _message_pages(services, business):
        yield _lines(_message_values(m) for m in page)


async def conversations_json(services: Services, business: Business) -> AsyncIterator[str]:
    """The same messages as one JSON array of objects, one object a line."""
    yield "["
    first = True
    async for page in _message_pages(services, business):
        items = (
            json.dumps(
                dict(zip(MESSAGE_COLUMNS, _message_values(m), strict=True)), ensure_ascii=False
            )
            for m in page
        )
        yield ("\n" if first else ",\n") + ",\n".join(items)
        first = False
    yield "\n]\n"


def digest_csv(digest: Digest) -> str:
    """The weekly digest's figures as (section, name, value) rows."""
    rows: list[tuple[str, str, object]] = [
        ("week", "first_day", digest.week.isoformat()),
        ("week", "last_day", digest.last_day.isoformat()),
        ("nps", "score", digest.nps.score),
        ("nps", "promoters", digest.nps.promoters),
        ("nps", "passives", digest.nps.passives),
        ("nps", "detractors", digest.nps.detractors),
        ("nps", "score_week_before", digest.nps_before.score),
        ("csat", "average", digest.csat.average),
        ("csat", "satisfied", digest.csat.satisfied),
        ("csat", "answers", digest.csat.total),
        ("csat", "average_week_before", digest.csat_before.average),
        ("checkins", "sent", digest.touches.sent),
        ("checkins", "answered", digest.touches.answered),
    ]
    rows += [("at_risk", r.name or str(r.customer_id), r.health) for r in digest.at_risk]
    rows += [("theme", n.label, n.theme.count) for n in digest.themes.themes]
    rows += [("team_conversations", r.agent or "", r.conversations) for r in digest.team]
    rows += [("team_resolved", r.agent or "", r.handled) for r in digest.team]
    return BOM + _lines([("section", "name", "value"), *rows])
