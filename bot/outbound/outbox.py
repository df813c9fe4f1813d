"""Sending what the outbox holds: claim a row, check the customer may be contacted, send once.

A row is claimed in the database before the channel is called, so two workers given the same
row send it once. On a channel with a reply window (WhatsApp) the row goes as free text inside
it, as the business's approved template outside it, or is held as `needs_template`. A worker that dies after claiming leaves the row `sending`; the sweeper puts
it back after `STALE_AFTER`, which trades a rare second send for never losing a reply. The row
keeps `sending_since`, so the next claimant tells the channel: one that can look up what it
sent (WhatsApp through Twilio) sends only what is not there yet; Telegram cannot.
Several rows queued together go as a batch (`send_batch`): one claim, concurrent sends, one
record of the successes; the rules for each row are the one-row path's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.domain import (
    Customer,
    DeliveryStatus,
    EventKind,
    Identity,
    Outbound,
    OutboxKind,
    OutboxSend,
    OutboxStatus,
    Reply,
    SendFailed,
    SentReceipt,
)
from bot.outbound.replies import queue_sends
from bot.outbound.whatsapp_templates import (
    Delivery,
    HoldForTemplate,
    UseTemplate,
    delivery_for,
    stored_templates,
)
from bot.ports import Channel, UnitOfWork
from bot.services import Services
from bot.telemetry import OUTBOUND

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
STALE_AFTER = timedelta(minutes=5)
SWEEP_BATCH = 500
# Batches of sends one process has waiting for their turns at once: what they book ahead under a
# bot's limit is what a customer's reply then queues behind.
BATCHES_AT_ONCE = 4
ORDER_WAIT = timedelta(seconds=10)
ORDER_POLL_SECONDS = 0.05
# A channel's SendFailed code when the provider refused free text outside its window.
OUTSIDE_WINDOW = "outside_window"
# ... and when the provider said "too many requests": a Retry-After up to this long is waited out
# in the task and the send tried once more, rather than left to the backoff and the next sweep
# (up to a minute and more after the provider asked for a second).
RATE_LIMITED = "rate_limited"
RETRY_IN_PLACE_SECONDS = 5.0


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """5 s, 10 s, 20 s ... capped at one hour; a provider's Retry-After wins when longer."""
    seconds = min(5 * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=max(seconds, retry_after or 0))


async def send_outbound(item_id: int, services: Services) -> OutboxStatus | None:
    """Send one outbox row; None when another worker has it, it is done, or it must wait."""
    claimed = await _claim(item_id, services)
    if not isinstance(claimed, tuple):
        return claimed
    send, delivery = claimed
    sent = await _send(send, delivery, services)
    if not isinstance(sent, SentReceipt):
        return sent
    await _record_sent([(send, sent)], services)
    return OutboxStatus.SENT


async def send_batch(item_ids: Sequence[int], services: Services) -> dict[int, OutboxStatus | None]:
    """Send many outbox rows: one transaction claims them all, they go concurrently (the
    channel's limiter paces them), one transaction records every success.

    A row whose conversation has an earlier row still unsent is let go again and handed to the
    one-row path, which keeps replies in order; it maps to None, as do rows not claimed.
    """
    outcomes: dict[int, OutboxStatus | None] = dict.fromkeys(item_ids)
    ready: list[tuple[OutboxSend, Delivery]] = []
    now = services.clock.now()
    async with services.uow() as uow:
        claimed = await uow.outbox.claim_many(list(item_ids), now=now)
        sends = await uow.outbox.sending_many(claimed, now=now)
        behind = [send.item.id for send in sends if send.behind]
        await uow.outbox.unclaim(behind)
        for send in sends:
            if send.behind:
                continue
            checked = await _check(uow, send, now=now, services=services)
            if isinstance(checked, tuple):
                ready.append(checked)
            else:
                outcomes[send.item.id] = checked
        await uow.commit()
    try:
        # One row's trouble (say, the database failing while its failure is written down)
        # must not cost the others their record: that row stays claimed for the sweep.
        results = await asyncio.gather(
            *(_send(send, how, services) for send, how in ready), return_exceptions=True
        )
        sent: list[tuple[OutboxSend, SentReceipt]] = []
        for (send, _), result in zip(ready, results, strict=True):
            if isinstance(result, SentReceipt):
                sent.append((send, result))
            elif isinstance(result, BaseException):
                log.error("outbox item %s: %r; the sweeper will retry it", send.item.id, result)
            else:
                outcomes[send.item.id] = result
        await _record_sent(sent, services)
        for send, _ in sent:
            outcomes[send.item.id] = OutboxStatus.SENT
    finally:
        # After this batch's sends: the rows they wait on are then most likely out, and the
        # embedded queue runs a task in place, where waiting on this batch would stall it.
        for item_id in behind:
            await queue_sends([item_id], services)
    return outcomes


async def _send(
    send: OutboxSend, delivery: Delivery, services: Services
) -> SentReceipt | OutboxStatus:
    """Hand a claimed row to its channel; a failure is recorded and its outcome returned."""
    item, message, identity, business = send.item, send.message, send.identity, send.business
    customer, account = send.customer, send.account
    assert customer is not None
    channel = services.channels[identity.channel]
    template = None
    if isinstance(delivery, UseTemplate):
        template = delivery.template.filled(
            {"customer_name": customer.name or "", "business": business.name, "text": message.text}
        )
    outbound = Outbound(
        channel=identity.channel,
        business=business.slug,
        address=identity.address,
        reply=Reply(text=message.text, choices=message.choices),
        idempotency_key=item.idempotency_key,
        account=account,
        template=template,
        resume_since=item.resumed_since,
    )
    try:
        receipt = await _send_once_more_if_asked(channel, outbound)
        if receipt.found:
            log.info("outbox item %s had gone out before its worker died: not sent again", item.id)
        return receipt
    except Exception as error:
        failure = (
            error if isinstance(error, SendFailed) else SendFailed(repr(error), retryable=True)
        )
        if failure.throttled:
            outcome = await _defer(item.id, failure, services)
        elif failure.code == OUTSIDE_WINDOW and not item.template_only:
            outcome = await _use_template(item.id, failure, services)
        else:
            outcome = await _failed(item.id, message.id, item.attempts, failure, services)
        if failure.unreachable:
            await _unreachable(identity, business.id, failure, services)
        OUTBOUND.labels(identity.channel.value, outcome.value).inc()
        return outcome


async def _send_once_more_if_asked(channel: Channel, outbound: Outbound) -> SentReceipt:
    """Send; a provider's "too many requests" with a short Retry-After is waited out and the
    send tried once more (it books a new turn under the limits), a second refusal stands."""
    try:
        return await channel.send(outbound)
    except SendFailed as refused:
        wait = refused.retry_after
        if refused.code != RATE_LIMITED or wait is None or wait > RETRY_IN_PLACE_SECONDS:
            raise
        log.info("%s; trying once more in %g s", refused, wait)
    await asyncio.sleep(wait)
    return await channel.send(outbound)


async def _record_sent(sent: Sequence[tuple[OutboxSend, SentReceipt]], services: Services) -> None:
    """Every success in one transaction: the rows sent, their messages as the receipts say."""
    if not sent:
        return
    async with services.uow() as uow:
        await uow.outbox.finish_many([send.item.id for send, _ in sent], OutboxStatus.SENT)
        await uow.messages.set_sent(
            {send.message.id: receipt for send, receipt in sent}, at=services.clock.now()
        )
        await uow.commit()
    for send, _ in sent:
        OUTBOUND.labels(send.identity.channel.value, "sent").inc()
        log.info("sent outbox item %s on %s", send.item.id, send.identity.channel.value)


async def _use_template(item_id: int, failure: SendFailed, services: Services) -> OutboxStatus:
    """The provider says the window has closed: try once more, as a template (or be held)."""
    async with services.uow() as uow:
        await uow.outbox.use_template(item_id, error=failure.message, now=services.clock.now())
        await uow.commit()
    await queue_sends([item_id], services)
    return OutboxStatus.PENDING


async def resend_as_template(
    business_id: int, message_id: int, *, reason: str, services: Services
) -> bool:
    """A status callback said 63016 for a sent message: send it again once, as a template.

    True when handled (resent now, or already being resent); False when the failure stands:
    the message went as a template and still failed.
    """
    async with services.uow() as uow:
        item = await uow.outbox.for_message(message_id)
        if item is None or item.business_id != business_id:
            return False
        if item.template_only:
            return item.status is not OutboxStatus.SENT
        await uow.outbox.use_template(item.id, error=reason, now=services.clock.now())
        await uow.messages.set_status(message_id, DeliveryStatus.QUEUED, at=services.clock.now())
        await uow.commit()
    await queue_sends([item.id], services)
    return True


async def _claim(
    item_id: int, services: Services
) -> tuple[OutboxSend, Delivery] | OutboxStatus | None:
    """Claim the row and read what sending it takes, in one transaction, and decide how it goes.

    Replies to one conversation leave in the order they were decided: workers take rows
    concurrently, so a row waits (briefly, its claim undone) while an earlier row of its
    conversation is being sent or is due; past `ORDER_WAIT` the sweeper offers it again.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ORDER_WAIT.total_seconds()
    while True:
        now = services.clock.now()
        async with services.uow() as uow:
            if not await uow.outbox.claim(item_id, now=now):
                await uow.rollback()
                return None
            send = await uow.outbox.sending(item_id, now=now)
            if not send.behind:
                checked = await _check(uow, send, now=now, services=services)
                await uow.commit()
                return checked
            await uow.rollback()
        if loop.time() >= deadline:
            log.info(
                "outbox item %s still waits on an earlier reply; the sweeper will retry", item_id
            )
            return None
        await asyncio.sleep(ORDER_POLL_SECONDS)


# What answers a customer: the bot's reply to their message, a person's, a handoff's notices.
ANSWERS = frozenset({OutboxKind.REPLY, OutboxKind.HANDOFF_NOTICE})


def contactable(send: OutboxSend) -> bool:
    """Opting out stops proactive contact only: an opted-out customer gets consent notices,
    and answers made after they wrote again (the bot's or a person's), nothing else."""
    customer, identity = send.customer, send.identity
    if customer is None:
        return False
    if not customer.opted_out or send.item.kind is OutboxKind.CONSENT:
        return True
    since = customer.opted_out_at
    return (
        send.item.kind in ANSWERS
        and wrote_since_opting_out(customer, identity)
        and since is not None
        and send.message.created_at > since
    )


def wrote_since_opting_out(customer: Customer, identity: Identity) -> bool:
    """Whether an opted-out customer wrote again on this address: they may be answered."""
    since, wrote = customer.opted_out_at, identity.last_inbound_at
    return since is not None and wrote is not None and wrote > since


async def _check(
    uow: UnitOfWork, send: OutboxSend, *, now: datetime, services: Services
) -> tuple[OutboxSend, Delivery] | OutboxStatus:
    """Skip a row for a customer who may not be contacted, hold one that needs a template the
    business lacks (written in `uow`, for the caller to commit with the claim); else how the
    row goes."""
    item, message, identity, customer = send.item, send.message, send.identity, send.customer
    if not contactable(send) or not identity.reachable:
        await uow.outbox.finish(item.id, OutboxStatus.SKIPPED, error="not contactable")
        await uow.messages.set_status(message.id, DeliveryStatus.SKIPPED, at=now)
        OUTBOUND.labels(identity.channel.value, "skipped").inc()
        return OutboxStatus.SKIPPED
    assert customer is not None
    channel = services.channels[identity.channel]
    delivery = delivery_for(
        item.kind.value,
        customer.language,
        templates=stored_templates(send.account),
        last_inbound_at=identity.last_inbound_at,
        now=now,
        window=channel.capabilities.reply_window,
        template_only=item.template_only,
    )
    if isinstance(delivery, HoldForTemplate):
        await uow.outbox.finish(item.id, OutboxStatus.NEEDS_TEMPLATE, error=delivery.reason)
        await uow.messages.set_status(message.id, DeliveryStatus.NEEDS_TEMPLATE, at=now)
        OUTBOUND.labels(identity.channel.value, "needs_template").inc()
        log.info("outbox item %s held: %s", item.id, delivery.reason)
        return OutboxStatus.NEEDS_TEMPLATE
    return send, delivery


async def _failed(
    item_id: int, message_id: int, attempts: int, failure: SendFailed, services: Services
) -> OutboxStatus:
    now = services.clock.now()
    final = not failure.retryable or attempts >= MAX_ATTEMPTS
    log.warning("send of outbox item %s failed (attempt %s): %s", item_id, attempts, failure)
    async with services.uow() as uow:
        if final:
            await uow.outbox.finish(item_id, OutboxStatus.FAILED, error=failure.message)
            await uow.messages.set_status(message_id, DeliveryStatus.FAILED, at=now)
        else:
            await uow.outbox.retry(
                item_id,
                error=failure.message,
                next_attempt_at=now + backoff(attempts, failure.retry_after),
            )
        await uow.commit()
    return OutboxStatus.FAILED if final else OutboxStatus.PENDING


async def _defer(item_id: int, failure: SendFailed, services: Services) -> OutboxStatus:
    """No turn under the channel's limits soon enough: back to the outbox for a later sweep,
    the attempt not counted (a campaign larger than a limit allows at once is not a failure)."""
    log.info("outbox item %s waits for a later sweep: %s", item_id, failure)
    later = services.clock.now() + timedelta(seconds=failure.retry_after or 0)
    async with services.uow() as uow:
        await uow.outbox.defer(item_id, reason=failure.message, until=later)
        await uow.commit()
    return OutboxStatus.PENDING


async def _unreachable(
    identity: Identity, business_id: int, failure: SendFailed, services: Services
) -> None:
    """The provider says this address cannot be messaged (Telegram: the bot was blocked)."""
    async with services.uow() as uow:
        current = await uow.identities.get(identity.id)
        if current.reachable:
            await uow.identities.set_reachable(identity.id, False)
            await uow.events.add(
                business_id,
                identity.customer_id,
                kind=EventKind.CHANNEL_BLOCKED,
                occurred_at=services.clock.now(),
                data={"channel": identity.channel.value, "reason": failure.message},
            )
        await uow.commit()


async def sweep(services: Services) -> int:
    """Requeue rows whose sender died and rows whose retry is due; returns how many."""
    now = services.clock.now()
    async with services.uow() as uow:
        await uow.outbox.release_stale(stale_before=now - STALE_AFTER)
        due = list(await uow.outbox.due(now=now, limit=SWEEP_BATCH))
        await uow.commit()
    await queue_sends(due, services)
    return len(due)
