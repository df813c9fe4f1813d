"""The SQLAlchemy custom flows repository: the flows a business wrote itself."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from storage.repositories.repository import Repository
from storage.tables import CustomFlowRow


class SqlFlows(Repository):
    async def save(
        self, business_id: int, name: str, definition: Mapping[str, Any], *, now: datetime
    ) -> None:
        row = await self.session.scalar(
            select(CustomFlowRow).where(
                CustomFlowRow.business_id == business_id, CustomFlowRow.name == name
            )
        )
        if row is None:
            row = CustomFlowRow(business_id=business_id, name=name, created_at=now)
            self.session.add(row)
        row.definition = dict(definition)
        row.updated_at = now
        await self.session.flush()

    async def get(self, business_id: int, name: str) -> Mapping[str, Any] | None:
        row = await self.session.scalar(
            select(CustomFlowRow.definition).where(
                CustomFlowRow.business_id == business_id, CustomFlowRow.name == name
            )
        )
        return dict(row) if row is not None else None

    async def names(self, business_id: int) -> frozenset[str]:
        rows = await self.session.scalars(
            select(CustomFlowRow.name).where(CustomFlowRow.business_id == business_id)
        )
        return frozenset(rows)

    async def delete(self, business_id: int, name: str) -> bool:
        result = await self.session.execute(
            delete(CustomFlowRow).where(
                CustomFlowRow.business_id == business_id, CustomFlowRow.name == name
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
