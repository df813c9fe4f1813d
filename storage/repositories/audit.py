"""The SQLAlchemy audit log: exports and permanent deletes of customers' records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.domain import AuditEntry
from storage import records
from storage.repositories.repository import Repository
from storage.tables import AuditRow


class SqlAudit(Repository):
    async def add(
        self,
        business_id: int,
        *,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        details: Mapping[str, Any],
    ) -> AuditEntry:
        row = AuditRow(
            business_id=business_id,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            details=dict(details),
        )
        return records.audit_entry(await self.store(row))

    async def list(self, business_id: int, *, limit: int) -> Sequence[AuditEntry]:
        rows = await self.session.scalars(
            select(AuditRow)
            .where(AuditRow.business_id == business_id)
            .order_by(AuditRow.at.desc(), AuditRow.id.desc())
            .limit(limit)
        )
        return [records.audit_entry(r) for r in rows]
