"""Agents hear of a new handoff: a Telegram message with a link, and the summary written first.

The inbox shows a new handoff live by itself; this is for agents away from it who linked
their own Telegram chat (`bot.agents.telegram_link`). The task runs right after the handoff
is committed; the scheduler's tick retries a handoff whose agents were not told within a
minute. Each agent is alerted once per handoff (a shared key), even when both run at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import (
    Agent,
    AgentRole,
    Business,
    ChannelAccount,
    ChannelName,
    Direction,
    Handoff,
    Outbound,
    Reply,
    SendFailed,
)
from bot.ports import UnitOfWork
from bot.services import Services
from flows.handoff import AGENT_ALERT, AGENT_LATE, SOMEONE
from flows.reasons import reason_shown
from flows.text import Text

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(minutes=1)
ALERT_KEY_TTL = timedelta(days=7)
SUMMARY_LINES = 20
BATCH = 200


async def announce(business_id: int, handoff_id: int, services: Services) -> int:
    """Write the summary and alert the agents of one handoff; how many agents were alerted.

    The agent it was given to is alerted, or, while it waits in the queue, every agent of
    the business who linked Telegram. A failure worth retrying leaves it for the tick.
    """
    now = services.clock.now()
    async with services.uow() as uow:
        handoff = await uow.handoffs.get(business_id, handoff_id)
        if handoff is None or not handoff.open or handoff.announced_at is not None:
            return 0
        audience = await _audience(uow, handoff, lambda a: handoff.agent_id in (None, a.id))
        lines = (
            await _conversation(uow, handoff)
            if services.summarizer is not None and "summary" not in handoff.details
            else ()
        )
    summary = None
    if services.summarizer is not None and lines:
        summary = await services.summarizer.summarize(lines, language=audience.business.language)
    alerted, retry = await _alert(services, audience, handoff, AGENT_ALERT, key="alert", now=now)
    async with services.uow() as uow:
        await uow.handoffs.note_announcement(
            handoff.id, summary=summary, announced_at=None if retry else now
        )
        await uow.commit()
    return alerted


async def overdue(business_id: int, handoff_id: int, services: Services, *, now: datetime) -> int:
    """The business's admins who linked Telegram hear of a handoff left unanswered past its
    SLA (once; the inbox shows them a banner too)."""
    async with services.uow() as uow:
        handoff = await uow.handoffs.get(business_id, handoff_id)
        if handoff is None:
            return 0
        audience = await _audience(uow, handoff, lambda a: a.role is AgentRole.ADMIN)
    alerted, _ = await _alert(services, audience, handoff, AGENT_LATE, key="late", now=now)
    return alerted


@dataclass(frozen=True, slots=True)
class _Audience:
    """Who hears of one handoff, and what their alert names: the business, the customer, the
    channel they wrote on, and the Telegram account it is sent from."""

    business: Business
    customer: str | None
    channel: ChannelName
    account: ChannelAccount | None
    agents: Sequence[tuple[Agent, str]]


async def _audience(
    uow: UnitOfWork, handoff: Handoff, wanted: Callable[[Agent], bool]
) -> _Audience:
    business = await uow.businesses.get(handoff.business_id)
    customer = await uow.customers.get(business.id, handoff.customer_id)
    conversation = await uow.conversations.get(handoff.conversation_id)
    agents = [
        (a, a.telegram_chat)
        for a in await uow.agents.list(business.id)
        if a.telegram_chat and wanted(a)
    ]
    return _Audience(
        business=business,
        customer=customer.name if customer else None,
        channel=(await uow.identities.get(conversation.identity_id)).channel,
        account=await uow.accounts.get(business.id, ChannelName.TELEGRAM) if agents else None,
        agents=agents,
    )


async def _alert(
    services: Services,
    audience: _Audience,
    handoff: Handoff,
    template: Text,
    *,
    key: str,
    now: datetime,
) -> tuple[int, bool]:
    """Tell each agent of the audience; how many were told now, and whether to try again."""
    reason = str((handoff.details.get("reasons") or [handoff.reason])[0])
    alerted, retry = 0, False
    for agent, chat in audience.agents:
        text = template.render(
            agent.language,
            business=audience.business.name,
            customer=audience.customer or SOMEONE.render(agent.language),
            channel=audience.channel.value,
            reason=reason_shown(reason, agent.language),
            minutes=str(int((now - handoff.requested_at).total_seconds() // 60)),
            link=f"{services.public_base}/inbox/handoffs/{handoff.id}",
        )
        sent = await tell(
            services,
            audience.business.slug,
            audience.account,
            chat,
            text,
            key=f"{key}:{handoff.id}:{agent.id}",
        )
        alerted += sent is True
        retry = retry or sent is None
    return alerted, retry


async def announce_missed(services: Services, *, now: datetime) -> int:
    """The tick's retry: handoffs whose agents were not told within a minute."""
    async with services.uow() as uow:
        missed = await uow.handoffs.unannounced(before=now - RETRY_AFTER, limit=BATCH)
    return sum([await announce(h.business_id, h.id, services) for h in missed])


async def tell(
    services: Services,
    business: str,
    account: ChannelAccount | None,
    chat: str,
    text: str,
    *,
    key: str,
    ttl: timedelta = ALERT_KEY_TTL,
) -> bool | None:
    """Send `text` to an agent's Telegram chat once per `key`: True when sent now, False when
    sent before or it never can be, None when it failed and is worth another try."""
    sender = services.channels.get(ChannelName.TELEGRAM)
    if account is None or sender is None:
        return False
    if not await services.idempotency.add(key, ttl=ttl):
        return False
    outbound = Outbound(
        channel=ChannelName.TELEGRAM,
        business=business,
        address=chat,
        reply=Reply(text=text),
        idempotency_key=key,
        account=account,
    )
    try:
        await sender.send(outbound)
    except SendFailed as error:
        if not error.retryable:
            log.warning("could not tell Telegram chat %s: %s", chat, error)
            return False
        await services.idempotency.discard(key)
        return None
    except Exception:
        log.exception("telling Telegram chat %s failed", chat)
        await services.idempotency.discard(key)
        return None
    return True


async def tell_chat(business_id: int, chat: str, text: str, key: str, services: Services) -> None:
    """One message to a chat on the business's bot: whether the agent's link worked."""
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
