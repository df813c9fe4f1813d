"""Agents hear of what needs them where they are: a new handoff, a handoff about to miss its
SLA, one past it (admins), and a new conversation; by e-mail, WhatsApp or Telegram as each
agent chose (`flows.staff_alerts`), with a link into the inbox and the summary written first.

The inbox shows all of it live by itself (with browser notifications while it is open); this
is for agents away from it. A new handoff's task runs right after the handoff is committed;
the scheduler's tick retries a handoff whose agents were not all told within a minute, and
warns of SLAs about to pass. Each agent is alerted once per event and medium (a shared key),
even when both run at once; a medium that failed worth retrying is tried again, the others
are not sent twice.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import (
    Agent,
    AgentRole,
    Business,
    ChannelName,
    Direction,
    Handoff,
)
from bot.handoffs.alert_media import Accounts, AlertMessage, send, tell
from bot.ports import UnitOfWork
from bot.services import Services
from flows.handoff import AGENT_ALERT, AGENT_LATE, SOMEONE
from flows.reasons import reason_shown
from flows.staff_alerts import (
    NEW_CONVERSATION,
    SLA_WARNING,
    SUBJECTS,
    AlertEvent,
    AlertPreferences,
    PreferencesError,
    parse_preferences,
)
from flows.text import Text

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(minutes=1)
# The tick runs every minute: a handoff is warned of 2 to 3 minutes before its SLA ends.
WARN_BEFORE = timedelta(minutes=3)
# For this long after a handoff passed its SLA, the tick tries its admins' failed alerts again.
LATE_RETRY_FOR = timedelta(minutes=10)
SUMMARY_LINES = 20
BATCH = 200


async def announce(business_id: int, handoff_id: int, services: Services) -> int:
    """Write the summary and alert the agents of one handoff; how many alerts went out.

    The agent it was given to is alerted, or, while it waits in the queue, every agent of
    the business. A failure worth retrying leaves it for the tick.
    """
    now = services.clock.now()
    async with services.uow() as uow:
        handoff = await uow.handoffs.get(business_id, handoff_id)
        if handoff is None or not handoff.open or handoff.announced_at is not None:
            return 0
        audience = await _audience(uow, handoff, _given_or_queued(handoff))
        lines = (
            await _conversation(uow, handoff)
            if services.summarizer is not None and "summary" not in handoff.details
            else ()
        )
    summary = None
    if services.summarizer is not None and lines:
        summary = await services.summarizer.summarize(lines, language=audience.business.language)
    alerted, retry = await _alert(
        services,
        audience,
        AlertEvent.NEW_HANDOFF,
        AGENT_ALERT,
        _about(services, handoff, now),
        now=now,
    )
    async with services.uow() as uow:
        await uow.handoffs.note_announcement(
            handoff.id, summary=summary, announced_at=None if retry else now
        )
        await uow.commit()
    return alerted


async def overdue(business_id: int, handoff_id: int, services: Services, *, now: datetime) -> int:
    """The business's admins hear of a handoff left unanswered past its SLA (once; the inbox
    shows them a banner too)."""
    async with services.uow() as uow:
        handoff = await uow.handoffs.get(business_id, handoff_id)
        if handoff is None:
            return 0
        audience = await _audience(uow, handoff, lambda a: a.role is AgentRole.ADMIN)
    alerted, _ = await _alert(
        services,
        audience,
        AlertEvent.SLA_MISSED,
        AGENT_LATE,
        _about(services, handoff, now),
        now=now,
    )
    return alerted


async def overdue_again(services: Services, *, now: datetime) -> int:
    """The tick's retry of SLA-missed alerts: for `LATE_RETRY_FOR` after a handoff passed its
    SLA, its admins' alerts are looked at again each minute (from the minute after); only a
    medium that failed worth retrying is sent again."""
    async with services.uow() as uow:
        late = await uow.handoffs.noticed(
            since=now - LATE_RETRY_FOR, until=now - RETRY_AFTER, limit=BATCH
        )
    return sum([await overdue(h.business_id, h.id, services, now=now) for h in late])


async def warn_due_soon(services: Services, *, now: datetime) -> int:
    """The tick's warning: handoffs whose SLA ends within `WARN_BEFORE` and that no person has
    answered reach their agent (or, in the queue, every agent) before the SLA passes. Each
    minute's tick looks again, so a medium that failed worth retrying is tried again."""
    async with services.uow() as uow:
        soon = await uow.handoffs.due_soon(now=now, within=WARN_BEFORE, limit=BATCH)
    alerted = 0
    for handoff in soon:
        async with services.uow() as uow:
            audience = await _audience(uow, handoff, _given_or_queued(handoff))
        about = _about(services, handoff, now)
        about.values["minutes"] = str(math.ceil((handoff.sla_due_at - now).total_seconds() / 60))
        told, _ = await _alert(
            services, audience, AlertEvent.SLA_WARNING, SLA_WARNING, about, now=now
        )
        alerted += told
    return alerted


async def conversation_opened(
    business_id: int, conversation_id: uuid.UUID, services: Services
) -> int:
    """Every agent of the business who asked for it hears of a new conversation in the inbox's
    queue; how many alerts went out. The conversations queue queues `AnnounceConversation`
    after its commit, which runs this."""
    now = services.clock.now()
    async with services.uow() as uow:
        conversation = await uow.conversations.get(conversation_id)
        business = await uow.businesses.get(business_id)
        customer = await uow.customers.get(business_id, conversation.customer_id)
        audience = await _gather(
            uow,
            business,
            customer=customer.name if customer else None,
            channel=(await uow.identities.get(conversation.identity_id)).channel,
            wanted=lambda _: True,
        )
    about = _About(
        subject=f"conversation:{conversation_id}",
        values={"reason": "", "minutes": "0", "link": f"{services.public_base}/inbox"},
    )
    alerted, _ = await _alert(
        services, audience, AlertEvent.NEW_CONVERSATION, NEW_CONVERSATION, about, now=now
    )
    return alerted


def _given_or_queued(handoff: Handoff) -> Callable[[Agent], bool]:
    return lambda a: handoff.agent_id in (None, a.id)


@dataclass(frozen=True, slots=True)
class _About:
    """What an alert is about: its subject (for the once-only key) and what fills its text."""

    subject: str
    values: dict[str, str]


def _about(services: Services, handoff: Handoff, now: datetime) -> _About:
    return _About(
        subject=f"handoff:{handoff.id}",
        values={
            "reason": str((handoff.details.get("reasons") or [handoff.reason])[0]),
            "minutes": str(int((now - handoff.requested_at).total_seconds() // 60)),
            "link": f"{services.public_base}/inbox/handoffs/{handoff.id}",
        },
    )


@dataclass(frozen=True, slots=True)
class _Audience:
    """Who hears of one event, and what their alert names: the business, the customer, the
    channel they wrote on, and the business's senders alerts go out through."""

    business: Business
    customer: str | None
    channel: ChannelName
    accounts: Accounts
    agents: Sequence[tuple[Agent, AlertPreferences]]


async def _audience(
    uow: UnitOfWork, handoff: Handoff, wanted: Callable[[Agent], bool]
) -> _Audience:
    business = await uow.businesses.get(handoff.business_id)
    customer = await uow.customers.get(business.id, handoff.customer_id)
    conversation = await uow.conversations.get(handoff.conversation_id)
    return await _gather(
        uow,
        business,
        customer=customer.name if customer else None,
        channel=(await uow.identities.get(conversation.identity_id)).channel,
        wanted=wanted,
    )


async def _gather(
    uow: UnitOfWork,
    business: Business,
    *,
    customer: str | None,
    channel: ChannelName,
    wanted: Callable[[Agent], bool],
) -> _Audience:
    return _Audience(
        business=business,
        customer=customer,
        channel=channel,
        accounts=Accounts(
            telegram=await uow.accounts.get(business.id, ChannelName.TELEGRAM),
            whatsapp=await uow.accounts.get(business.id, ChannelName.WHATSAPP),
        ),
        agents=[
            (a, preferences(a))
            for a in await uow.agents.list(business.id)
            if a.active and wanted(a)
        ],
    )


def preferences(agent: Agent) -> AlertPreferences:
    """The agent's alert preferences; ones that no longer parse count as the defaults."""
    try:
        return parse_preferences(agent.alerts or None)
    except PreferencesError as wrong:
        log.warning(
            "agent %d's alert preferences are unreadable (%s): defaults used", agent.id, wrong
        )
        return AlertPreferences()


async def _alert(
    services: Services,
    audience: _Audience,
    event: AlertEvent,
    template: Text,
    about: _About,
    *,
    now: datetime,
) -> tuple[int, bool]:
    """Tell each agent of the audience by each medium they chose for `event` at `now`; how
    many alerts went out now, and whether to try again."""
    alerted, retry = 0, False
    for agent, chosen in audience.agents:
        media = chosen.media_for(event, now=now, timezone=audience.business.timezone)
        if not media:
            continue
        message = _message(audience, agent, event, template, about)
        for medium in sorted(media):
            sent = await send(
                services,
                medium,
                agent,
                message,
                accounts=audience.accounts,
                whatsapp=chosen.whatsapp,
                key=f"alert:{event.value}:{about.subject}:{agent.id}:{medium.value}",
            )
            alerted += sent is True
            retry = retry or sent is None
    return alerted, retry


def _message(
    audience: _Audience, agent: Agent, event: AlertEvent, template: Text, about: _About
) -> AlertMessage:
    language = agent.language
    customer = audience.customer or SOMEONE.render(language)
    values = {
        **about.values,
        "business": audience.business.name,
        "customer": customer,
        "channel": audience.channel.value,
        "reason": reason_shown(about.values["reason"], language) if about.values["reason"] else "",
    }
    return AlertMessage(
        business=audience.business.slug,
        business_name=audience.business.name,
        customer=customer,
        subject=SUBJECTS[event].render(language, **values),
        text=template.render(language, **values),
    )


async def announce_missed(services: Services, *, now: datetime) -> int:
    """The tick's retry: handoffs whose agents were not all told within a minute."""
    async with services.uow() as uow:
        missed = await uow.handoffs.unannounced(before=now - RETRY_AFTER, limit=BATCH)
    return sum([await announce(h.business_id, h.id, services) for h in missed])


async def tell_chat(business_id: int, chat: str, text: str, key: str, services: Services) -> None:
    """One message to a chat on the business's bot: whether a one-time link worked."""
    async with services.uow() as uow:
        business = await uow.businesses.get(business_id)
        account = await uow.accounts.get(business_id, ChannelName.TELEGRAM)
    await tell(services, business.slug, account, chat, text, key=key)


async def _conversation(uow: UnitOfWork, handoff: Handoff) -> Sequence[str]:
    """The conversation as the summarizer reads it: who said what, oldest first."""
    said = await uow.messages.for_customer(handoff.customer_id, limit=SUMMARY_LINES)
    lines = [
        f"{'customer' if m.direction is Direction.IN else 'business'}: {m.text}"
        for m in said
        if m.text
    ]
    reasons = handoff.details.get("reasons") or [handoff.reason]
    return [*lines, f"handed to a person because: {'; '.join(map(str, reasons))}"]
