"""Scheduled check-ins: plan each customer's next touch, dispatch due ones, run their flows.

SQL is the truth: a check-in row per planned touch, unique per schedule, customer and
occurrence. The scheduler's tick plans schedules (a cadence in one statement where the store
can), claims due rows in batches (skipping rows another scheduler holds) and queues one task
per 50 rows; the task re-checks the contact rules under the customers' locks, starts the
flows and moves the rows from claimed to sent in the same transaction as their outbox rows,
so a crash anywhere leaves one touch per occurrence.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import (
    Answer,
    Business,
    CadencePlan,
    ChannelName,
    Checkin,
    CheckinStatus,
    Choice,
    ContactHistory,
    Customer,
    DeliveryStatus,
    Direction,
    Identity,
    Inbound,
    InvalidInput,
    NewConversation,
    NewEvent,
    NewMessage,
    NewOutboxItem,
    OutboxKind,
    PlannedTouch,
    PlanningFacts,
    ScheduleRecord,
    TouchStart,
)
from bot.outbound.replies import add_replies, queue_sends
from bot.ports import UnitOfWork
from bot.services import Services
from flows.checkin import CHECKIN
from flows.contact import (
    ContactRules,
    CustomerFacts,
    Skip,
    Verdict,
    allowed_days,
    may_reach_out,
    next_allowed,
)
from flows.contact import parse_rules as _parse_rules
from flows.csat import CSAT
from flows.custom import parse_flow
from flows.engine import Ask, Flow, Run, Status, Turn, advance, expire, remind, start
from flows.follow_up import FOLLOW_UP, OFFER
from flows.handoff import LowScore, is_low_score, parse_handoff_rules
from flows.nps import NPS
from flows.outcome import FlowFinished, Outcome, RequestHandoff, Said, SurveyAnswered
from flows.schedules import (
    AfterEvent,
    CustomerTimes,
    Every,
    Schedule,
    ScheduleError,
    dates_in,
    parse_schedule,
    plan_touch,
    touch_at,
)

log = logging.getLogger(__name__)

START_TASK = "kesher.start_checkin"
START_BATCH_TASK = "kesher.start_checkins"
START_BATCH = 50
# Batches of touches one process makes at once (each holds its customers' locks).
BATCHES_AT_ONCE = 4
PLAN_EVERY = timedelta(hours=1)
PLAN_BATCH = 2000
# A cadence longer than this is planned batch by batch (its calendar would be long).
SET_PLANNED_UP_TO = timedelta(days=400)
CLAIM_BATCH = 500
MAX_PER_TICK = 60_000
TICK = timedelta(minutes=1)
WAKE_BATCH = 500
STALE_AFTER = timedelta(minutes=5)
TRY_AGAIN_AFTER = timedelta(days=1)
LATE_EVENT = timedelta(days=1)
LOCK_TIMEOUT = timedelta(seconds=20)
BUILT_IN: Mapping[str, Flow] = {flow.name: flow for flow in (CHECKIN, NPS, CSAT, FOLLOW_UP, OFFER)}
KINDS = {
    CHECKIN.name: OutboxKind.CHECKIN,
    NPS.name: OutboxKind.NPS,
    CSAT.name: OutboxKind.CSAT,
    FOLLOW_UP.name: OutboxKind.FOLLOW_UP,
    OFFER.name: OutboxKind.FOLLOW_UP,
}
# Service touches ("did we solve it?" after a handoff, the offer of a person after a low
# score) finish a conversation the customer started: quiet hours, consent and open handoffs
# apply, the frequency cap and rests do not.
SERVICE_FLOWS = frozenset({FOLLOW_UP.name, OFFER.name})
CUSTOM = "custom:"


def contact_rules(business: Business) -> ContactRules:
    """The business's stored rules; they were checked when saved."""
    return _parse_rules(business.contact_rules)


async def flow_named(uow: UnitOfWork, business_id: int, name: str) -> Flow:
    if name in BUILT_IN:
        return BUILT_IN[name]
    definition = await uow.flows.get(business_id, name.removeprefix(CUSTOM))
    if not name.startswith(CUSTOM) or definition is None:
        raise InvalidInput(f"flow: no flow named {name!r}")
    return parse_flow(definition)


def _fields(business: Business, customer: Customer) -> dict[str, str]:
    return {"business": business.name, "name": customer.name or ""}


def _in_segment(schedule: Schedule, facts: PlanningFacts) -> bool:
    tags = facts.attributes.get("tags")
    return schedule.segment.matches(
        tags=frozenset(map(str, tags)) if isinstance(tags, list) else frozenset(),
        language=facts.language,
        channels=facts.channels,
        attributes=facts.attributes,
    )


def planned_touch(
    schedule: Schedule,
    record: ScheduleRecord,
    facts: PlanningFacts,
    *,
    now: datetime,
    rules: ContactRules,
) -> PlannedTouch | None:
    """The customer's next touch by the schedule under the pure rules; None if none."""
    if facts.opted_out or facts.pending or not facts.channels or not _in_segment(schedule, facts):
        return None
    times = CustomerTimes(
        last_touch=facts.last_touch, dates=dates_in(facts.attributes), timezone=facts.timezone
    )
    touch = plan_touch(
        schedule,
        times,
        start_of=record.starts_at,
        now=now,
        occurrences=facts.occurrences,
        rules=rules,
    )
    if touch is None:
        return None
    return PlannedTouch(
        customer_id=facts.customer_id,
        key=f"{record.id}:{facts.customer_id}:{touch.occurrence}",
        flow=record.flow,
        due_at=touch.due,
        send_at=touch.send_at,
        schedule_id=record.id,
        priority=record.priority,
        reason=Skip.QUIET_HOURS.value if touch.moved else None,
    )


async def _schedule_of(
    record: ScheduleRecord, services: Services
) -> tuple[Business, Schedule | None]:
    async with services.uow() as uow:
        business = await uow.businesses.get(record.business_id)
        custom = await uow.flows.names(business.id)
    try:
        return business, parse_schedule(record.definition, custom_flows=custom)
    except ScheduleError as error:
        log.warning("schedule %s of %s is no longer valid: %s", record.name, business.slug, error)
        return business, None


async def plan_schedule(record: ScheduleRecord, services: Services, *, now: datetime) -> int:
    """Plan the next touch of every customer the schedule is for; how many were added.

    Touches after an event are planned when the event is posted, so their pass plans nothing.
    """
    business, schedule = await _schedule_of(record, services)
    rules = contact_rules(business)
    if schedule is not None and isinstance(schedule.when, Every):
        added = await _plan_cadence(record, schedule, schedule.when, services, now=now, rules=rules)
        if added is not None:
            return added
    plans = schedule is not None and not isinstance(schedule.when, AfterEvent)
    added = 0
    after = None
    while True:
        async with services.uow() as uow:
            facts = (
                await uow.checkins.planning_facts(
                    business.id, record.id, after=after, limit=PLAN_BATCH
                )
                if plans
                else []
            )
            touches = [
                touch
                for f in facts
                if schedule is not None
                and (touch := planned_touch(schedule, record, f, now=now, rules=rules)) is not None
            ]
            added += await uow.checkins.plan(business.id, touches, now=now)
            done = len(facts) < PLAN_BATCH
            if done:
                await uow.schedules.mark_planned(record.id, at=now)
            await uow.commit()
        if done:
            return added
        after = facts[-1].customer_id


async def _plan_cadence(
    record: ScheduleRecord,
    schedule: Schedule,
    when: Every,
    services: Services,
    *,
    now: datetime,
    rules: ContactRules,
) -> int | None:
    """A cadence planned in one statement where the store can; None to plan it batch by batch.

    Segments by tags or attributes compare Python values and stay with the batch planner.
    """
    segment = schedule.segment
    if segment.tags or segment.attributes or when.period > SET_PLANNED_UP_TO:
        return None
    horizon = max(now, record.starts_at) + when.period + timedelta(days=1)
    async with services.uow() as uow:
        zones = await uow.checkins.timezones(record.business_id)
        calendar = tuple(
            (day.timezone, day.day, day.opens, day.closes, day.next_opens)
            for zone in sorted(zones)
            for day in allowed_days(
                rules,
                timezone=zone,
                first=(now - timedelta(days=1)).astimezone(ZoneInfo(zone)).date(),
                last=horizon.astimezone(ZoneInfo(zone)).date(),
            )
        )
        cadence = CadencePlan(
            flow=record.flow,
            priority=record.priority,
            period=when.period,
            start_of=record.starts_at,
            horizon=horizon,
            calendar=calendar,
            moved_reason=Skip.QUIET_HOURS.value,
            language=segment.language,
            channel=segment.channel,
        )
        added = await uow.checkins.plan_cadence(
            record.business_id, record.id, cadence=cadence, now=now
        )
        if added is None:
            await uow.rollback()
            return None
        await uow.schedules.mark_planned(record.id, at=now)
        await uow.commit()
    return added


async def plan(services: Services, *, now: datetime) -> int:
    """Plan every active schedule not planned in the last hour (new and changed ones at once)."""
    async with services.uow() as uow:
        records = await uow.schedules.to_plan(planned_before=now - PLAN_EVERY)
    added = 0
    for record in records:
        try:
            added += await plan_schedule(record, services, now=now)
        except Exception:
            # One schedule that cannot be planned must not hold back every other business's.
            log.exception(
                "could not plan schedule %s of business %s", record.id, record.business_id
            )
    return added


async def dispatch(services: Services, *, now: datetime) -> int:
    """Claim the touches due now, batch after batch, and queue a task for each; how many.

    When two touches of one customer are due in the same batch, the higher priority goes
    and the other waits for the next tick, where the frequency cap decides about it.
    """
    async with services.uow() as uow:
        await uow.checkins.release_stale(stale_before=now - STALE_AFTER)
        await uow.commit()
    queued = 0
    while queued < MAX_PER_TICK:
        async with services.uow() as uow:
            claimed = await uow.checkins.claim_due(now=now, limit=CLAIM_BATCH)
            going: dict[object, Checkin] = {}
            for checkin in sorted(claimed, key=lambda c: (-c.priority, c.send_at, c.id)):
                if checkin.customer_id in going:
                    await uow.checkins.move(
                        checkin.id,
                        send_at=checkin.send_at + TICK,
                        reason=Skip.FREQUENCY_CAP.value,
                        now=now,
                    )
                else:
                    going[checkin.customer_id] = checkin
            await uow.commit()
        ids = [c.id for c in going.values()]
        for first in range(0, len(ids), START_BATCH):
            await _enqueue_starts(ids[first : first + START_BATCH], services)
        queued += len(going)
        if len(claimed) < CLAIM_BATCH:
            break
    return queued


async def _enqueue_starts(checkin_ids: list[int], services: Services) -> None:
    """Queue one task for a batch of claimed touches; a lost one is given back by the sweep."""
    try:
        await services.queue.enqueue(START_BATCH_TASK, checkin_ids=checkin_ids)
    except Exception:
        log.exception("could not queue the start of check-ins %s", checkin_ids)


def _facts(
    customer: Customer, history: ContactHistory, *, reachable: bool, service: bool = False
) -> CustomerFacts:
    return CustomerFacts(
        recent_touches=() if service else history.recent_touches,
        run_active=history.run_active,
        last_answered=None if service else history.last_answered,
        handoff_open=history.handoff_open,
        last_complaint=None if service else history.last_complaint,
        opted_out=customer.opted_out,
        reachable=reachable,
    )


async def channel_for(uow: UnitOfWork, customer: Customer) -> Identity | None:
    """The customer's preferred channel if reachable, else the one they wrote on last."""
    reachable = [i for i in await uow.identities.for_customer(customer.id) if i.reachable]
    if not reachable:
        return None
    latest = await uow.messages.for_customer(customer.id, limit=1)
    return _channel_of(customer, reachable, latest[-1].channel if latest else None)


async def start_checkins(
    checkin_ids: Sequence[int], services: Services
) -> dict[int, CheckinStatus | None]:
    """Make a batch of claimed touches in one transaction: the same rules as `start_checkin`.

    The facts are read a query per fact for the whole batch and the touches written in a few
    statements, under the locks of all the batch's customers (taken together). A row no longer
    claimed maps to None.
    """
    async with services.uow() as uow:
        claimed = await uow.checkins.claimed(checkin_ids)
    statuses: dict[int, CheckinStatus | None] = dict.fromkeys(checkin_ids)
    if not claimed:
        return statuses
    customers = {str(c.customer_id) for c in claimed}
    outbox_ids: list[int] = []
    async with (
        services.lock.hold_all(
            [f"customer:{customer}" for customer in customers], timeout=LOCK_TIMEOUT
        ),
        services.uow() as uow,
    ):
        now = services.clock.now()
        for business_id in sorted({c.business_id for c in claimed}):
            statuses |= await _touch_many(
                uow,
                await uow.businesses.get(business_id),
                [c.id for c in claimed if c.business_id == business_id],
                now=now,
                sent=outbox_ids,
            )
        await uow.commit()
    await queue_sends(outbox_ids, services)
    return statuses


async def _touch_many(
    uow: UnitOfWork, business: Business, checkin_ids: list[int], *, now: datetime, sent: list[int]
) -> dict[int, CheckinStatus | None]:
    rules = contact_rules(business)
    statuses: dict[int, CheckinStatus | None] = dict.fromkeys(checkin_ids)
    starts: list[tuple[TouchStart, Customer, Checkin, Turn]] = []
    flows: dict[str, Flow] = {}
    going: set[object] = set()
    for facts in await uow.checkins.touch_facts(checkin_ids, since=now - rules.cap_window):
        checkin, customer = facts.checkin, facts.customer
        if customer is None:
            continue
        if customer.id in going:
            # Two of one customer's touches in a batch: the facts were read before either.
            await uow.checkins.move(
                checkin.id, send_at=now + TICK, reason=Skip.FREQUENCY_CAP.value, now=now
            )
            statuses[checkin.id] = CheckinStatus.PLANNED
            continue
        identity = _channel_of(customer, facts.identities, facts.last_channel)
        verdict = may_reach_out(
            now,
            _facts(
                customer,
                facts.history,
                reachable=identity is not None,
                service=checkin.flow in SERVICE_FLOWS,
            ),
            rules=rules,
        )
        held = await _hold_back(uow, checkin, customer, verdict, rules=rules, now=now)
        if held is not None:
            statuses[checkin.id] = held
            continue
        assert identity is not None
        conversation = facts.conversations.get(identity.id)
        if checkin.flow not in flows:
            flows[checkin.flow] = await flow_named(uow, business.id, checkin.flow)
        flow = flows[checkin.flow]
        turn = start(flow, language=customer.language, now=now, fields=_fields(business, customer))
        touch = TouchStart(
            checkin_id=checkin.id,
            customer_id=customer.id,
            identity_id=identity.id,
            channel=identity.channel,
            conversation_id=conversation.id if conversation else None,
            run=turn.run.as_dict(),
            wake_at=now + rules.remind_after,
            replies=tuple((said.text, _choices(said)) for said in turn.replies),
            kind=KINDS.get(checkin.flow, OutboxKind.CHECKIN),
            key=f"checkin:{checkin.id}",
            event={
                "checkin_id": checkin.id,
                "flow": checkin.flow,
                "channel": identity.channel.value,
            },
        )
        starts.append((touch, customer, checkin, turn))
        going.add(customer.id)
    made = await _record_touches(uow, business.id, [t for t, *_ in starts], now=now)
    for touch, customer, checkin, turn in starts:
        if touch.checkin_id in made:
            sent.extend(made[touch.checkin_id])
            statuses[checkin.id] = await _performed(uow, business, customer, checkin, turn, now=now)
    return statuses


async def _record_touches(
    uow: UnitOfWork, business_id: int, starts: Sequence[TouchStart], *, now: datetime
) -> dict[int, list[int]]:
    """Record these touches as made, one statement per table; their outbox ids by check-in.

    Only rows still claimed are taken (claimed → sent first, in one update), so a touch
    another worker made meanwhile is left out of the answer and of everything written.
    """
    taken = set(await uow.checkins.start_many([s.checkin_id for s in starts], now=now))
    going = [s for s in starts if s.checkin_id in taken]
    if not going:
        return {}
    opening = [s for s in going if s.conversation_id is None]
    opened = await uow.conversations.add_many(
        business_id,
        [NewConversation(customer_id=s.customer_id, identity_id=s.identity_id) for s in opening],
        started_at=now,
    )
    conversations = {s.checkin_id: c.id for s, c in zip(opening, opened, strict=True)}
    for s in going:
        if s.conversation_id is not None:
            conversations[s.checkin_id] = s.conversation_id
    await uow.events.add_many(
        business_id,
        [NewEvent(customer_id=s.customer_id, kind="checkin_sent", data=s.event) for s in going],
        occurred_at=now,
    )
    replies = [
        (s, index, text, choices) for s in going for index, (text, choices) in enumerate(s.replies)
    ]
    message_ids = await uow.messages.add_many(
        business_id,
        [
            NewMessage(
                conversation_id=conversations[s.checkin_id],
                customer_id=s.customer_id,
                channel=s.channel,
                text=text,
                choices=choices,
            )
            for s, _, text, choices in replies
        ],
        direction=Direction.OUT,
        status=DeliveryStatus.QUEUED,
        created_at=now,
    )
    outbox_ids = await uow.outbox.add_many(
        business_id,
        [
            NewOutboxItem(message_id=message_id, kind=s.kind, idempotency_key=f"{s.key}:{index}")
            for (s, index, _, _), message_id in zip(replies, message_ids, strict=True)
        ],
        due_at=now,
    )
    await uow.checkins.record_starts(going, conversations=conversations)
    made: dict[int, list[int]] = {s.checkin_id: [] for s in going}
    for (s, *_), item_id in zip(replies, outbox_ids, strict=True):
        made[s.checkin_id].append(item_id)
    return made


def _choices(said: Said) -> tuple[Choice, ...]:
    return tuple(Choice(id=i, label=label) for i, label in said.choices)


async def _hold_back(
    uow: UnitOfWork,
    checkin: Checkin,
    customer: Customer,
    verdict: Verdict,
    *,
    rules: ContactRules,
    now: datetime,
) -> CheckinStatus | None:
    """Skip or move a touch the rules stop now; None when it may go."""
    if verdict.reason is not None:
        if verdict.reason in (Skip.OPTED_OUT, Skip.UNREACHABLE):
            await uow.checkins.finish(
                checkin.id, CheckinStatus.SKIPPED, reason=verdict.reason, now=now
            )
            return CheckinStatus.SKIPPED
        retry = verdict.retry_at or now + TRY_AGAIN_AFTER
        send_at = next_allowed(retry, rules, timezone=customer.timezone)
        await uow.checkins.move(checkin.id, send_at=send_at, reason=verdict.reason, now=now)
        return CheckinStatus.PLANNED
    allowed = next_allowed(now, rules, timezone=customer.timezone)
    if allowed > now:
        await uow.checkins.move(checkin.id, send_at=allowed, reason=Skip.QUIET_HOURS, now=now)
        return CheckinStatus.PLANNED
    return None


def _channel_of(
    customer: Customer, reachable: Sequence[Identity], last_channel: ChannelName | None
) -> Identity | None:
    """The customer's preferred channel if reachable, else the one they wrote on last."""
    if not reachable:
        return None
    preferred = customer.attributes.get("preferred_channel")
    for channel in (preferred, last_channel.value if last_channel else None):
        for identity in reachable:
            if identity.channel.value == channel:
                return identity
    return reachable[0]


async def start_checkin(checkin_id: int, services: Services) -> CheckinStatus | None:
    """Make one claimed touch: re-check the rules, start its flow, queue the first messages.

    Returns the row's new status, or None when the row was no longer claimed (another worker
    made it, or the sweep gave it back).
    """
    async with services.uow() as uow:
        checkin = await uow.checkins.get(checkin_id)
    if checkin.status is not CheckinStatus.CLAIMED:
        return None
    async with services.lock.hold(f"customer:{checkin.customer_id}", timeout=LOCK_TIMEOUT):
        outbox_ids: list[int] = []
        async with services.uow() as uow:
            checkin = await uow.checkins.get(checkin_id)
            if checkin.status is not CheckinStatus.CLAIMED:
                return None
            status = await _touch(uow, checkin, now=services.clock.now(), sent=outbox_ids)
            if status is None:
                await uow.rollback()
                return None
            await uow.commit()
    await queue_sends(outbox_ids, services)
    return status


async def _touch(
    uow: UnitOfWork, checkin: Checkin, *, now: datetime, sent: list[int]
) -> CheckinStatus | None:
    business = await uow.businesses.get(checkin.business_id)
    customer = await uow.customers.get(business.id, checkin.customer_id)
    if customer is None:
        return None
    rules = contact_rules(business)
    identity = await channel_for(uow, customer)
    history = await uow.checkins.history(customer.id, since=now - rules.cap_window)
    verdict = may_reach_out(
        now,
        _facts(
            customer,
            history,
            reachable=identity is not None,
            service=checkin.flow in SERVICE_FLOWS,
        ),
        rules=rules,
    )
    held = await _hold_back(uow, checkin, customer, verdict, rules=rules, now=now)
    if held is not None:
        return held
    assert identity is not None
    conversation = await uow.conversations.open_for(identity.id)
    if conversation is None:
        conversation = await uow.conversations.add(
            business.id, customer_id=customer.id, identity_id=identity.id, started_at=now
        )
    flow = await flow_named(uow, business.id, checkin.flow)
    turn = start(flow, language=customer.language, now=now, fields=_fields(business, customer))
    if not await uow.checkins.start(
        checkin.id,
        channel=identity.channel,
        conversation_id=conversation.id,
        run=turn.run.as_dict(),
        wake_at=now + rules.remind_after,
        now=now,
    ):
        return None
    _, outbox_ids = await add_replies(
        uow,
        business,
        conversation,
        turn.replies,
        channel=identity.channel,
        kind=KINDS.get(checkin.flow, OutboxKind.CHECKIN),
        key=f"checkin:{checkin.id}",
        now=now,
    )
    sent.extend(outbox_ids)
    await uow.events.add(
        business.id,
        customer.id,
        kind="checkin_sent",
        occurred_at=now,
        data={"checkin_id": checkin.id, "flow": checkin.flow, "channel": identity.channel.value},
    )
    return await _performed(uow, business, customer, checkin, turn, now=now)


async def _performed(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    checkin: Checkin,
    turn: Turn,
    *,
    now: datetime,
) -> CheckinStatus:
    """Record what a turn did (answers, handoff requests) and where the run now stands."""
    for effect in turn.effects:
        if isinstance(effect, SurveyAnswered):
            value = effect.value
            await uow.answers.add(
                business.id,
                Answer(
                    customer_id=customer.id,
                    checkin_id=checkin.id,
                    flow=effect.flow,
                    question=effect.question,
                    value=str(value),
                    score=value if isinstance(value, int) else None,
                    score_kind=effect.score_kind,
                    answered_at=now,
                ),
            )
            await uow.events.add(
                business.id,
                customer.id,
                kind="survey_answered",
                occurred_at=now,
                data={
                    "checkin_id": checkin.id,
                    "flow": effect.flow,
                    "question": effect.question,
                    "value": value,
                    "score_kind": effect.score_kind,
                },
            )
        elif isinstance(effect, FlowFinished) and not effect.completed:
            await uow.events.add(
                business.id,
                customer.id,
                kind="not_understood",
                occurred_at=now,
                data={"checkin_id": checkin.id, "flow": effect.flow},
            )
    run = turn.run
    if run.status is Status.ACTIVE:
        return CheckinStatus.SENT
    status = CheckinStatus.ANSWERED if run.answers else CheckinStatus.EXPIRED
    reason = (
        None
        if run.status is Status.FINISHED and run.answers
        else ("unanswered" if run.status is Status.EXPIRED else "not_understood")
    )
    await uow.checkins.finish(checkin.id, status, reason=reason, now=now, run=run.as_dict())
    if status is CheckinStatus.EXPIRED:
        await uow.events.add(
            business.id,
            customer.id,
            kind="checkin_expired",
            occurred_at=now,
            data={"checkin_id": checkin.id, "flow": checkin.flow, "reason": reason},
        )
    return status


async def answer(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    inbound: Inbound,
    *,
    now: datetime,
) -> Outcome | None:
    """Feed a customer's message to their waiting check-in; None when none waits."""
    checkin = await uow.checkins.active_for(customer.id)
    if checkin is None or checkin.run is None:
        return None
    flow = await flow_named(uow, business.id, checkin.flow)
    rules = contact_rules(business)
    turn = advance(
        flow,
        Run.from_dict(checkin.run),
        inbound.text,
        inbound.choice,
        language=customer.language,
        now=now,
        fields=_fields(business, customer),
    )
    if turn.run.status is Status.ACTIVE:
        await uow.checkins.update_run(
            checkin.id, run=turn.run.as_dict(), wake_at=now + rules.remind_after, now=now
        )
    await _performed(uow, business, customer, checkin, turn, now=now)
    low = _low_score(flow, turn)
    if low is None:
        return Outcome(replies=turn.replies, effects=turn.effects)
    if parse_handoff_rules(business.handoff_rules or None).low_score is LowScore.HAND_OFF:
        request = RequestHandoff(low, trigger="low_score")
        return Outcome(replies=turn.replies, effects=(*turn.effects, request))
    await plan_service_touch(
        uow,
        business,
        customer,
        flow=OFFER.name,
        key=f"offer:{checkin.id}",
        due=now,
        reason="low_score",
        now=now,
    )
    return Outcome(replies=turn.replies, effects=turn.effects)


def _low_score(flow: Flow, turn: Turn) -> str | None:
    """'nps score 3' when a survey just ended with an NPS detractor or a CSAT of 2 or less."""
    if turn.run.status is Status.ACTIVE:
        return None
    for step in flow.steps:
        if not isinstance(step, Ask):
            continue
        value = turn.run.answers.get(step.key)
        if isinstance(value, int) and is_low_score(step.score_kind, value):
            return f"{step.score_kind} score {value}"
    return None


async def plan_service_touch(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    *,
    flow: str,
    key: str,
    due: datetime,
    reason: str,
    now: datetime,
) -> None:
    """Plan a service touch (SERVICE_FLOWS) at `due`, moved to the customer's allowed hours."""
    if customer.opted_out:
        return
    touch = touch_at(key, due, now=now, rules=contact_rules(business), timezone=customer.timezone)
    planned = PlannedTouch(
        customer_id=customer.id,
        key=key,
        flow=flow,
        due_at=touch.due,
        send_at=touch.send_at,
        priority=100,
        reason=reason,
    )
    await uow.checkins.plan(business.id, [planned], now=now)


async def wake(services: Services, *, now: datetime) -> int:
    """Remind once about questions left waiting, then end the runs still unanswered."""
    async with services.uow() as uow:
        waking = await uow.checkins.waking(now=now, limit=WAKE_BATCH)
    woken = 0
    for checkin in waking:
        outbox_ids: list[int] = []
        async with services.uow() as uow:
            if await _wake_one(uow, checkin, now=now, sent=outbox_ids):
                woken += 1
            await uow.commit()
        await queue_sends(outbox_ids, services)
    return woken


async def _wake_one(uow: UnitOfWork, checkin: Checkin, *, now: datetime, sent: list[int]) -> bool:
    current = await uow.checkins.get(checkin.id)
    if current.status is not CheckinStatus.SENT or current.run is None:
        return False
    business = await uow.businesses.get(current.business_id)
    customer = await uow.customers.get(business.id, current.customer_id)
    if customer is None or current.conversation_id is None:
        return False
    rules = contact_rules(business)
    flow = await flow_named(uow, business.id, current.flow)
    run = Run.from_dict(current.run)
    if customer.opted_out:
        await uow.checkins.finish(current.id, CheckinStatus.SKIPPED, reason=Skip.OPTED_OUT, now=now)
        return True
    if run.reminded:
        ended = expire(flow, run, now=now, after=rules.expire_after)
        if ended is None:
            return False
        await _performed(uow, business, customer, current, ended, now=now)
        return True
    allowed = next_allowed(now, rules, timezone=customer.timezone)
    if allowed > now:
        await uow.checkins.update_run(current.id, run=run.as_dict(), wake_at=allowed, now=now)
        return False
    nudge = remind(
        flow,
        run,
        now=now,
        after=rules.remind_after,
        language=customer.language,
        fields=_fields(business, customer),
    )
    if nudge is None:
        return False
    conversation = await uow.conversations.get(current.conversation_id)
    identity = await uow.identities.get(conversation.identity_id)
    _, outbox_ids = await add_replies(
        uow,
        business,
        conversation,
        nudge.replies,
        channel=identity.channel,
        kind=KINDS.get(current.flow, OutboxKind.CHECKIN),
        key=f"reminder:{current.id}",
        now=now,
    )
    sent.extend(outbox_ids)
    await uow.checkins.update_run(
        current.id, run=nudge.run.as_dict(), wake_at=now + rules.expire_after, now=now
    )
    return True


async def plan_after_event(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    *,
    event_id: int,
    kind: str,
    occurred_at: datetime,
    now: datetime,
) -> int:
    """Plan the touches the business's after-event schedules make for this event."""
    channels = frozenset(
        i.channel.value for i in await uow.identities.for_customer(customer.id) if i.reachable
    )
    facts = PlanningFacts(
        customer_id=customer.id,
        language=customer.language,
        timezone=customer.timezone,
        attributes=customer.attributes,
        opted_out=customer.opted_out,
        channels=channels,
        last_touch=None,
        pending=False,
        occurrences=0,
    )
    custom = await uow.flows.names(business.id)
    rules = contact_rules(business)
    touches = []
    for record in await uow.schedules.list(business.id):
        schedule = parse_schedule(record.definition, custom_flows=custom)
        when = schedule.when
        if not record.active or not isinstance(when, AfterEvent) or when.event != kind:
            continue
        if customer.opted_out or not channels or not _in_segment(schedule, facts):
            continue
        due = occurred_at + when.delay
        if due < now - LATE_EVENT:
            continue
        touch = touch_at(f"event:{event_id}", due, now=now, rules=rules, timezone=customer.timezone)
        touches.append(
            PlannedTouch(
                customer_id=customer.id,
                key=f"{record.id}:{customer.id}:{touch.occurrence}",
                flow=record.flow,
                due_at=touch.due,
                send_at=touch.send_at,
                schedule_id=record.id,
                priority=record.priority,
                reason=Skip.QUIET_HOURS.value if touch.moved else None,
            )
        )
    return await uow.checkins.plan(business.id, touches, now=now)


async def tick(services: Services) -> int:
    """The scheduler's minute: plan, dispatch what is due, remind and expire."""
    now = services.clock.now()
    planned = await plan(services, now=now)
    queued = await dispatch(services, now=now)
    woken = await wake(services, now=now)
    if planned or queued or woken:
        log.info("check-ins: %d planned, %d queued, %d reminded or ended", planned, queued, woken)
    return queued


async def preview(
    services: Services,
    business: Business,
    schedule: Schedule,
    *,
    now: datetime,
    days: int = 7,
    limit: int = 100,
) -> tuple[int, list[tuple[Customer, datetime, ChannelName]]]:
    """Who this (unsaved) schedule would contact in the next `days`, when and on which channel.

    The count is of every such customer; the list holds the first `limit`, soonest first.
    Touches after an event are not previewed: they wait for events not yet posted.
    """
    draft = ScheduleRecord(
        id=0,
        business_id=business.id,
        name=schedule.name,
        flow=schedule.flow,
        definition={},
        active=True,
        priority=schedule.priority,
        starts_at=now,
    )
    rules = contact_rules(business)
    horizon = now + timedelta(days=days)
    found: list[PlannedTouch] = []
    after = None
    while not isinstance(schedule.when, AfterEvent):
        async with services.uow() as uow:
            facts = await uow.checkins.planning_facts(
                business.id, draft.id, after=after, limit=PLAN_BATCH
            )
        found += [
            touch
            for f in facts
            if (touch := planned_touch(schedule, draft, f, now=now, rules=rules)) is not None
            and touch.send_at <= horizon
        ]
        if len(facts) < PLAN_BATCH:
            break
        after = facts[-1].customer_id
    found.sort(key=lambda t: t.send_at)
    shown: list[tuple[Customer, datetime, ChannelName]] = []
    async with services.uow() as uow:
        for touch in found[:limit]:
            customer = await uow.customers.get(business.id, touch.customer_id)
            identity = await channel_for(uow, customer) if customer else None
            if customer is not None and identity is not None:
                shown.append((customer, touch.send_at, identity.channel))
    return len(found), shown
