"""One-time t.me links opened in Telegram, answered outside any conversation: an agent's link
gives their chat the business's alerts; a customer's deep link that is unknown, used or
expired is said to be so, and nothing is joined or made."""

from __future__ import annotations

from datetime import datetime

from bot.domain import Business, Inbound
from bot.handoffs import agents
from bot.inbound.senders import language_of
from bot.jobs import TellChat
from bot.ports import UnitOfWork
from flows.commands import LINK_UNKNOWN
from flows.handoff import AGENT_LINK_UNKNOWN, AGENT_LINKED


async def link_agent(
    uow: UnitOfWork, business: Business, inbound: Inbound, token: str, *, now: datetime
) -> TellChat:
    """An agent opened their one-time link: their chat now gets new handoffs (no customer is
    made of it); whoever opens a used or expired link is told so."""
    agent = await agents.link_telegram(uow, business, token, chat=inbound.address, now=now)
    text = (
        AGENT_LINKED.render(agent.language, business=business.name)
        if agent is not None
        else AGENT_LINK_UNKNOWN
    )
    return _tell(business, inbound, text)


async def refuse_customer_link(uow: UnitOfWork, business: Business, inbound: Inbound) -> TellChat:
    """A customer's deep link that is unknown, used or expired: told so, politely, in the
    chat's language."""
    language = await language_of(uow, business, inbound)
    return _tell(business, inbound, LINK_UNKNOWN.render(language, business=business.name))


def _tell(business: Business, inbound: Inbound, text: str) -> TellChat:
    return TellChat(
        business.id, inbound.address, text, key=f"tell:{business.id}:{inbound.delivery_id}"
    )
