"""The SQLAlchemy check-ins repository: touches planned, claimed, made and finished."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, case, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.domain import (
    CadencePlan,
    ChannelName,
    Checkin,
    CheckinStatus,
    ContactHistory,
    Conversation,
    ConversationMode,
    DeliveryStatus,
    Direction,
    Identity,
    OutboxStatus,
    PlannedTouch,
    PlanningFacts,
    TouchFacts,
    TouchStart,
)
from storage import records
from storage.repositories.events import COMPLAINTS
from storage.repositories.repository import Repository
from storage.tables import (
    AnswerRow,
    CheckinRow,
    ConversationRow,
    CustomerRow,
    EventRow,
    IdentityRow,
    MessageRow,
    OutboxRow,
)

PENDING = (CheckinStatus.PLANNED.value, CheckinStatus.CLAIMED.value)
# Planned touches in one statement past which the table's statistics are refreshed at once.
ANALYZE_AFTER = 10_000


class SqlCheckins(Repository):
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

    async def timezones(self, business_id: int) -> frozenset[str]:
        """The timezones the business's customers live in."""
        rows = await self.session.scalars(
            select(CustomerRow.timezone).where(CustomerRow.business_id == business_id).distinct()
        )
        return frozenset(rows)

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
                    last_touch=records.utc(max(moments)) if moments else None,
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

    async def touch_facts(
        self, checkin_ids: Sequence[int], *, since: datetime
    ) -> Sequence[TouchFacts]:
        """The claimed ones of these touches with what making them needs, a query per fact.

        `since` starts the frequency cap's window of recent touches.
        """
        rows = list(
            await self.session.scalars(
                select(CheckinRow)
                .where(
                    CheckinRow.id.in_(checkin_ids),
                    CheckinRow.status == CheckinStatus.CLAIMED.value,
                )
                .order_by(CheckinRow.id)
                .execution_options(populate_existing=True)
            )
        )
        if not rows:
            return []
        ids = list({r.customer_id for r in rows})
        customers = {
            c.id: records.customer(c)
            for c in await self.session.scalars(select(CustomerRow).where(CustomerRow.id.in_(ids)))
        }
        identities: dict[uuid.UUID, list[Identity]] = {}
        for identity in await self.session.scalars(
            select(IdentityRow)
            .where(IdentityRow.customer_id.in_(ids), IdentityRow.reachable.is_(True))
            .order_by(IdentityRow.id)
        ):
            identities.setdefault(identity.customer_id, []).append(records.identity(identity))
        latest = (
            select(func.max(MessageRow.id))
            .where(MessageRow.customer_id.in_(ids))
            .group_by(MessageRow.customer_id)
        )
        last_channel = {
            customer_id: ChannelName(channel)
            for customer_id, channel in await self.session.execute(
                select(MessageRow.customer_id, MessageRow.channel).where(MessageRow.id.in_(latest))
            )
        }
        recent: dict[uuid.UUID, list[datetime]] = {}
        active: set[uuid.UUID] = set()
        for customer_id, status, sent_at in await self.session.execute(
            select(CheckinRow.customer_id, CheckinRow.status, CheckinRow.sent_at).where(
                CheckinRow.customer_id.in_(ids),
                (CheckinRow.sent_at >= since) | (CheckinRow.status == CheckinStatus.SENT.value),
            )
        ):
            if sent_at is not None and records.utc(sent_at) >= since:
                recent.setdefault(customer_id, []).append(records.utc(sent_at))
            if status == CheckinStatus.SENT.value:
                active.add(customer_id)
        answered = dict(
            (customer_id, records.utc(moment))
            for customer_id, moment in await self.session.execute(
                select(AnswerRow.customer_id, func.max(AnswerRow.answered_at))
                .where(AnswerRow.customer_id.in_(ids))
                .group_by(AnswerRow.customer_id)
            )
        )
        complained = dict(
            (customer_id, records.utc(moment))
            for customer_id, moment in await self.session.execute(
                select(EventRow.customer_id, func.max(EventRow.occurred_at))
                .where(EventRow.customer_id.in_(ids), EventRow.kind.in_(COMPLAINTS))
                .group_by(EventRow.customer_id)
            )
        )
        identity_ids = [i.id for found in identities.values() for i in found]
        human: set[uuid.UUID] = set()
        conversations: dict[int, Conversation] = {}
        for open_row in await self.session.scalars(
            select(ConversationRow)
            .where(
                ConversationRow.is_open.is_(True),
                ConversationRow.customer_id.in_(ids)
                | ConversationRow.identity_id.in_(identity_ids),
            )
            .order_by(ConversationRow.started_at)
        ):
            if open_row.customer_id in customers and open_row.mode == ConversationMode.HUMAN.value:
                human.add(open_row.customer_id)
            # The latest started wins, as `open_for` picks it.
            conversations[open_row.identity_id] = records.conversation(open_row)
        facts = []
        for row in rows:
            owned = tuple(identities.get(row.customer_id, ()))
            facts.append(
                TouchFacts(
                    checkin=records.checkin(row),
                    customer=customers.get(row.customer_id),
                    identities=owned,
                    last_channel=last_channel.get(row.customer_id),
                    history=ContactHistory(
                        recent_touches=tuple(recent.get(row.customer_id, ())),
                        run_active=row.customer_id in active,
                        last_answered=answered.get(row.customer_id),
                        handoff_open=row.customer_id in human,
                        last_complaint=complained.get(row.customer_id),
                    ),
                    conversations={
                        i.id: conversations[i.id] for i in owned if i.id in conversations
                    },
                )
            )
        return facts

    async def start_many(
        self, business_id: int, starts: Sequence[TouchStart], *, now: datetime
    ) -> dict[int, list[int]]:
        """Record these touches as made, in a few statements; their outbox ids by check-in.

        Only rows still claimed are taken (claimed → sent first, in one update), so a touch
        another worker made meanwhile is left out of the answer and of everything written.
        """
        if not starts:
            return {}
        taken = set(
            await self.session.scalars(
                update(CheckinRow)
                .where(
                    CheckinRow.id.in_([s.checkin_id for s in starts]),
                    CheckinRow.status == CheckinStatus.CLAIMED.value,
                )
                .values(status=CheckinStatus.SENT.value, sent_at=now, updated_at=now)
                .returning(CheckinRow.id)
                .execution_options(synchronize_session=False)
            )
        )
        going = [s for s in starts if s.checkin_id in taken]
        if not going:
            return {}
        conversations: dict[int, uuid.UUID] = {}
        opened = []
        for start in going:
            if start.conversation_id is not None:
                conversations[start.checkin_id] = start.conversation_id
                continue
            conversations[start.checkin_id] = uuid.uuid4()
            opened.append(
                {
                    "id": conversations[start.checkin_id],
                    "business_id": business_id,
                    "customer_id": start.customer_id,
                    "identity_id": start.identity_id,
                    "mode": ConversationMode.BOT.value,
                    "is_open": True,
                    "started_at": now,
                    "last_message_at": now,
                }
            )
        if opened:
            await self.session.execute(insert(ConversationRow), opened)
        await self.session.execute(
            insert(EventRow),
            [
                {
                    "business_id": business_id,
                    "customer_id": start.customer_id,
                    "kind": "checkin_sent",
                    "occurred_at": now,
                    "data": dict(start.event),
                }
                for start in going
            ],
        )
        replies = [
            (start, index, text_, choices)
            for start in going
            for index, (text_, choices) in enumerate(start.replies)
        ]
        if not replies:
            return await self._started(going, conversations, [])
        message_ids = list(
            await self.session.scalars(
                insert(MessageRow).returning(MessageRow.id, sort_by_parameter_order=True),
                [
                    {
                        "business_id": business_id,
                        "conversation_id": conversations[start.checkin_id],
                        "customer_id": start.customer_id,
                        "direction": Direction.OUT.value,
                        "channel": start.channel.value,
                        "text": text_,
                        "choices": [{"id": c.id, "label": c.label} for c in choices],
                        "status": DeliveryStatus.QUEUED.value,
                        "channel_message_id": None,
                        "reply_to_id": None,
                        "created_at": now,
                        "status_at": now,
                    }
                    for start, _, text_, choices in replies
                ],
            )
        )
        outbox_ids = list(
            await self.session.scalars(
                insert(OutboxRow).returning(OutboxRow.id, sort_by_parameter_order=True),
                [
                    {
                        "business_id": business_id,
                        "message_id": message_id,
                        "kind": start.kind.value,
                        "idempotency_key": f"{start.key}:{index}",
                        "status": OutboxStatus.PENDING.value,
                        "attempts": 0,
                        "template_only": False,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                    for (start, index, _, _), message_id in zip(replies, message_ids, strict=True)
                ],
            )
        )
        items = [
            (start.checkin_id, item_id)
            for (start, *_), item_id in zip(replies, outbox_ids, strict=True)
        ]
        return await self._started(going, conversations, items)

    async def _started(
        self,
        going: Sequence[TouchStart],
        conversations: Mapping[int, uuid.UUID],
        items: Sequence[tuple[int, int]],
    ) -> dict[int, list[int]]:
        """The rest of each made touch on its row: channel, conversation, run, wake time."""
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
                for start in going
            ],
            execution_options={"synchronize_session": False},
        )
        made: dict[int, list[int]] = {start.checkin_id: [] for start in going}
        for checkin_id, item_id in items:
            made[checkin_id].append(item_id)
        return made

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
            recent_touches=tuple(records.utc(t) for t in touches if t is not None),
            run_active=active is not None,
            last_answered=records.utc(answered) if answered else None,
            handoff_open=human is not None,
            last_complaint=records.utc(complained) if complained else None,
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
