"""The SQLAlchemy customers repository: their records, search, consent and link tokens."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from bot.domain import Customer, CustomerFields
from storage import records
from storage.repositories.repository import Repository
from storage.tables import CustomerRow, IdentityRow


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
        self, business_id: int, *, external_ids: Sequence[str], phones: Sequence[str]
    ) -> Sequence[Customer]:
        rows = await self.session.scalars(
            select(CustomerRow)
            .where(
                CustomerRow.business_id == business_id,
                or_(CustomerRow.external_id.in_(external_ids), CustomerRow.phone.in_(phones)),
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
