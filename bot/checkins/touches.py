"""Making touches: a claimed check-in re-checked against the contact rules under its
customer's lock, its flow started and its first messages written to the outbox with the
row moved from claimed to sent, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.checkins.catalog import KINDS, SERVICE_FLOWS, TICK, contact_rules, flow_fields, flow_named
from bot.checkins.runs import record_turn
from bot.domain import (
    Business,
    ChannelName,
    Checkin,
    CheckinStatus,
    Choice,
    ContactHistory,
    Customer,
    DeliveryStatus,
    Direction,
    EventKind,
    Identity,
    NewConversation,
    NewEvent,
    NewMessage,
    NewOutboxItem,
    OutboxKind,
    TouchStart,
)
from bot.outbound.replies import add_replies, queue_sends
from bot.ports import UnitOfWork
from bot.services import Services
from flows.contact import (
    ContactRules,
    CustomerFacts,
    Skip,
    Verdict,
    may_reach_out,
    next_allowed,
)
from flows.engine import Flow, Turn, start
from flows.outcome import Said

# Batches of touches one process makes at once (each holds its customers' locks).
BATCHES_AT_ONCE = 4
LOCK_TIMEOUT = timedelta(seconds=20)
TRY_AGAIN_AFTER = timedelta(days=1)


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
        turn = start(
            flow, language=customer.language, now=now, fields=flow_fields(business, customer)
        )
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
                "schedule_id": checkin.schedule_id,
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
            statuses[checkin.id] = await record_turn(
                uow, business, customer, checkin, turn, now=now
            )
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
    written: dict[int, list[int]] = {s.checkin_id: [] for s in going}
    for (s, *_), message_id in zip(replies, message_ids, strict=True):
        written[s.checkin_id].append(message_id)
    await uow.events.add_many(
        business_id,
        [
            NewEvent(
                customer_id=s.customer_id,
                kind=EventKind.CHECKIN_SENT,
                data={**s.event, "message_ids": written[s.checkin_id]},
            )
            for s in going
        ],
        occurred_at=now,
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
    turn = start(flow, language=customer.language, now=now, fields=flow_fields(business, customer))
    if not await uow.checkins.start(
        checkin.id,
        channel=identity.channel,
        conversation_id=conversation.id,
        run=turn.run.as_dict(),
        wake_at=now + rules.remind_after,
        now=now,
    ):
        return None
    messages, outbox_ids = await add_replies(
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
        kind=EventKind.CHECKIN_SENT,
        occurred_at=now,
        data={
            "checkin_id": checkin.id,
            "schedule_id": checkin.schedule_id,
            "flow": checkin.flow,
            "channel": identity.channel.value,
            "message_ids": [m.id for m in messages],
        },
    )
    return await record_turn(uow, business, customer, checkin, turn, now=now)
