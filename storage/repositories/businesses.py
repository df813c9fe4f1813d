"""The SQLAlchemy businesses repository: a business's settings and its API keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot.domain import ApiKey, Business, CannedReply
from storage import records
from storage.repositories.repository import Repository
from storage.tables import ApiKeyRow, BusinessRow


class SqlBusinesses(Repository):
    async def add(
        self,
        slug: str,
        *,
        name: str,
        sandbox_enabled: bool,
        created_at: datetime,
        language: str = "he",
    ) -> Business:
        row = BusinessRow(
            slug=slug,
            name=name,
            sandbox_enabled=sandbox_enabled,
            language=language,
            timezone="Asia/Jerusalem",
            detector_sensitivity="balanced",
            contact_rules={},
            consent_words={},
            handoff_rules={},
            canned_replies={},
            created_at=created_at,
        )
        return records.business(await self.store(row))

    async def set_consent_words(
        self, business_id: int, *, opt_out: Sequence[str], opt_in: Sequence[str]
    ) -> None:
        await self.session.execute(
            update(BusinessRow)
            .where(BusinessRow.id == business_id)
            .values(consent_words={"opt_out": list(opt_out), "opt_in": list(opt_in)})
        )

    async def get_by_slug(self, slug: str) -> Business | None:
        row = await self.session.scalar(select(BusinessRow).where(BusinessRow.slug == slug))
        return records.business(row) if row else None

    async def all(self) -> Sequence[Business]:
        rows = await self.session.scalars(select(BusinessRow).order_by(BusinessRow.slug))
        return [records.business(row) for row in rows]

    async def get(self, business_id: int) -> Business:
        return records.business(await self.session.get_one(BusinessRow, business_id))

    async def add_api_key(self, business_id: int, *, key_hash: str, created_at: datetime) -> ApiKey:
        row = await self.store(
            ApiKeyRow(business_id=business_id, key_hash=key_hash, created_at=created_at)
        )
        return records.api_key(row)

    async def api_keys(self, business_id: int) -> Sequence[ApiKey]:
        rows = await self.session.scalars(
            select(ApiKeyRow).where(ApiKeyRow.business_id == business_id).order_by(ApiKeyRow.id)
        )
        return [records.api_key(r) for r in rows]

    async def revoke_api_key(self, business_id: int, key_id: int, *, at: datetime) -> ApiKey | None:
        row = await self.session.get(ApiKeyRow, key_id)
        if row is None or row.business_id != business_id:
            return None
        if row.revoked_at is None:
            row.revoked_at = at
            await self.session.flush()
        return records.api_key(row)

    async def set_detector_sensitivity(self, business_id: int, sensitivity: str) -> None:
        await self.session.execute(
            update(BusinessRow)
            .where(BusinessRow.id == business_id)
            .values(detector_sensitivity=sensitivity)
        )

    async def find_by_api_key(self, key_hash: str) -> Business | None:
        row = await self.session.scalar(
            select(BusinessRow)
            .join(ApiKeyRow, ApiKeyRow.business_id == BusinessRow.id)
            .where(ApiKeyRow.key_hash == key_hash, ApiKeyRow.revoked_at.is_(None))
        )
        return records.business(row) if row else None

    async def set_opening_hours(self, business_id: int, hours: Mapping[str, Any]) -> None:
        await self.session.execute(
            update(BusinessRow)
            .where(BusinessRow.id == business_id)
            .values(opening_hours=dict(hours))
        )

    async def set_contact_rules(self, business_id: int, rules: Mapping[str, Any]) -> None:
        await self.session.execute(
            update(BusinessRow)
            .where(BusinessRow.id == business_id)
            .values(contact_rules=dict(rules))
        )

    async def set_handoff_rules(self, business_id: int, rules: Mapping[str, Any]) -> None:
        await self.session.execute(
            update(BusinessRow)
            .where(BusinessRow.id == business_id)
            .values(handoff_rules=dict(rules))
        )

    async def set_canned_replies(self, business_id: int, replies: Sequence[CannedReply]) -> None:
        stored = {"replies": [{"title": r.title, "text": r.text} for r in replies]}
        await self.session.execute(
            update(BusinessRow).where(BusinessRow.id == business_id).values(canned_replies=stored)
        )
