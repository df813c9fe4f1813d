"""One alert to one agent by one medium, once: e-mail, WhatsApp (an approved template to the
agent's own number, from the business's sender) or Telegram (the agent's linked chat).

Each send holds an idempotency key for its event, agent and medium: True when sent now, False
when sent before or it never can be (nothing to send it by), None when it failed in a way
worth another try (the key is given back for the retry).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.domain import Agent, ChannelAccount, ChannelName, Outbound, Reply, SendFailed
from bot.outbound.whatsapp_templates import staff_alert_template, stored_templates
from bot.services import Services
from flows.staff_alerts import Medium

log = logging.getLogger(__name__)

ALERT_KEY_TTL = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """What one agent reads, in their language, and where from."""

    business: str
    """The business's slug."""
    business_name: str
    customer: str
    subject: str
    text: str


@dataclass(frozen=True, slots=True)
class Accounts:
    """The business's own senders alerts go out through (None where not connected)."""

    telegram: ChannelAccount | None
    whatsapp: ChannelAccount | None


async def send(
    services: Services,
    medium: Medium,
    agent: Agent,
    message: AlertMessage,
    *,
    accounts: Accounts,
    whatsapp: str | None,
    key: str,
) -> bool | None:
    """Send `message` to `agent` by `medium` once per `key`."""
    if medium is Medium.EMAIL:
        return await _email(services, agent, message, key=key)
    if medium is Medium.TELEGRAM:
        if agent.telegram_chat is None:
            return False
        return await tell(
            services,
            message.business,
            accounts.telegram,
            agent.telegram_chat,
            message.text,
            key=key,
        )
    if medium is Medium.WHATSAPP:
        return await _whatsapp(services, agent, message, accounts.whatsapp, whatsapp, key=key)
    return False  # browser notifications are the open inbox page's own


async def _email(
    services: Services, agent: Agent, message: AlertMessage, *, key: str
) -> bool | None:
    mailer = services.mailer
    if mailer is None:
        return False
    return await once(
        services,
        key,
        lambda: mailer.send(agent.email, message.subject, message.text),
        what=f"e-mail to agent {agent.id}",
    )


async def _whatsapp(
    services: Services,
    agent: Agent,
    message: AlertMessage,
    account: ChannelAccount | None,
    number: str | None,
    *,
    key: str,
) -> bool | None:
    """Always an approved template: the agent's number has no open 24-hour window of ours."""
    sender = services.channels.get(ChannelName.WHATSAPP)
    if number is None or account is None or sender is None:
        return False
    template = staff_alert_template(stored_templates(account), agent.language)
    if template is None:
        log.warning(
            "business %s has no staff_alert template: WhatsApp alert skipped", message.business
        )
        return False
    outbound = Outbound(
        channel=ChannelName.WHATSAPP,
        business=message.business,
        address=number,
        reply=Reply(text=message.text),
        idempotency_key=key,
        account=account,
        template=template.filled(
            {
                "business": message.business_name,
                "customer_name": message.customer,
                "text": message.text,
            }
        ),
    )

    async def deliver() -> None:
        await sender.send(outbound)

    return await once(services, key, deliver, what=f"WhatsApp to agent {agent.id}")


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
    """Send `text` to a Telegram chat on the business's bot once per `key`."""
    sender = services.channels.get(ChannelName.TELEGRAM)
    if account is None or sender is None:
        return False
    outbound = Outbound(
        channel=ChannelName.TELEGRAM,
        business=business,
        address=chat,
        reply=Reply(text=text),
        idempotency_key=key,
        account=account,
    )

    async def deliver() -> None:
        await sender.send(outbound)

    return await once(services, key, deliver, what=f"Telegram chat {chat}", ttl=ttl)


async def once(
    services: Services,
    key: str,
    deliver: Callable[[], Awaitable[None]],
    *,
    what: str,
    ttl: timedelta = ALERT_KEY_TTL,
) -> bool | None:
    """Run `deliver` unless `key` was used: True when it ran now, False when it ran before or
    failed for good, None when it failed worth another try (and `key` is free again)."""
    if not await services.idempotency.add(key, ttl=ttl):
        return False
    try:
        await deliver()
    except SendFailed as error:
        if not error.retryable:
            log.warning("could not alert by %s: %s", what, error)
            return False
        await services.idempotency.discard(key)
        return None
    except Exception:
        log.exception("alerting by %s failed", what)
        await services.idempotency.discard(key)
        return None
    return True
