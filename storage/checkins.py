"""SQLAlchemy repositories for schedules, custom flows, planned check-ins and survey answers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.domain import (
    Answer,
    ChannelName,
    Checkin,
    CheckinStatus,
    ContactHistory,
    ConversationMode,
    PlannedTouch,
    PlanningFacts,
    ScheduleRecord,
)
from storage.repositories import _Repository
from storage.tables import (
    AnswerRow,
    CheckinRow,
    ConversationRow,
    CustomerRow,
    CustomFlowRow,
    EventRow,
    IdentityRow,
    ScheduleRow,
)

PENDING = (CheckinStatus.PLANNED.value, CheckinStatus.CLAIMED.value)
COMPLAINTS = ("frustration_detected", "handoff_requested")


def _schedule(row: ScheduleRow) -> ScheduleRecord:
    return ScheduleRecord(
        id=row.id,
        business_id=row.business_id,
        name=row.name,
        flow=row.flow,
        definition=dict(row.definition),
        active=row.active,
        priority=row.priority,
        starts_at=row.starts_at,
        planned_at=row.planned_at,
    )


def _checkin(row: CheckinRow) -> Checkin:
    return Checkin(
        id=row.id,
        business_id=row.business_id,
        schedule_id=row.schedule_id,
        customer_id=row.customer_id,
        key=row.key,
        flow=row.flow,
        priority=row.priority,
        status=CheckinStatus(row.status),
        due_at=row.due_at,
        send_at=row.send_at,
        reason=row.reason,
        channel=ChannelName(row.channel) if row.channel else None,
        conversation_id=row.conversation_id,
        run=dict(row.run) if row.run is not None else None,
        wake_at=row.wake_at,
        sent_at=row.sent_at,
        finished_at=row.finished_at,
    )


class SqlSchedules(_Repository):
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
        return _schedule(row)

    async def get(self, business_id: int, name: str) -> ScheduleRecord | None:
        row = await self.session.scalar(
            select(ScheduleRow).where(
                ScheduleRow.business_id == business_id, ScheduleRow.name == name
            )
        )
        return _schedule(row) if row else None

    async def by_id(self, schedule_id: int) -> ScheduleRecord:
        return _schedule(await self.session.get_one(ScheduleRow, schedule_id))

    async def list(self, business_id: int) -> Sequence[ScheduleRecord]:
        rows = await self.session.scalars(
            select(ScheduleRow)
            .where(ScheduleRow.business_id == business_id)
            .order_by(ScheduleRow.name)
        )
        return [_schedule(r) for r in rows]

    async def delete(self, business_id: int, name: str) -> bool:
        found = await self.session.scalar(
            select(ScheduleRow.id).where(
                ScheduleRow.business_id == business_id, ScheduleRow.name == name
            )
        )
        if found is None:
            return False
        await self.session.execute(
            delete(CheckinRow).where(
                CheckinRow.schedule_id == found,
                CheckinRow.status == CheckinStatus.PLANNED.value,
            )
        )
        await self.session.execute(delete(ScheduleRow).where(ScheduleRow.id == found))
        return True

    async def to_plan(self, *, planned_before: datetime) -> Sequence[ScheduleRecord]:
        rows = await self.session.scalars(
            select(ScheduleRow)
            .where(
                ScheduleRow.active.is_(True),
                (ScheduleRow.planned_at.is_(None)) | (ScheduleRow.planned_at < planned_before),
            )
            .order_by(ScheduleRow.id)
        )
        return [_schedule(r) for r in rows]

    async def mark_planned(self, schedule_id: int, *, at: datetime) -> None:
        await self.session.execute(
            update(ScheduleRow).where(ScheduleRow.id == schedule_id).values(planned_at=at)
        )


class SqlFlows(_Repository):
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


class SqlCheckins(_Repository):
    async def plan(
        self, business_id: int, touches: Sequence[PlannedTouch], *, now: datetime
    ) -> int:
        if not touches:
            return 0
        values = [
            {
                "business_id": business_id,
                "schedule_id": t.schedule_id,
                "customer_id": t.customer_id,
                "key": t.key,
                "flow": t.flow,
                "priority": t.priority,
                "status": CheckinStatus.PLANNED.value,
                "reason": t.reason,
                "due_at": t.due_at,
                "send_at": t.send_at,
                "created_at": now,
                "updated_at": now,
            }
            for t in touches
        ]
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(CheckinRow)
            .values(values)
            .on_conflict_do_nothing(index_elements=["business_id", "key"])
        )
        result = await self.session.execute(statement)
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def planning_facts(
        self, business_id: int, schedule_id: int, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[PlanningFacts]:
        query = select(CustomerRow).where(CustomerRow.business_id == business_id)
        if after is not None:
            query = query.where(CustomerRow.id > after)
        customers = list(await self.session.scalars(query.order_by(CustomerRow.id).limit(limit)))
        if not customers:
            return []
        ids = [c.id for c in customers]
        channels: dict[uuid.UUID, set[str]] = {}
        for customer_id, channel in await self.session.execute(
            select(IdentityRow.customer_id, IdentityRow.channel).where(
                IdentityRow.customer_id.in_(ids), IdentityRow.reachable.is_(True)
            )
        ):
            channels.setdefault(customer_id, set()).add(channel)
        counts = {
            customer_id: (int(total), int(pending or 0))
            for customer_id, total, pending in await self.session.execute(
                select(
                    CheckinRow.customer_id,
                    func.count(),
                    func.sum(case((CheckinRow.status.in_(PENDING), 1), else_=0)).cast(Integer),
                )
                .where(CheckinRow.schedule_id == schedule_id, CheckinRow.customer_id.in_(ids))
                .group_by(CheckinRow.customer_id)
            )
        }
        touched = {
            customer_id: moment
            for customer_id, moment in await self.session.execute(
                select(CheckinRow.customer_id, func.max(CheckinRow.sent_at))
                .where(CheckinRow.customer_id.in_(ids), CheckinRow.sent_at.is_not(None))
                .group_by(CheckinRow.customer_id)
            )
        }
        talked = {
            customer_id: moment
            for customer_id, moment in await self.session.execute(
                select(ConversationRow.customer_id, func.max(ConversationRow.last_message_at))
                .where(ConversationRow.customer_id.in_(ids))
                .group_by(ConversationRow.customer_id)
            )
        }
        facts = []
        for c in customers:
            total, pending = counts.get(c.id, (0, 0))
            moments = [m for m in (touched.get(c.id), talked.get(c.id)) if m is not None]
            facts.append(
                PlanningFacts(
                    customer_id=c.id,
                    language=c.language,
                    timezone=c.timezone,
                    attributes=dict(c.attributes),
                    opted_out=c.opted_out,
                    channels=frozenset(channels.get(c.id, ())),
                    last_touch=_utc(max(moments)) if moments else None,
                    pending=pending > 0,
                    occurrences=total,
                )
            )
        return facts

    async def claim_due(self, *, now: datetime, limit: int) -> Sequence[Checkin]:
        ids = list(
            await self.session.scalars(
                select(CheckinRow.id)
                .where(CheckinRow.status == CheckinStatus.PLANNED.value, CheckinRow.send_at <= now)
                .order_by(CheckinRow.send_at, CheckinRow.priority.desc(), CheckinRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            return []
        await self.session.execute(
            update(CheckinRow)
            .where(CheckinRow.id.in_(ids), CheckinRow.status == CheckinStatus.PLANNED.value)
            .values(status=CheckinStatus.CLAIMED.value, claimed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        rows = await self.session.scalars(
            select(CheckinRow)
            .where(CheckinRow.id.in_(ids), CheckinRow.claimed_at == now)
            .order_by(CheckinRow.send_at, CheckinRow.priority.desc(), CheckinRow.id)
            .execution_options(populate_existing=True)
        )
        return [_checkin(r) for r in rows]

    async def release_stale(self, *, stale_before: datetime) -> int:
        result = await self.session.execute(
            update(CheckinRow)
            .where(
                CheckinRow.status == CheckinStatus.CLAIMED.value,
                CheckinRow.claimed_at < stale_before,
            )
            .values(status=CheckinStatus.PLANNED.value, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def get(self, checkin_id: int) -> Checkin:
        row = await self.session.get_one(CheckinRow, checkin_id, populate_existing=True)
        return _checkin(row)

    async def active_for(self, customer_id: uuid.UUID) -> Checkin | None:
        row = await self.session.scalar(
            select(CheckinRow)
            .where(
                CheckinRow.customer_id == customer_id,
                CheckinRow.status == CheckinStatus.SENT.value,
            )
            .order_by(CheckinRow.sent_at.desc())
            .limit(1)
        )
        return _checkin(row) if row else None

    async def history(self, customer_id: uuid.UUID, *, since: datetime) -> ContactHistory:
        touches = await self.session.scalars(
            select(CheckinRow.sent_at).where(
                CheckinRow.customer_id == customer_id, CheckinRow.sent_at >= since
            )
        )
        active = await self.session.scalar(
            select(CheckinRow.id)
            .where(
                CheckinRow.customer_id == customer_id,
                CheckinRow.status == CheckinStatus.SENT.value,
            )
            .limit(1)
        )
        answered = await self.session.scalar(
            select(func.max(AnswerRow.answered_at)).where(AnswerRow.customer_id == customer_id)
        )
        human = await self.session.scalar(
            select(ConversationRow.id)
            .where(
                ConversationRow.customer_id == customer_id,
                ConversationRow.is_open.is_(True),
                ConversationRow.mode == ConversationMode.HUMAN.value,
            )
            .limit(1)
        )
        complained = await self.session.scalar(
            select(func.max(EventRow.occurred_at)).where(
                EventRow.customer_id == customer_id, EventRow.kind.in_(COMPLAINTS)
            )
        )
        return ContactHistory(
            recent_touches=tuple(_utc(t) for t in touches if t is not None),
            run_active=active is not None,
            last_answered=_utc(answered) if answered else None,
            handoff_open=human is not None,
            last_complaint=_utc(complained) if complained else None,
        )

    async def start(
        self,
        checkin_id: int,
        *,
        channel: ChannelName,
        conversation_id: uuid.UUID,
        run: Mapping[str, Any],
        wake_at: datetime | None,
        now: datetime,
    ) -> bool:
        result = await self.session.execute(
            update(CheckinRow)
            .where(CheckinRow.id == checkin_id, CheckinRow.status == CheckinStatus.CLAIMED.value)
            .values(
                status=CheckinStatus.SENT.value,
                channel=channel.value,
                conversation_id=conversation_id,
                run=dict(run),
                wake_at=wake_at,
                sent_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def move(self, checkin_id: int, *, send_at: datetime, reason: str, now: datetime) -> None:
        await self.session.execute(
            update(CheckinRow)
            .where(CheckinRow.id == checkin_id)
            .values(
                status=CheckinStatus.PLANNED.value,
                send_at=send_at,
                reason=reason,
                claimed_at=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )

    async def finish(
        self,
        checkin_id: int,
        status: CheckinStatus,
        *,
        reason: str | None,
        now: datetime,
        run: Mapping[str, Any] | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": status.value,
            "reason": reason,
            "wake_at": None,
            "finished_at": now,
            "updated_at": now,
        }
        if run is not None:
            values["run"] = dict(run)
        await self.session.execute(
            update(CheckinRow)
            .where(CheckinRow.id == checkin_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def update_run(
        self, checkin_id: int, *, run: Mapping[str, Any], wake_at: datetime | None, now: datetime
    ) -> None:
        await self.session.execute(
            update(CheckinRow)
            .where(CheckinRow.id == checkin_id)
            .values(run=dict(run), wake_at=wake_at, updated_at=now)
            .execution_options(synchronize_session=False)
        )

    async def waking(self, *, now: datetime, limit: int) -> Sequence[Checkin]:
        rows = await self.session.scalars(
            select(CheckinRow)
            .where(CheckinRow.status == CheckinStatus.SENT.value, CheckinRow.wake_at <= now)
            .order_by(CheckinRow.wake_at)
            .limit(limit)
        )
        return [_checkin(r) for r in rows]

    async def list(
        self,
        business_id: int,
        *,
        status: CheckinStatus | None,
        limit: int,
        offset: int,
        customer_id: uuid.UUID | None = None,
    ) -> Sequence[Checkin]:
        query = select(CheckinRow).where(CheckinRow.business_id == business_id)
        if status is not None:
            query = query.where(CheckinRow.status == status.value)
        if customer_id is not None:
            query = query.where(CheckinRow.customer_id == customer_id)
        rows = await self.session.scalars(
            query.order_by(CheckinRow.send_at, CheckinRow.id).limit(limit).offset(offset)
        )
        return [_checkin(r) for r in rows]

    async def unfinished(self, business_id: int, *, flow: str) -> int:
        waiting = (CheckinStatus.PLANNED, CheckinStatus.CLAIMED, CheckinStatus.SENT)
        found = await self.session.scalar(
            select(func.count())
            .select_from(CheckinRow)
            .where(
                CheckinRow.business_id == business_id,
                CheckinRow.flow == flow,
                CheckinRow.status.in_([s.value for s in waiting]),
            )
        )
        return int(found or 0)


def _answer(r: AnswerRow) -> Answer:
    return Answer(
        customer_id=r.customer_id,
        flow=r.flow,
        question=r.question,
        value=r.value,
        answered_at=r.answered_at,
        checkin_id=r.checkin_id,
        score=r.score,
        score_kind=r.score_kind,
    )


class SqlAnswers(_Repository):
    async def add(self, business_id: int, answer: Answer) -> None:
        await self._added(
            AnswerRow(
                business_id=business_id,
                customer_id=answer.customer_id,
                checkin_id=answer.checkin_id,
                flow=answer.flow,
                question=answer.question,
                value=answer.value,
                score=answer.score,
                score_kind=answer.score_kind,
                answered_at=answer.answered_at,
            )
        )

    async def for_customer(self, customer_id: uuid.UUID, *, limit: int) -> Sequence[Answer]:
        rows = await self.session.scalars(
            select(AnswerRow)
            .where(AnswerRow.customer_id == customer_id)
            .order_by(AnswerRow.answered_at.desc(), AnswerRow.id.desc())
            .limit(limit)
        )
        return [_answer(r) for r in reversed(rows.all())]

    async def page(
        self, business_id: int, *, after_id: int, limit: int
    ) -> Sequence[tuple[int, Answer]]:
        rows = await self.session.scalars(
            select(AnswerRow)
            .where(AnswerRow.business_id == business_id, AnswerRow.id > after_id)
            .order_by(AnswerRow.id)
            .limit(limit)
        )
        return [(r.id, _answer(r)) for r in rows]


def _utc(moment: datetime) -> datetime:
    """Aggregates bypass the column type; SQLite hands them back as naive UTC strings."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
