"""Planning check-ins: each customer's next touch by each schedule, as rows of the check-ins
table, in one statement per cadence where the store can, else batch by batch.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.checkins.catalog import contact_rules
from bot.checkins.touches import channel_for
from bot.domain import (
    Business,
    CadencePlan,
    ChannelName,
    Customer,
    PlannedTouch,
    PlanningFacts,
    ScheduleRecord,
)
from bot.ports import UnitOfWork
from bot.services import Services
from flows.contact import (
    ContactRules,
    Skip,
    allowed_days,
)
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

PLAN_EVERY = timedelta(hours=1)
PLAN_BATCH = 2000
# A cadence longer than this is planned batch by batch (its calendar would be long).
SET_PLANNED_UP_TO = timedelta(days=400)
LATE_EVENT = timedelta(days=1)


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
