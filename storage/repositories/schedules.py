"""The SQLAlchemy schedules repository: when each business's check-ins are planned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from bot.domain import ScheduleRecord
from storage import records
from storage.repositories.repository import Repository
from storage.tables import ScheduleRow


class SqlSchedules(Repository):
    async def save(
        self,
        business_id: int,
        *,
        name: str,
        flow: str,
        definition: Mapping[str, Any],
        active: bool,
        priority: int,
        now: datetime,
    ) -> ScheduleRecord:
        row = await self.session.scalar(
            select(ScheduleRow).where(
                ScheduleRow.business_id == business_id, ScheduleRow.name == name
            )
        )
        if row is None:
            row = ScheduleRow(
                business_id=business_id, name=name, starts_at=now, created_at=now, planned_at=None
            )
            self.session.add(row)
        row.flow = flow
        row.definition = dict(definition)
        row.active = active
        row.priority = priority
        row.updated_at = now
        row.planned_at = None
        await self.session.flush()
        return records.schedule(row)

    async def get(self, business_id: int, name: str) -> ScheduleRecord | None:
        row = await self.session.scalar(
            select(ScheduleRow).where(
                ScheduleRow.business_id == business_id, ScheduleRow.name == name
            )
        )
        return records.schedule(row) if row else None

    async def by_id(self, schedule_id: int) -> ScheduleRecord:
        return records.schedule(await self.session.get_one(ScheduleRow, schedule_id))

    async def list(self, business_id: int) -> Sequence[ScheduleRecord]:
        rows = await self.session.scalars(
            select(ScheduleRow)
            .where(ScheduleRow.business_id == business_id)
            .order_by(ScheduleRow.name)
        )
        return [records.schedule(r) for r in rows]

    async def delete(self, schedule_id: int) -> None:
        await self.session.execute(delete(ScheduleRow).where(ScheduleRow.id == schedule_id))

    async def to_plan(self, *, planned_before: datetime) -> Sequence[ScheduleRecord]:
        rows = await self.session.scalars(
            select(ScheduleRow)
            .where(
                ScheduleRow.active.is_(True),
                (ScheduleRow.planned_at.is_(None)) | (ScheduleRow.planned_at < planned_before),
            )
            .order_by(ScheduleRow.id)
        )
        return [records.schedule(r) for r in rows]

    async def mark_planned(self, schedule_id: int, *, at: datetime) -> None:
        await self.session.execute(
            update(ScheduleRow).where(ScheduleRow.id == schedule_id).values(planned_at=at)
        )
