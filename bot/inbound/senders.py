"""Who wrote: the customer and the channel identity behind an inbound message, made on their
first message, joined by a deep link, named from their app, and reachable again by writing.

A WhatsApp number is the customer's phone: a number Kesher has not heard from joins the
customer with that phone (the oldest, as an import's does), and a new customer made for it
has it as their phone. A deep link that joins a chat which already wrote to another record
brings that record along when the chat was all it held (a merge): the chat's whole history,
in the same transaction.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from bot.accounts.channels import CUSTOMER_LINK_PREFIX, link_digest
from bot.accounts.customers import normalise_phone
from bot.accounts.merge import merge_customers, move_chat
from bot.domain import (
    WHATSAPP_PREFIX,
    Business,
    ChannelName,
    Customer,
    CustomerFields,
    EventKind,
    Identity,
    Inbound,
    InboundKind,
    InvalidInput,
)
from bot.ports import UnitOfWork
from flows import commands
from flows.text import detect_language

_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


@dataclass(frozen=True, slots=True)
class Sender:
    """Who wrote: the customer and the identity they wrote from, and whether either was made
    for this message (a new identity has no conversation yet, a new customer no history)."""

    customer: Customer
    identity: Identity
    new_identity: bool = False
    new_customer: bool = False


async def sender_of(
    uow: UnitOfWork, business: Business, inbound: Inbound, *, linked: Customer | None = None
) -> Sender:
    """The customer and identity that wrote, made on their first message, or joined to the
    customer a deep link named (`linked`); writing makes the identity reachable again and opens
    WhatsApp's 24-hour window."""
    sender = await _customer_for(uow, business, inbound, linked)
    if not sender.identity.reachable:
        # Writing is reaching back: a Telegram user cannot message a bot they block, so this
        # one unblocked it, though the update that says so may come late or not at all.
        await set_reachable(uow, business, sender.identity, inbound, reachable=True)
    # Any message from the customer opens (or keeps open) WhatsApp's 24-hour window; an
    # identity made for this message was made with it open.
    if not sender.new_identity:
        await uow.identities.set_last_inbound(sender.identity.id, at=inbound.received_at)
    return sender


async def set_reachable(
    uow: UnitOfWork, business: Business, identity: Identity, inbound: Inbound, *, reachable: bool
) -> None:
    if identity.reachable == reachable:
        return
    await uow.identities.set_reachable(identity.id, reachable)
    await uow.events.add(
        business.id,
        identity.customer_id,
        kind=EventKind.CHANNEL_UNBLOCKED if reachable else EventKind.CHANNEL_BLOCKED,
        occurred_at=inbound.received_at,
        data={"channel": inbound.channel.value},
    )


async def _customer_for(
    uow: UnitOfWork, business: Business, inbound: Inbound, linked: Customer | None
) -> Sender:
    found = await uow.identities.find_with_customer(business.id, inbound.channel, inbound.address)
    if found is None:
        phone = _phone_of(inbound)
        if linked is None:
            holder = await uow.customers.find_by_phone(business.id, phone) if phone else None
            if holder is None:
                return await _new_customer(uow, business, inbound, phone=phone)
            return await _joined_by_phone(uow, business, holder, inbound)
        if phone and not linked.phone:
            await uow.customers.update(linked.id, CustomerFields(phone=phone))
        identity = await _identity_for(uow, business, linked.id, inbound)
        await _note_link(uow, business, linked, inbound)
        return await _named(uow, Sender(linked, identity, new_identity=True), inbound)
    identity, customer = found
    if linked is not None and linked.id != identity.customer_id:
        await _move_identity(uow, business, identity, linked, inbound)
        identity = replace(identity, customer_id=linked.id)
        customer = await uow.customers.get(business.id, linked.id) or linked
    return await _named(uow, Sender(customer, identity), inbound)


def _phone_of(inbound: Inbound) -> str | None:
    """The E.164 phone a WhatsApp address is; None on other channels."""
    if inbound.channel is not ChannelName.WHATSAPP:
        return None
    number = inbound.address.removeprefix(WHATSAPP_PREFIX)
    try:
        return normalise_phone(number)
    except InvalidInput:
        # WhatsApp verified the number: one in a range newer than phonenumbers' data is kept.
        return number if _E164.fullmatch(number) else None


async def _joined_by_phone(
    uow: UnitOfWork, business: Business, customer: Customer, inbound: Inbound
) -> Sender:
    """A WhatsApp number first heard from joins the customer known by that phone."""
    identity = await _identity_for(uow, business, customer.id, inbound)
    await uow.events.add(
        business.id,
        customer.id,
        kind=EventKind.IDENTITY_LINKED,
        occurred_at=inbound.received_at,
        data={"channel": inbound.channel.value, "address": inbound.address, "by": "phone"},
    )
    return await _named(uow, Sender(customer, identity, new_identity=True), inbound)


async def _named(uow: UnitOfWork, sender: Sender, inbound: Inbound) -> Sender:
    """A customer without a name takes the one their app shows."""
    if not sender.customer.name and inbound.profile_name:
        await uow.customers.set_name(sender.customer.id, inbound.profile_name)
    return sender


def customer_link_token(inbound: Inbound) -> str | None:
    """The token of a customer's `/start c_<token>` deep link (Telegram's), if this is one."""
    if inbound.channel is not ChannelName.TELEGRAM or inbound.command != commands.START:
        return None
    if not inbound.payload:
        return None
    prefix, _, token = inbound.payload.partition("_")
    return token if prefix == CUSTOMER_LINK_PREFIX and token else None


async def linked_customer(
    uow: UnitOfWork, business: Business, token: str, *, now: datetime
) -> Customer | None:
    """The customer whose deep link this token is, unless it was used or has expired."""
    return await uow.customers.by_link(business.id, link_digest(token), now=now)


async def language_of(uow: UnitOfWork, business: Business, inbound: Inbound) -> str:
    """The language to answer a chat in without making a customer of it: the customer's if
    the chat is known, else the app's, else the business's."""
    found = await uow.identities.find_with_customer(business.id, inbound.channel, inbound.address)
    if found is not None:
        return found[1].language
    return _known_language(inbound.language) or business.language


async def _move_identity(
    uow: UnitOfWork, business: Business, identity: Identity, to: Customer, inbound: Inbound
) -> None:
    """Give a chat that already wrote to the customer its link names, with its history; its
    conversation ends. A record that held nothing but this chat is merged into the linked one
    (its events come along too); one that keeps other channels keeps its events."""
    conversation = await uow.conversations.open_for(identity.id)
    if conversation is not None:
        await uow.conversations.close(conversation.id, at=inbound.received_at)
    await uow.identities.move(identity.id, to.id)
    await _note_link(uow, business, to, inbound)
    if await uow.identities.for_customer(identity.customer_id):
        await move_chat(uow, identity.id, to.id)
    else:
        await merge_customers(
            uow,
            business,
            to.id,
            identity.customer_id,
            actor=f"deep-link:{inbound.channel.value}",
            now=inbound.received_at,
        )


async def _note_link(
    uow: UnitOfWork, business: Business, customer: Customer, inbound: Inbound
) -> None:
    # A link token is single use: a forwarded link must not join a stranger to the record.
    await uow.customers.set_link(customer.id, None, expires_at=None)
    await uow.events.add(
        business.id,
        customer.id,
        kind=EventKind.IDENTITY_LINKED,
        occurred_at=inbound.received_at,
        data={"channel": inbound.channel.value, "address": inbound.address},
    )


async def _new_customer(
    uow: UnitOfWork, business: Business, inbound: Inbound, *, phone: str | None
) -> Sender:
    written = detect_language(inbound.text or "") if inbound.kind is InboundKind.MESSAGE else None
    customer = await uow.customers.add(
        business.id,
        name=inbound.profile_name,
        phone=phone,
        language=written or _known_language(inbound.language) or business.language,
        timezone=business.timezone,
        attributes={},
        created_at=inbound.received_at,
    )
    identity = await _identity_for(uow, business, customer.id, inbound)
    await uow.events.add(
        business.id,
        customer.id,
        kind=EventKind.CUSTOMER_CREATED,
        occurred_at=inbound.received_at,
        data={"channel": inbound.channel.value},
    )
    return Sender(customer, identity, new_identity=True, new_customer=True)


async def _identity_for(
    uow: UnitOfWork, business: Business, customer_id: uuid.UUID, inbound: Inbound
) -> Identity:
    """The chat that wrote, added to a customer, its window open from this message."""
    return await uow.identities.add(
        business.id,
        customer_id,
        channel=inbound.channel,
        address=inbound.address,
        created_at=inbound.received_at,
        last_inbound_at=inbound.received_at,
    )


def _known_language(code: str | None) -> str | None:
    """'he' or 'en' from an app's language code ('he', 'iw', 'en-US'), else None."""
    base = (code or "").split("-")[0].lower()
    return {"he": "he", "iw": "he", "en": "en"}.get(base)
