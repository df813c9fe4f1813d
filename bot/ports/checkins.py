"""Repositories of scheduled contact: schedules, custom flows, planned check-ins, survey answers and the insights read from them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.domain import (
    AgentTally,
    Answer,
    CadencePlan,
    ChannelName,
    Checkin,
    CheckinStatus,
    ContactHistory,
    CustomerSignals,
    PlannedTouch,
    PlanningFacts,
    Remark,
    ScheduleRecord,
    ScoredAnswer,
    TouchFacts,
    TouchStart,
)


class ScheduleRepository(Protocol):
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
        """Create or replace the schedule `name`; a replaced one keeps its start and is re-planned."""
        ...

    async def get(self, business_id: int, name: str) -> ScheduleRecord | None: ...

    async def by_id(self, schedule_id: int) -> ScheduleRecord: ...

    async def list(self, business_id: int) -> Sequence[ScheduleRecord]: ...

    async def delete(self, schedule_id: int) -> None:
        """Delete the schedule; the touches it made stay, with no schedule (its touches still
        only planned are the check-ins repository's to drop first)."""
        ...

    async def to_plan(self, *, planned_before: datetime) -> Sequence[ScheduleRecord]:
        """Active schedules never planned, or last planned before `planned_before`."""
        ...

    async def mark_planned(self, schedule_id: int, *, at: datetime) -> None: ...


class FlowRepository(Protocol):
    """A business's custom flows, as the definitions it wrote."""

    async def save(
        self, business_id: int, name: str, definition: Mapping[str, Any], *, now: datetime
    ) -> None: ...

    async def get(self, business_id: int, name: str) -> Mapping[str, Any] | None: ...

    async def names(self, business_id: int) -> frozenset[str]: ...

    async def delete(self, business_id: int, name: str) -> bool: ...


class CheckinRepository(Protocol):
    async def drop_planned(self, schedule_id: int) -> None:
        """Delete the schedule's touches still only planned (the schedule is being deleted)."""
        ...

    async def plan(
        self, business_id: int, touches: Sequence[PlannedTouch], *, now: datetime
    ) -> int:
        """Add the touches whose key is new; how many were added."""
        ...

    async def planning_facts(
        self, business_id: int, schedule_id: int, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[PlanningFacts]:
        """Customers in id order after `after`, with what planning `schedule_id` needs."""
        ...

    async def timezones(self, business_id: int) -> frozenset[str]:
        """The timezones the business's customers live in."""
        ...

    async def plan_cadence(
        self, business_id: int, schedule_id: int, *, cadence: CadencePlan, now: datetime
    ) -> int | None:
        """Plan every customer's next cadence touch at once; None where the store cannot."""
        ...

    async def claim_due(self, *, now: datetime, limit: int) -> Sequence[Checkin]:
        """Planned touches due by `now`, marked claimed; rows another worker holds are skipped."""
        ...

    async def claimed(self, checkin_ids: Sequence[int]) -> Sequence[Checkin]:
        """Those of these touches still claimed, by id."""
        ...

    async def touch_facts(
        self, checkin_ids: Sequence[int], *, since: datetime
    ) -> Sequence[TouchFacts]:
        """The claimed ones of these touches, each with what making it needs; recent touches
        count from `since`."""
        ...

    async def start_many(self, checkin_ids: Sequence[int], *, now: datetime) -> Sequence[int]:
        """Claimed → sent, in one statement, for those of these rows still claimed; the ids
        taken, in id order (a row another worker made meanwhile is left out)."""
        ...

    async def record_starts(
        self, starts: Sequence[TouchStart], *, conversations: Mapping[int, uuid.UUID]
    ) -> None:
        """Each started touch's channel, conversation (by check-in id), run and wake time, in
        one statement."""
        ...

    async def release_stale(self, *, stale_before: datetime) -> int: ...

    async def get(self, checkin_id: int) -> Checkin: ...

    async def active_for(self, customer_id: uuid.UUID) -> Checkin | None:
        """The sent check-in whose flow run still waits for an answer, if any."""
        ...

    async def history(self, customer_id: uuid.UUID, *, since: datetime) -> ContactHistory: ...

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
        """Claimed → sent with its run; False when it was no longer claimed."""
        ...

    async def move(self, checkin_id: int, *, send_at: datetime, reason: str, now: datetime) -> None:
        """Back to planned for a later time, with the reason."""
        ...

    async def finish(
        self,
        checkin_id: int,
        status: CheckinStatus,
        *,
        reason: str | None,
        now: datetime,
        run: Mapping[str, Any] | None = None,
    ) -> None: ...

    async def update_run(
        self, checkin_id: int, *, run: Mapping[str, Any], wake_at: datetime | None, now: datetime
    ) -> None: ...

    async def waking(self, *, now: datetime, limit: int) -> Sequence[Checkin]:
        """Sent check-ins whose run needs a reminder or an end by `now`."""
        ...

    async def list(
        self,
        business_id: int,
        *,
        status: CheckinStatus | None,
        limit: int,
        offset: int,
        customer_id: uuid.UUID | None = None,
    ) -> Sequence[Checkin]: ...

    async def unfinished(self, business_id: int, *, flow: str) -> int:
        """Touches in `flow` still planned, claimed or sent (a customer may be answering)."""
        ...

    async def reassign_customer(
        self, from_id: uuid.UUID, to_id: uuid.UUID, *, now: datetime
    ) -> int:
        """Give every check-in of one customer to another (a merge); how many moved. Touches
        still planned for the other are skipped (reason `merged`): planning gives the
        survivor what their schedules still owe."""
        ...

    async def reassign_conversations(
        self, conversation_ids: Sequence[uuid.UUID], to_id: uuid.UUID
    ) -> int:
        """Give the check-ins of these conversations to another customer (a chat moved by a deep
        link); how many moved."""
        ...


class AnswerRepository(Protocol):
    async def add(self, business_id: int, answer: Answer) -> None: ...

    async def for_customer(self, customer_id: uuid.UUID, *, limit: int) -> Sequence[Answer]: ...

    async def page(
        self, business_id: int, *, after_id: int, limit: int
    ) -> Sequence[tuple[int, Answer]]:
        """The business's answers with ids above `after_id`, by id, with their ids."""
        ...

    async def reassign_customer(self, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
        """Give every survey answer of one customer to another (a merge); how many moved."""
        ...

    async def reassign_conversations(
        self, conversation_ids: Sequence[uuid.UUID], to_id: uuid.UUID
    ) -> int:
        """Give the answers to the check-ins of these conversations to another customer (a chat moved by a deep
        link); how many moved."""
        ...


class InsightRepository(Protocol):
    async def scores(
        self, business_id: int, *, kind: str, since: datetime, until: datetime | None = None
    ) -> Sequence[ScoredAnswer]:
        """Every `kind` score since then (and before `until`), in time order, with its schedule
        and the customer's language, channel and tags."""
        ...

    async def outcomes(
        self, business_id: int, *, since: datetime, until: datetime | None = None
    ) -> Sequence[tuple[int | None, str, int]]:
        """(schedule id, status, count) of the touches due since then (and before `until`)."""
        ...

    async def signals(self, business_id: int, *, since: datetime) -> Sequence[CustomerSignals]:
        """Every customer with their scores, complaints and handoffs since then."""
        ...

    async def remarks(self, business_id: int, *, since: datetime) -> Sequence[Remark]:
        """What customers wrote in words since then, newest first: free-text answers,
        feedback messages and the messages found frustrated."""
        ...

    async def first_responses(
        self, business_id: int, *, weeks: Sequence[datetime]
    ) -> Sequence[AgentTally]:
        """Handoffs first answered by a person in each week (`weeks` are the bounds, n+1 for
        n weeks), by the agent holding them, with the seconds from the request to the answer."""
        ...

    async def resolutions(
        self, business_id: int, *, weeks: Sequence[datetime]
    ) -> Sequence[AgentTally]:
        """Handoffs resolved in each week, by the agent holding them, with the seconds from the
        request to the resolution."""
        ...

    async def conversations_handled(
        self, business_id: int, *, weeks: Sequence[datetime]
    ) -> Sequence[AgentTally]:
        """Conversations each agent replied to or resolved in each week, each counted once
        per agent and week (`total` is 0)."""
        ...

    async def follow_ups(
        self, business_id: int, *, weeks: Sequence[datetime]
    ) -> Sequence[AgentTally]:
        """Answers to "did we solve it?" after a handoff given in each week, by the handoff's
        agent, with how many said yes."""
        ...
