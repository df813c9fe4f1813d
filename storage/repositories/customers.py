"""The SQLAlchemy customers repository: their records, search, consent, link tokens, and the
records that may be one person."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update

from bot.domain import (
    WHATSAPP_PREFIX,
    ChannelName,
    Customer,
    CustomerFields,
    LikelyDuplicates,
)
from storage import records
from storage.repositories.repository import Repository
from storage.tables import (
    AnswerRow,
    CheckinRow,
    ConversationRow,
    CustomerRow,
    EventRow,
    HandoffRow,
    IdentityRow,
    KnowledgeQuestionRow,
    MessageRow,
)

# Every table keyed by customer, by the name a merge reports it under.
HELD: dict[str, Any] = {
    "identities": IdentityRow,
    "conversations": ConversationRow,
    "messages": MessageRow,
    "events": EventRow,
    "answers": AnswerRow,
    "checkins": CheckinRow,
    "handoffs": HandoffRow,
    "questions": KnowledgeQuestionRow,
}


class SqlCustomers(Repository):
    async def add(
        self,
        business_id: int,
        *,
        name: str | None,
        phone: str | None,
        language: str,
        timezone: str,
        attributes: Mapping[str, Any],
        created_at: datetime,
        external_id: str | None = None,
    ) -> Customer:
        row = CustomerRow(
            id=uuid.uuid4(),
            business_id=business_id,
            external_id=external_id,
            name=name,
            phone=phone,
            language=language,
            timezone=timezone,
            attributes=dict(attributes),
            opted_out=False,
            created_at=created_at,
        )
        return records.customer(await self.store(row))

    async def get(self, business_id: int, customer_id: uuid.UUID) -> Customer | None:
        row = await self.session.get(CustomerRow, customer_id)
        return records.customer(row) if row and row.business_id == business_id else None

    async def find_by_external_id(self, business_id: int, external_id: str) -> Customer | None:
        row = await self.session.scalar(
            select(CustomerRow).where(
                CustomerRow.business_id == business_id, CustomerRow.external_id == external_id
            )
        )
        return records.customer(row) if row else None

    async def find_by_phone(self, business_id: int, phone: str) -> Customer | None:
        row = await self.session.scalar(
            select(CustomerRow)
            .where(CustomerRow.business_id == business_id, CustomerRow.phone == phone)
            .order_by(CustomerRow.created_at)
            .limit(1)
        )
        return records.customer(row) if row else None

    async def unreachable(self, business_id: int) -> int:
        reachable = select(IdentityRow.id).where(
            IdentityRow.customer_id == CustomerRow.id, IdentityRow.reachable.is_(True)
        )
        count = await self.session.scalar(
            select(func.count())
            .select_from(CustomerRow)
            .where(
                CustomerRow.business_id == business_id,
                CustomerRow.opted_out.is_(False),
                ~reachable.exists(),
            )
        )
        return int(count or 0)

    async def find_refs(
        self,
        business_id: int,
        *,
        external_ids: Sequence[str],
        phones: Sequence[str],
        ids: Sequence[uuid.UUID] = (),
    ) -> Sequence[Customer]:
        rows = await self.session.scalars(
            select(CustomerRow)
            .where(
                CustomerRow.business_id == business_id,
                or_(
                    CustomerRow.external_id.in_(external_ids),
                    CustomerRow.phone.in_(phones),
                    CustomerRow.id.in_(ids),
                ),
            )
            .order_by(CustomerRow.created_at.desc())
        )
        return [records.customer(r) for r in rows]

    async def update(self, customer_id: uuid.UUID, fields: CustomerFields) -> None:
        row = await self.session.get_one(CustomerRow, customer_id)
        for name in ("name", "phone", "language", "timezone", "external_id"):
            value = getattr(fields, name)
            if value is not None:
                setattr(row, name, value)
        if fields.attributes:
            row.attributes = {**(row.attributes or {}), **fields.attributes}
        await self.session.flush()

    async def list(self, business_id: int, *, limit: int, offset: int) -> Sequence[Customer]:
        rows = await self.session.scalars(
            select(CustomerRow)
            .where(CustomerRow.business_id == business_id)
            .order_by(CustomerRow.created_at, CustomerRow.id)
            .limit(limit)
            .offset(offset)
        )
        return [records.customer(r) for r in rows]

    async def search(
        self, business_id: int, *, text: str, phone: str | None, limit: int
    ) -> Sequence[Customer]:
        matches = [
            CustomerRow.external_id == text,
            CustomerRow.phone == text,
            func.lower(CustomerRow.name).contains(text.lower(), autoescape=True),
        ]
        if phone is not None:
            matches.append(CustomerRow.phone == phone)
            matches.append(
                CustomerRow.id.in_(
                    select(IdentityRow.customer_id).where(
                        IdentityRow.business_id == business_id,
                        IdentityRow.channel == ChannelName.WHATSAPP.value,
                        IdentityRow.address == WHATSAPP_PREFIX + phone,
                    )
                )
            )
        with contextlib.suppress(ValueError):
            matches.append(CustomerRow.id == uuid.UUID(text))
        rows = await self.session.scalars(
            select(CustomerRow)
            .where(CustomerRow.business_id == business_id, or_(*matches))
            .order_by(CustomerRow.created_at.desc(), CustomerRow.id)
            .limit(limit)
        )
        return [records.customer(r) for r in rows]

    async def delete(self, business_id: int, customer_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(CustomerRow).where(
                CustomerRow.business_id == business_id, CustomerRow.id == customer_id
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_name(self, customer_id: uuid.UUID, name: str) -> None:
        await self.session.execute(
            update(CustomerRow).where(CustomerRow.id == customer_id).values(name=name)
        )

    async def set_opted_out(self, customer_id: uuid.UUID, opted_out: bool, *, at: datetime) -> None:
        values: dict[str, Any] = {"opted_out": opted_out, "opted_out_at": at if opted_out else None}
        if not opted_out:
            values["consent_at"] = at
        await self.session.execute(
            update(CustomerRow).where(CustomerRow.id == customer_id).values(**values)
        )

    async def set_link(
        self, customer_id: uuid.UUID, token_hash: str | None, *, expires_at: datetime | None
    ) -> None:
        await self.session.execute(
            update(CustomerRow)
            .where(CustomerRow.id == customer_id)
            .values(link_token_hash=token_hash, link_expires_at=expires_at)
        )

    async def by_link(self, business_id: int, token_hash: str, *, now: datetime) -> Customer | None:
        row = await self.session.scalar(
            select(CustomerRow).where(
                CustomerRow.business_id == business_id,
                CustomerRow.link_token_hash == token_hash,
                CustomerRow.link_expires_at > now,
            )
        )
        return records.customer(row) if row else None

    async def lock(self, customer_ids: Sequence[uuid.UUID]) -> None:
        """Hold the customers' rows until the commit (PostgreSQL): a row another transaction
        would add for one of them waits, and then meets the record as the commit left it."""
        await self.session.execute(
            select(CustomerRow.id)
            .where(CustomerRow.id.in_(sorted(customer_ids)))
            .order_by(CustomerRow.id)
            .with_for_update()
        )

    async def holdings(self, customer_id: uuid.UUID) -> dict[str, int]:
        counted = {}
        for name, row in HELD.items():
            count = await self.session.scalar(
                select(func.count()).select_from(row).where(row.customer_id == customer_id)
            )
            counted[name] = int(count or 0)
        return counted

    async def duplicates(self, business_id: int, *, limit: int) -> Sequence[LikelyDuplicates]:
        found: list[LikelyDuplicates] = []
        for reason, key, family in (
            ("phone", CustomerRow.phone, True),
            ("email", _email(), False),
            ("external_id", _plain_external_id(), False),
        ):
            grouped = (
                select(key)
                .where(CustomerRow.business_id == business_id, key.is_not(None), key != "")
                .group_by(key)
                .having(func.count() > 1)
                .order_by(key)
                .limit(limit)
            )
            if family:
                # Each with their own external id: a family sharing one phone, not duplicates.
                grouped = grouped.having(func.count() > func.count(CustomerRow.external_id))
            values = [str(v) for v in await self.session.scalars(grouped)]
            if not values:
                continue
            rows = await self.session.execute(
                select(key, CustomerRow)
                .where(CustomerRow.business_id == business_id, key.in_(values))
                .order_by(CustomerRow.created_at, CustomerRow.id)
            )
            members: dict[str, list[Customer]] = {}
            for value, row in rows:
                members.setdefault(str(value), []).append(records.customer(row))
            found += [LikelyDuplicates(reason, v, tuple(members[v])) for v in values]
        return found


def _email() -> ColumnElement[str]:
    return func.lower(func.trim(CustomerRow.attributes["email"].as_string()))


def _plain_external_id() -> ColumnElement[str]:
    """The external id without case, separators or leading zeros: "C-0042" is "c0042", and
    "00731" (a spreadsheet keeps no leading zeros) is "731"."""
    plain: ColumnElement[str] = func.lower(CustomerRow.external_id)
    for separator in ("-", "_", " ", ".", "/"):
        plain = func.replace(plain, separator, "")
    return func.ltrim(plain, "0")
