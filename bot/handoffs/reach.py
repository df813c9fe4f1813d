"""How an agent's reply reaches the customer: as free text inside the channel's window, as an
approved template outside it, or not at all (refused with the reason, before it is stored)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain import Business, ChannelName, Customer, Identity, InvalidInput, OutboxKind
from bot.outbound.outbox import wrote_since_opting_out
from bot.outbound.whatsapp_templates import (
    KINDS,
    HoldForTemplate,
    UseTemplate,
    approved_kinds,
    delivery_for,
    stored_templates,
)
from bot.ports import UnitOfWork
from bot.services import Services


def reply_window(services: Services, channel: ChannelName) -> timedelta | None:
    sender = services.channels.get(channel)
    return sender.capabilities.reply_window if sender is not None else None


def window_open(services: Services, identity: Identity, *, now: datetime) -> bool:
    """Whether free text reaches the customer now (always, except on WhatsApp after 24 hours)."""
    window = reply_window(services, identity.channel)
    if window is None:
        return True
    return identity.last_inbound_at is not None and now - identity.last_inbound_at < window


def check_contactable(customer: Customer, identity: Identity) -> None:
    """Refuse, with the reason, a reply that the outbox would skip rather than send."""
    if customer.opted_out and not wrote_since_opting_out(customer, identity):
        raise InvalidInput(
            "the customer has opted out of messages: the reply would not be sent "
            "(they are contacted again once they write an opt-in word)",
            code="opted_out",
        )
    if not identity.reachable:
        raise InvalidInput(
            f"the customer cannot be reached on {identity.channel.value} "
            "(they blocked the sender, or the address is not valid): the reply would not be sent",
            code="unreachable",
        )


async def reply_kind(
    uow: UnitOfWork,
    services: Services,
    business: Business,
    identity: Identity,
    customer: Customer,
    template: str | None,
    *,
    now: datetime,
) -> OutboxKind:
    window = reply_window(services, identity.channel)
    templates = stored_templates(await uow.accounts.get(business.id, identity.channel))
    if template is None:
        delivery = delivery_for(
            OutboxKind.REPLY,
            customer.language,
            templates=templates,
            last_inbound_at=identity.last_inbound_at,
            now=now,
            window=window,
        )
        if isinstance(delivery, HoldForTemplate):
            usable = approved_kinds(templates, customer.language)
            raise InvalidInput(
                "the customer's 24-hour WhatsApp window is closed: free text would not arrive; "
                + (
                    f"send one of the approved templates ({', '.join(usable)})"
                    if usable
                    else "the business has no approved template in the customer's language"
                ),
                code="window_closed",
            )
        return OutboxKind.REPLY
    if template not in KINDS:
        raise InvalidInput(f"unknown template kind {template!r}", code="invalid_template")
    chosen = delivery_for(
        template,
        customer.language,
        templates=templates,
        last_inbound_at=None,
        now=now,
        window=window,
    )
    if isinstance(chosen, HoldForTemplate):
        raise InvalidInput(chosen.reason, code="invalid_template")
    assert isinstance(chosen, UseTemplate) or window is None
    return OutboxKind(template)
