"""Agent performance on a constructed history, both backends: per agent and per week (from
Sunday, in the business's timezone) the first-response and resolution averages, the handoffs
resolved and the follow-up answers, to the second."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from app.bootstrap import Runtime
from bot.checkins.planning import plan_service_touch
from bot.domain import Answer, Business, ChannelName, Inbound
from bot.handoffs.agents import create_agent
from bot.inbound.pipeline import handle_inbound
from bot.insights import digest, performance
from bot.insights.performance import AgentWeek
from flows import follow_up

FIRST_WEEK = date(2026, 11, 22)  # a Sunday


def _at(day: int, hour: int, minute: int = 0, *, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def _agent(runtime: Runtime, shop: Business, name: str) -> int:
    async with runtime.services.uow() as uow:
        agent = await create_agent(
            uow,
            shop,
            email=f"{name.lower()}-{uuid.uuid4().hex[:6]}@shop.test",
            name=name,
            password="correct horse battery",
            passwords=runtime.services.passwords,
            now=runtime.services.clock.now(),
        )
        await uow.commit()
    return agent.id


async def _handoff(
    runtime: Runtime,
    shop: Business,
    *,
    agent: int | None,
    asked: datetime,
    answered: datetime | None = None,
    resolved: datetime | None = None,
    solved: tuple[str, datetime] | None = None,
) -> None:
    """A customer's handoff with its times, and their answer to "did we solve it?"."""
    services = runtime.services
    await handle_inbound(
        shop,
        Inbound(
            channel=ChannelName.SANDBOX,
            delivery_id=uuid.uuid4().hex,
            address=f"c-{uuid.uuid4().hex[:8]}",
            received_at=asked,
            text="hello",
        ),
        services,
    )
    async with services.uow() as uow:
        (customer,) = [
            c
            for c in await uow.customers.list(shop.id, limit=1000, offset=0)
            if not await uow.handoffs.list(shop.id, open_only=False, customer_id=c.id)
        ]
        (identity,) = await uow.identities.for_customer(customer.id)
        conversation = await uow.conversations.open_for(identity.id)
        assert conversation is not None
        handoff = await uow.handoffs.add(
            shop.id,
            customer_id=customer.id,
            conversation_id=conversation.id,
            state="active",
            trigger="api",
            reason="test",
            details={},
            requested_at=asked,
            sla_due_at=asked + timedelta(minutes=10),
        )
        await uow.handoffs.save(
            replace(
                handoff,
                agent_id=agent,
                first_reply_at=answered,
                resolved_at=resolved,
                state="resolved" if resolved else "active",
            ),
            at=asked,
        )
        if solved is not None and resolved is not None:
            key = f"follow_up:{handoff.id}"
            await plan_service_touch(
                uow, shop, customer, flow=follow_up.NAME, key=key, due=resolved,
                reason="after_handoff", now=resolved,
            )  # fmt: skip
            planned = await uow.checkins.list(shop.id, status=None, limit=1000, offset=0)
            (checkin,) = [c for c in planned if c.key == key]
            value, at = solved
            await uow.answers.add(
                shop.id,
                Answer(customer.id, follow_up.NAME, "solved", value, at, checkin_id=checkin.id),
            )
        await uow.commit()


async def test_each_agents_week_adds_up_to_the_second(
    runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    noa, dor = await _agent(runtime, shop, "Noa"), await _agent(runtime, shop, "Dor")
    # The week of 22 November (Israel is UTC+2): Noa answers two and resolves both, Dor answers one.
    await _handoff(runtime, shop, agent=noa, asked=_at(23, 8), answered=_at(23, 8, 4),
                   resolved=_at(23, 10), solved=("yes", _at(26, 9)))  # fmt: skip
    await _handoff(runtime, shop, agent=noa, asked=_at(24, 8), answered=_at(24, 8, 10),
                   resolved=_at(24, 9), solved=("no", _at(27, 9)))  # fmt: skip
    await _handoff(runtime, shop, agent=dor, asked=_at(25, 8), answered=_at(25, 8, 2))
    # Asked on Saturday night, answered at 00:30 on Sunday in Israel: the next week's.
    await _handoff(runtime, shop, agent=dor, asked=_at(28, 21), answered=_at(28, 22, 30),
                   resolved=_at(30, 8), solved=("yes", _at(3, 9, month=12)))  # fmt: skip
    await _handoff(runtime, shop, agent=None, asked=_at(1, 8, month=12),
                   resolved=_at(1, 8, 30, month=12))  # fmt: skip
    # After the two weeks: counted nowhere.
    await _handoff(runtime, shop, agent=noa, asked=_at(6, 8, month=12),
                   answered=_at(6, 8, 1, month=12), resolved=_at(6, 9, month=12))  # fmt: skip

    found = await performance.weekly(runtime.services, shop, first=FIRST_WEEK, weeks=2)

    second = FIRST_WEEK + timedelta(days=7)
    assert found == [
        AgentWeek(second, dor, "Dor", handled=1, answered=1,
                  first_response=timedelta(minutes=90), resolution=timedelta(hours=35),
                  follow_ups=1, solved=1),
        AgentWeek(second, None, None, handled=1, resolution=timedelta(minutes=30)),
        AgentWeek(FIRST_WEEK, dor, "Dor", answered=1, first_response=timedelta(minutes=2)),
        AgentWeek(FIRST_WEEK, noa, "Noa", handled=2, answered=2,
                  first_response=timedelta(minutes=7), resolution=timedelta(minutes=90),
                  follow_ups=2, solved=1),
    ]  # fmt: skip
    assert found[-1].solved_share == 0.5
    first = await digest.weekly(runtime.services, shop, week=FIRST_WEEK, language="en")
    said = [text for kind, text in digest.lines(first, "en") if kind == "item"]
    assert (
        "Dor: 0 conversations handled · 0 handoffs resolved · first answer 2 min · to resolve — · solved, say customers —"
        in said
    )
    assert (
        "Noa: 0 conversations handled · 2 handoffs resolved · first answer 7 min · to resolve 1 h 30 min · solved, say customers 1/2"
        in said
    )
    then = await digest.weekly(runtime.services, shop, week=second, language="he")
    said = [text for kind, text in digest.lines(then, "he") if kind == "item"]
    assert (
        "Dor: 0 שיחות טופלו · פנייה אחת נסגרה · מענה ראשון 1 שע׳ 30 דק׳ · עד סגירה 1 ימ׳ 11 שע׳ · נפתר לדברי הלקוחות 1/1"
        in said
    )
    assert (
        "ללא נציג/ה: 0 שיחות טופלו · פנייה אחת נסגרה · מענה ראשון — · עד סגירה 30 דק׳ · נפתר לדברי הלקוחות —"
        in said
    )
    assert performance.duration(timedelta(hours=35), "en") == "1 d 11 h"
    assert performance.duration(timedelta(minutes=7), "he") == "7 דק׳"
