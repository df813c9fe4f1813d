"""Replies on their way out: written as messages with outbox rows, then handed to the workers.

A reply is written in the same transaction as the decision that made it; `queue_sends` runs
after the commit, and a row the queue loses is swept up by the scheduler's tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain import (
    Business,
    ChannelName,
    Choice,
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    OutboxKind,
)
from bot.jobs import SendOutbound, SendOutboundBatch
from bot.ports import UnitOfWork
from bot.services import Services
from flows.outcome import Said

SEND_BATCH = 50


async def add_replies(
    uow: UnitOfWork,
    business: Business,
    conversation: Conversation,
    replies: Sequence[Said],
    *,
    channel: ChannelName,
    kind: OutboxKind,
    key: str,
    now: datetime,
    reply_to_id: int | None = None,
) -> tuple[list[Message], list[int]]:
    """Each reply as an outgoing message with its outbox row; `key` makes them idempotent."""
    messages: list[Message] = []
    outbox_ids: list[int] = []
    for index, said in enumerate(replies):
        message = await uow.messages.add(
            business.id,
            conversation=conversation,
            direction=Direction.OUT,
            channel=channel,
            text=said.text,
            status=DeliveryStatus.QUEUED,
            created_at=now,
            choices=[Choice(id=i, label=label) for i, label in said.choices],
            reply_to_id=reply_to_id,
        )
        item = await uow.outbox.add(
            business.id,
            message_id=message.id,
            kind=kind,
            idempotency_key=f"{key}:{index}",
            due_at=now,
        )
        messages.append(message)
        outbox_ids.append(item.id)
    return messages, outbox_ids


async def queue_sends(outbox_ids: Sequence[int], services: Services) -> None:
    """Hand committed outbox rows to the workers, one row alone, several in batches of up to
    `SEND_BATCH`; a row the queue loses is swept up later."""
    ids = list(outbox_ids)
    if len(ids) == 1:
        await services.enqueue(SendOutbound(ids[0]))
        return
    await services.enqueue(
        *(
            SendOutboundBatch(ids[first : first + SEND_BATCH])
            for first in range(0, len(ids), SEND_BATCH)
        )
    )
