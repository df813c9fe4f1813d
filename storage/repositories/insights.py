"""Read-only queries behind the insights: scores over time, touch outcomes, customer signals."""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Float, Integer, and_, case, cast, func, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from bot.domain import (
    AgentTally,
    CheckinStatus,
    CustomerSignals,
    Direction,
    EventKind,
    Remark,
    ScoredAnswer,
)
from storage import records
from storage.repositories.events import COMPLAINTS
from storage.repositories.repository import Repository
from storage.tables import AnswerRow, CheckinRow, CustomerRow, EventRow, HandoffRow, MessageRow

HANDOFF = EventKind.HANDOFF_REQUESTED
FEEDBACK = EventKind.FEEDBACK_RECEIVED
FRUSTRATED = EventKind.FRUSTRATION_DETECTED
TEXT = "text"
# What an agent does that counts a conversation as handled by them.
HANDLED = (EventKind.AGENT_REPLIED, EventKind.CONVERSATION_RESOLVED)


class _Seconds(FunctionElement[float]):
    """The seconds from one timestamp to a later one, in the database's own arithmetic."""

    inherit_cache = True
    type = Float()


@compiles(_Seconds, "postgresql")
def _seconds_postgresql(element: _Seconds, compiler: SQLCompiler, **kw: object) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


@compiles(_Seconds, "sqlite")
def _seconds_sqlite(element: _Seconds, compiler: SQLCompiler, **kw: object) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def _week(
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    weeks: Sequence[datetime],
) -> ColumnElement[int]:
    """Which of the weeks (between consecutive bounds) a time falls in."""
    return case(
        *[
            (and_(column >= start, column < end), n)
            for n, (start, end) in enumerate(itertools.pairwise(weeks))
        ],
        else_=-1,
    )


class SqlInsights(Repository):
    async def scores(
        self, business_id: int, *, kind: str, since: datetime, until: datetime | None = None
    ) -> Sequence[ScoredAnswer]:
        rows = await self.session.execute(
            select(
                AnswerRow.answered_at,
                AnswerRow.score,
                CheckinRow.schedule_id,
                CheckinRow.channel,
                CustomerRow.language,
                CustomerRow.attributes,
            )
            .join(CustomerRow, CustomerRow.id == AnswerRow.customer_id)
            .outerjoin(CheckinRow, CheckinRow.id == AnswerRow.checkin_id)
            .where(
                AnswerRow.business_id == business_id,
                AnswerRow.score_kind == kind,
                AnswerRow.score.is_not(None),
                AnswerRow.answered_at >= since,
                AnswerRow.answered_at < until if until else true(),
            )
            .order_by(AnswerRow.answered_at)
        )
        return [
            ScoredAnswer(records.utc(at), score, schedule, language, channel, _tags(attributes))
            for at, score, schedule, channel, language, attributes in rows
            if score is not None
        ]

    async def outcomes(
        self, business_id: int, *, since: datetime, until: datetime | None = None
    ) -> Sequence[tuple[int | None, str, int]]:
        rows = await self.session.execute(
            select(CheckinRow.schedule_id, CheckinRow.status, func.count())
            .where(
                CheckinRow.business_id == business_id,
                CheckinRow.due_at >= since,
                CheckinRow.due_at < until if until else true(),
            )
            .group_by(CheckinRow.schedule_id, CheckinRow.status)
        )
        return [(schedule, status, int(count)) for schedule, status, count in rows]

    async def signals(self, business_id: int, *, since: datetime) -> Sequence[CustomerSignals]:
        scores: dict[tuple[uuid.UUID, str], list[tuple[datetime, int]]] = defaultdict(list)
        for customer, kind, at, score in await self.session.execute(
            select(
                AnswerRow.customer_id, AnswerRow.score_kind, AnswerRow.answered_at, AnswerRow.score
            )
            .where(
                AnswerRow.business_id == business_id,
                AnswerRow.score_kind.in_(("nps", "csat")),
                AnswerRow.score.is_not(None),
            )
            .order_by(AnswerRow.answered_at)
        ):
            if kind is not None and score is not None:
                scores[(customer, kind)].append((at, score))
        events: dict[tuple[uuid.UUID, str], list[datetime]] = defaultdict(list)
        for customer, kind, at in await self.session.execute(
            select(EventRow.customer_id, EventRow.kind, EventRow.occurred_at).where(
                EventRow.business_id == business_id,
                EventRow.kind.in_(COMPLAINTS),
                EventRow.occurred_at >= since,
            )
        ):
            events[(customer, kind)].append(at)
        unanswered = {
            customer: int(count)
            for customer, count in await self.session.execute(
                select(CheckinRow.customer_id, func.count())
                .where(
                    CheckinRow.business_id == business_id,
                    CheckinRow.status == CheckinStatus.EXPIRED.value,
                    CheckinRow.due_at >= since,
                )
                .group_by(CheckinRow.customer_id)
            )
        }
        contact = {
            customer: records.utc(at)
            for customer, at in await self.session.execute(
                select(MessageRow.customer_id, func.max(MessageRow.created_at))
                .where(
                    MessageRow.business_id == business_id,
                    MessageRow.direction == Direction.IN.value,
                )
                .group_by(MessageRow.customer_id)
            )
        }
        customers = await self.session.execute(
            select(CustomerRow.id, CustomerRow.name, CustomerRow.language, CustomerRow.opted_out)
            .where(CustomerRow.business_id == business_id)
            .order_by(CustomerRow.created_at)
        )
        return [
            CustomerSignals(
                customer_id=customer,
                name=name,
                language=language,
                opted_out=opted_out,
                nps=tuple(scores[(customer, "nps")]),
                csat=tuple(scores[(customer, "csat")]),
                complaints=tuple(events[(customer, FRUSTRATED)]),
                handoffs=tuple(events[(customer, HANDOFF)]),
                unanswered=unanswered.get(customer, 0),
                last_contact=contact.get(customer),
            )
            for customer, name, language, opted_out in customers
        ]

    async def remarks(self, business_id: int, *, since: datetime) -> Sequence[Remark]:
        found: list[Remark] = [
            Remark(customer, value, records.utc(at), "answer")
            for customer, value, at in await self.session.execute(
                select(AnswerRow.customer_id, AnswerRow.value, AnswerRow.answered_at).where(
                    AnswerRow.business_id == business_id,
                    AnswerRow.score_kind == TEXT,
                    AnswerRow.answered_at >= since,
                )
            )
        ]
        complaints: set[int] = set()
        for customer, kind, at, data in await self.session.execute(
            select(EventRow.customer_id, EventRow.kind, EventRow.occurred_at, EventRow.data).where(
                EventRow.business_id == business_id,
                EventRow.kind.in_((FEEDBACK, FRUSTRATED)),
                EventRow.occurred_at >= since,
            )
        ):
            if kind == FEEDBACK and isinstance(data.get("text"), str):
                found.append(Remark(customer, data["text"], records.utc(at), "feedback"))
            elif kind == FRUSTRATED and isinstance(data.get("message_id"), int):
                complaints.add(data["message_id"])
        if complaints:
            found.extend(
                Remark(customer, edited or text, records.utc(at), "complaint")
                for customer, text, edited, at in await self.session.execute(
                    select(
                        MessageRow.customer_id,
                        MessageRow.text,
                        MessageRow.edited_text,
                        MessageRow.created_at,
                    ).where(
                        MessageRow.business_id == business_id, MessageRow.id.in_(sorted(complaints))
                    )
                )
            )
        return sorted(found, key=lambda r: r.at, reverse=True)

    async def first_responses(
        self, business_id: int, *, weeks: Sequence[datetime]
    ) -> Sequence[AgentTally]:
        return await self._timed(business_id, HandoffRow.first_reply_at, weeks)

    async def resolutions(
        self, business_id: int, *, weeks: Sequence[datetime]
    ) -> Sequence[AgentTally]:
        return await self._timed(business_id, HandoffRow.resolved_at, weeks)

    async def _timed(
        self,
        business_id: int,
        at: InstrumentedAttribute[datetime | None],
        weeks: Sequence[datetime],
    ) -> Sequence[AgentTally]:
        """One query: per agent and week of `at`, the handoffs and their seconds since asked."""
        week = _week(at, weeks)
        rows = await self.session.execute(
            select(
                HandoffRow.agent_id,
                week,
                func.count(),
                func.sum(_Seconds(at, HandoffRow.requested_at)),
            )
            .where(HandoffRow.business_id == business_id, at >= weeks[0], at < weeks[-1])
            .group_by(HandoffRow.agent_id, week)
        )
        return [AgentTally(agent, n, count, float(total or 0)) for agent, n, count, total in rows]

    async def conversations_handled(
        self, business_id: int, *, weeks: Sequence[datetime]
    ) -> Sequence[AgentTally]:
        """One query over the timeline: an agent's replies and resolutions name the
        conversation and the agent."""
        week = _week(EventRow.occurred_at, weeks)
        agent = EventRow.data["agent_id"].as_integer()
        rows = await self.session.execute(
            select(agent, week, func.count(EventRow.data["conversation_id"].as_string().distinct()))
            .where(
                EventRow.business_id == business_id,
                EventRow.kind.in_(HANDLED),
                EventRow.occurred_at >= weeks[0],
                EventRow.occurred_at < weeks[-1],
                agent.is_not(None),
            )
            .group_by(agent, week)
        )
        return [AgentTally(agent_id, n, count, 0.0) for agent_id, n, count in rows]

    async def follow_ups(
        self, business_id: int, *, weeks: Sequence[datetime]
    ) -> Sequence[AgentTally]:
        """One query: the follow-up after a handoff is planned with the key `follow_up:<id>`."""
        week = _week(AnswerRow.answered_at, weeks)
        rows = await self.session.execute(
            select(
                HandoffRow.agent_id,
                week,
                func.count(),
                func.sum(case((AnswerRow.value == "yes", 1), else_=0)),
            )
            .join(CheckinRow, CheckinRow.id == AnswerRow.checkin_id)
            .join(HandoffRow, HandoffRow.id == cast(func.substr(CheckinRow.key, 11), Integer))
            .where(
                AnswerRow.business_id == business_id,
                AnswerRow.flow == "follow_up",
                # Only the follow-up's own touches, keyed `follow_up:<id>` (10 characters, then
                # the handoff's id: looked up by its key, not by reading every handoff).
                CheckinRow.flow == "follow_up",
                CheckinRow.key.like("follow_up:%"),
                HandoffRow.business_id == business_id,
                AnswerRow.question == "solved",
                AnswerRow.answered_at >= weeks[0],
                AnswerRow.answered_at < weeks[-1],
            )
            .group_by(HandoffRow.agent_id, week)
        )
        return [AgentTally(agent, n, count, float(yes or 0)) for agent, n, count, yes in rows]


def _tags(attributes: dict[str, object] | None) -> tuple[str, ...]:
    found = (attributes or {}).get("tags")
    return tuple(str(t) for t in found) if isinstance(found, list) else ()
