"""The SQLAlchemy check-ins repository: touches planned, claimed, made and finished."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.domain import CadencePlan, ChannelName, Checkin, CheckinStatus, PlannedTouch, TouchStart
from storage import records
from storage.repositories.checkin_facts import CheckinFacts
from storage.tables import CheckinRow

# Planned touches in one statement past which the table's statistics are refreshed at once.
ANALYZE_AFTER = 10_000
# The reason a touch planned for a customer merged into another was skipped.
MERGED = "merged"


class SqlCheckins(CheckinFacts):
    """The check-ins table's one writer; what deciding a touch reads is in `CheckinFacts`."""

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

    async def plan_cadence(
        self,
        business_id: int,
        schedule_id: int,
        *,
        cadence: CadencePlan,
        now: datetime,
    ) -> int | None:
        """Plan every customer's next cadence touch in one statement; None off PostgreSQL.

        The same rules as planning customer by customer: reachable, not opted out, nothing
        pending by this schedule, in the segment (language and channel only); due a period
        after the last check-in or conversation (or the schedule's start), never before now,
        moved to the next allowed time by joining the moment's local day in the calendar.
        """
        if self.session.get_bind().dialect.name != "postgresql":
            return None
        result = await self.session.execute(
            text(
                _PLAN_CADENCE.format(
                    language="AND c.language = :language" if cadence.language else "",
                    channel="AND i.channel = :channel" if cadence.channel else "",
                )
            ),
            {
                "b": business_id,
                "s": schedule_id,
                "key": f"{schedule_id}:",
                "flow": cadence.flow,
                "priority": cadence.priority,
                "period": cadence.period,
                "start": cadence.start_of,
                "now": now,
                "quiet": cadence.moved_reason,
                "horizon": cadence.horizon,
                **({"language": cadence.language} if cadence.language else {}),
                **({"channel": cadence.channel} if cadence.channel else {}),
                "zones": [d[0] for d in cadence.calendar],
                "days": [d[1] for d in cadence.calendar],
                "opens": [d[2] for d in cadence.calendar],
                "closes": [d[3] for d in cadence.calendar],
                "nexts": [d[4] for d in cadence.calendar],
            },
        )
        added = int(result.rowcount)  # type: ignore[attr-defined]
        if added >= ANALYZE_AFTER:
            # Touches are made from these rows within the minute, looked up by customer; on the
            # statistics of before the insert PostgreSQL guesses and scans every check-in
            # (650 ms a batch of 50 at a million rows) until autovacuum analyzes the table.
            await self.session.execute(text("ANALYZE checkins"))
        return added

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
        return [records.checkin(r) for r in rows]

    async def claimed(self, checkin_ids: Sequence[int]) -> Sequence[Checkin]:
        """Those of these touches still claimed, by id."""
        rows = await self.session.scalars(
            select(CheckinRow)
            .where(CheckinRow.id.in_(checkin_ids), CheckinRow.status == CheckinStatus.CLAIMED.value)
            .order_by(CheckinRow.id)
            .execution_options(populate_existing=True)
        )
        return [records.checkin(r) for r in rows]

    async def start_many(self, checkin_ids: Sequence[int], *, now: datetime) -> Sequence[int]:
        if not checkin_ids:
            return []
        taken = await self.session.scalars(
            update(CheckinRow)
            .where(
                CheckinRow.id.in_(checkin_ids),
                CheckinRow.status == CheckinStatus.CLAIMED.value,
            )
            .values(status=CheckinStatus.SENT.value, sent_at=now, updated_at=now)
            .returning(CheckinRow.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(taken)

    async def record_starts(
        self, starts: Sequence[TouchStart], *, conversations: Mapping[int, uuid.UUID]
    ) -> None:
        if not starts:
            return
        # An ORM bulk UPDATE by primary key: one executemany for the lot.
        await self.session.execute(
            update(CheckinRow),
            [
                {
                    "id": start.checkin_id,
                    "channel": start.channel.value,
                    "conversation_id": conversations[start.checkin_id],
                    "run": dict(start.run),
                    "wake_at": start.wake_at,
                }
                for start in starts
            ],
            execution_options={"synchronize_session": False},
        )

    async def drop_planned(self, schedule_id: int) -> None:
        """Delete the schedule's touches still only planned (the schedule is being deleted)."""
        await self.session.execute(
            delete(CheckinRow).where(
                CheckinRow.schedule_id == schedule_id,
                CheckinRow.status == CheckinStatus.PLANNED.value,
            )
        )

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
        return records.checkin(row)

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
        return records.checkin(row) if row else None

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
        return [records.checkin(r) for r in rows]

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
        return [records.checkin(r) for r in rows]

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

    async def reassign_customer(
        self, from_id: uuid.UUID, to_id: uuid.UUID, *, now: datetime
    ) -> int:
        """Give every check-in of one customer to another (a merge); how many moved. Touches
        the other still had planned are skipped: the survivor's own plan stands, and the next
        planning gives them what their schedules still owe."""
        await self.session.execute(
            update(CheckinRow)
            .where(
                CheckinRow.customer_id == from_id,
                CheckinRow.status == CheckinStatus.PLANNED.value,
            )
            .values(status=CheckinStatus.SKIPPED.value, reason=MERGED, updated_at=now)
        )
        result = await self.session.execute(
            update(CheckinRow).where(CheckinRow.customer_id == from_id).values(customer_id=to_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def reassign_conversations(
        self, conversation_ids: Sequence[uuid.UUID], to_id: uuid.UUID
    ) -> int:
        """Give the check-ins of these conversations to another customer (a chat moved by a deep
        link); how many moved."""
        result = await self.session.execute(
            update(CheckinRow)
            .where(CheckinRow.conversation_id.in_(conversation_ids))
            .values(customer_id=to_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


_PLAN_CADENCE = """
WITH calendar (timezone, day, opens, closes, next_opens) AS (
    SELECT * FROM unnest(CAST(:zones AS text[]), CAST(:days AS date[]),
        CAST(:opens AS timestamptz[]), CAST(:closes AS timestamptz[]),
        CAST(:nexts AS timestamptz[]))
), made AS (
    SELECT customer_id, count(*) AS made,
        count(*) FILTER (WHERE status IN ('planned', 'claimed')) AS pending
    FROM checkins WHERE schedule_id = :s GROUP BY customer_id
), touched AS (
    SELECT customer_id, max(sent_at) AS at FROM checkins
    WHERE business_id = :b AND sent_at IS NOT NULL GROUP BY customer_id
), talked AS (
    SELECT customer_id, max(last_message_at) AS at FROM conversations
    WHERE business_id = :b GROUP BY customer_id
), due AS MATERIALIZED (
    SELECT c.id, c.timezone, coalesce(made.made, 0) AS made,
        coalesce(greatest(touched.at, talked.at), CAST(:start AS timestamptz))
            + CAST(:period AS interval) AS due_at
    FROM customers c
        LEFT JOIN made ON made.customer_id = c.id
        LEFT JOIN touched ON touched.customer_id = c.id
        LEFT JOIN talked ON talked.customer_id = c.id
    WHERE c.business_id = :b AND NOT c.opted_out {language}
        AND coalesce(made.pending, 0) = 0
        AND EXISTS (SELECT 1 FROM channel_identities i
            WHERE i.customer_id = c.id AND i.reachable {channel})
), timed AS (
    SELECT due.*, greatest(due_at, CAST(:now AS timestamptz)) AS earliest FROM due
), placed AS (
    SELECT timed.*, CASE WHEN calendar.closes IS NOT NULL AND earliest < calendar.closes
        THEN greatest(earliest, calendar.opens) ELSE calendar.next_opens END AS send_at
    FROM timed JOIN calendar ON calendar.timezone = timed.timezone
        AND calendar.day = CAST(earliest AT TIME ZONE timed.timezone AS date)
    WHERE earliest < CAST(:horizon AS timestamptz)
)
INSERT INTO checkins (business_id, schedule_id, customer_id, key, flow, priority, status,
    reason, due_at, send_at, created_at, updated_at)
SELECT :b, :s, id, CAST(:key AS text) || id || ':' || (made + 1), :flow, :priority, 'planned',
    CASE WHEN send_at > earliest THEN CAST(:quiet AS text) END, due_at, send_at, :now, :now
FROM placed WHERE send_at IS NOT NULL
ON CONFLICT (business_id, key) DO NOTHING
"""
