"""The SQLAlchemy outbox repository: messages to send, claimed, retried and finished."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, and_, bindparam, case, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.domain import NewOutboxItem, OutboxItem, OutboxKind, OutboxSend, OutboxStatus
from storage import records
from storage.columns import UtcDateTime
from storage.credentials import CredentialCipher
from storage.repositories.repository import Repository
from storage.tables import (
    BusinessRow,
    ChannelAccountRow,
    ConversationRow,
    CustomerRow,
    IdentityRow,
    MessageRow,
    OutboxRow,
)

# A claim that set `sending_since` itself (the row's first attempt) gives it back when the row
# is let go before reaching the provider; one set by an earlier claim stays.
_SINCE_UNLESS_THIS_CLAIM = case(
    (OutboxRow.sending_since == OutboxRow.claimed_at, None), else_=OutboxRow.sending_since
)


def _claimed(now: datetime) -> dict[str, Any]:
    return {
        "status": OutboxStatus.SENDING.value,
        "claimed_at": now,
        "sending_since": func.coalesce(OutboxRow.sending_since, literal(now, UtcDateTime())),
        "attempts": OutboxRow.attempts + 1,
    }


class SqlOutbox(Repository):
    def __init__(self, session: AsyncSession, *, cipher: CredentialCipher) -> None:
        super().__init__(session)
        self._cipher = cipher

    async def add(
        self,
        business_id: int,
        *,
        message_id: int,
        kind: OutboxKind,
        idempotency_key: str,
        due_at: datetime,
    ) -> OutboxItem:
        row = OutboxRow(
            business_id=business_id,
            message_id=message_id,
            kind=kind.value,
            idempotency_key=idempotency_key,
            status=OutboxStatus.PENDING.value,
            attempts=0,
            template_only=False,
            next_attempt_at=due_at,
            created_at=due_at,
        )
        return records.outbox_item(await self.store(row))

    async def add_many(
        self, business_id: int, items: Sequence[NewOutboxItem], *, due_at: datetime
    ) -> Sequence[int]:
        if not items:
            return []
        ids = await self.session.scalars(
            insert(OutboxRow).returning(OutboxRow.id, sort_by_parameter_order=True),
            [
                {
                    "business_id": business_id,
                    "message_id": i.message_id,
                    "kind": i.kind.value,
                    "idempotency_key": i.idempotency_key,
                    "status": OutboxStatus.PENDING.value,
                    "attempts": 0,
                    "template_only": False,
                    "next_attempt_at": due_at,
                    "created_at": due_at,
                }
                for i in items
            ],
        )
        return list(ids)

    async def by_key(self, idempotency_key: str) -> OutboxItem | None:
        row = (
            await self.session.execute(
                select(OutboxRow).where(OutboxRow.idempotency_key == idempotency_key)
            )
        ).scalar_one_or_none()
        return records.outbox_item(row) if row is not None else None

    async def get(self, item_id: int) -> OutboxItem:
        return records.outbox_item(await self.session.get_one(OutboxRow, item_id))

    async def claim(self, item_id: int, *, now: datetime) -> bool:
        result = await self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.id == item_id,
                OutboxRow.status == OutboxStatus.PENDING.value,
                OutboxRow.next_attempt_at <= now,
            )
            .values(**_claimed(now))
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def claim_many(self, item_ids: Sequence[int], *, now: datetime) -> Sequence[int]:
        if not item_ids:
            return []
        claimed = await self.session.scalars(
            update(OutboxRow)
            .where(
                OutboxRow.id.in_(list(item_ids)),
                OutboxRow.status == OutboxStatus.PENDING.value,
                OutboxRow.next_attempt_at <= now,
            )
            .values(**_claimed(now))
            .returning(OutboxRow.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(claimed)

    async def finish_many(self, item_ids: Sequence[int], status: OutboxStatus) -> None:
        if not item_ids:
            return
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(list(item_ids)))
            .values(status=status.value, last_error=None, sending_since=None)
            .execution_options(synchronize_session=False)
        )

    async def unclaim(self, item_ids: Sequence[int]) -> None:
        if not item_ids:
            return
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(list(item_ids)), OutboxRow.status == OutboxStatus.SENDING.value)
            .values(
                status=OutboxStatus.PENDING.value,
                claimed_at=None,
                sending_since=_SINCE_UNLESS_THIS_CLAIM,
                attempts=OutboxRow.attempts - 1,
            )
            .execution_options(synchronize_session=False)
        )

    async def finish(self, item_id: int, status: OutboxStatus, *, error: str | None = None) -> None:
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item_id)
            .values(status=status.value, last_error=error, sending_since=None)
            .execution_options(synchronize_session=False)
        )

    async def retry(self, item_id: int, *, error: str, next_attempt_at: datetime) -> None:
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item_id)
            .values(
                status=OutboxStatus.PENDING.value,
                last_error=error,
                next_attempt_at=next_attempt_at,
                claimed_at=None,
            )
            .execution_options(synchronize_session=False)
        )

    async def defer(self, item_id: int, *, reason: str, until: datetime) -> None:
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item_id, OutboxRow.status == OutboxStatus.SENDING.value)
            .values(
                status=OutboxStatus.PENDING.value,
                last_error=reason,
                next_attempt_at=until,
                claimed_at=None,
                sending_since=_SINCE_UNLESS_THIS_CLAIM,
                attempts=OutboxRow.attempts - 1,
            )
            .execution_options(synchronize_session=False)
        )

    async def for_message(self, message_id: int) -> OutboxItem | None:
        row = await self.session.scalar(
            select(OutboxRow).where(OutboxRow.message_id == message_id).limit(1)
        )
        return records.outbox_item(row) if row else None

    async def use_template(self, item_id: int, *, error: str, now: datetime) -> None:
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item_id)
            .values(
                status=OutboxStatus.PENDING.value,
                template_only=True,
                last_error=error,
                next_attempt_at=now,
                claimed_at=None,
                # The provider refused the free text: nothing of it went out.
                sending_since=None,
            )
            .execution_options(synchronize_session=False)
        )

    async def release_held(self, business_id: int, *, now: datetime) -> Sequence[int]:
        held = OutboxStatus.NEEDS_TEMPLATE.value
        ids = list(
            await self.session.scalars(
                select(OutboxRow.id)
                .where(OutboxRow.business_id == business_id, OutboxRow.status == held)
                .order_by(OutboxRow.id)
            )
        )
        if ids:
            await self.session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_(ids))
                .values(status=OutboxStatus.PENDING.value, next_attempt_at=now, claimed_at=None)
                .execution_options(synchronize_session=False)
            )
        return ids

    async def due(self, *, now: datetime, limit: int) -> Sequence[int]:
        rows = await self.session.scalars(
            select(OutboxRow.id)
            .where(OutboxRow.status == OutboxStatus.PENDING.value, OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.next_attempt_at)
            .limit(limit)
        )
        return list(rows)

    async def release_stale(self, *, stale_before: datetime) -> int:
        result = await self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.status == OutboxStatus.SENDING.value,
                OutboxRow.claimed_at < stale_before,
            )
            .values(status=OutboxStatus.PENDING.value, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def sending(self, item_id: int, *, now: datetime) -> OutboxSend:
        found = await self.session.execute(_sending(many=False), {"item_id": item_id, "now": now})
        return _outbox_send(found.one(), self._cipher)

    async def sending_many(self, item_ids: Sequence[int], *, now: datetime) -> Sequence[OutboxSend]:
        if not item_ids:
            return []
        found = await self.session.execute(
            _sending(many=True), {"item_ids": list(item_ids), "now": now}
        )
        return [_outbox_send(row, self._cipher) for row in found]


def _outbox_send(found: Any, cipher: CredentialCipher) -> OutboxSend:
    item, message, identity, business, customer, account, waits = found
    return OutboxSend(
        item=records.outbox_item(item),
        message=records.message(message),
        identity=records.identity(identity),
        business=records.business(business),
        customer=records.customer(customer) if customer is not None else None,
        account=(
            records.channel_account(account, cipher.open(account.credentials))
            if account is not None
            else None
        ),
        behind=bool(waits),
    )


@functools.cache
def _sending(*, many: bool) -> Executable:
    """`SqlOutbox.sending`'s one read (of one row, or of many in id order), built once: its
    aliases cost more to build than to run."""
    earlier, earlier_message = aliased(OutboxRow), aliased(MessageRow)
    now = bindparam("now", type_=OutboxRow.__table__.c.next_attempt_at.type)
    # Earlier in the conversation means an earlier message: the conversation's index then
    # yields the few messages before this one and the outbox is reached by message. Compared
    # by outbox id, PostgreSQL started from the outbox's status index instead, and visited the
    # entry of every row sent since the last vacuum, for every row read.
    behind = (
        select(earlier.id)
        .join(earlier_message, earlier_message.id == earlier.message_id)
        .where(
            earlier_message.conversation_id == MessageRow.conversation_id,
            earlier_message.id < MessageRow.id,
            _unsent(earlier, now=now),
        )
        .exists()
    )
    read = (
        select(
            OutboxRow, MessageRow, IdentityRow, BusinessRow, CustomerRow, ChannelAccountRow, behind
        )
        .join(MessageRow, MessageRow.id == OutboxRow.message_id)
        .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
        .join(IdentityRow, IdentityRow.id == ConversationRow.identity_id)
        .join(BusinessRow, BusinessRow.id == OutboxRow.business_id)
        .outerjoin(
            CustomerRow,
            and_(
                CustomerRow.id == MessageRow.customer_id,
                CustomerRow.business_id == OutboxRow.business_id,
            ),
        )
        .outerjoin(
            ChannelAccountRow,
            and_(
                ChannelAccountRow.business_id == OutboxRow.business_id,
                ChannelAccountRow.channel == IdentityRow.channel,
            ),
        )
    )
    if many:
        return read.where(OutboxRow.id.in_(bindparam("item_ids", expanding=True))).order_by(
            OutboxRow.id
        )
    return read.where(OutboxRow.id == bindparam("item_id"))


def _unsent(outbox: Any, *, now: Any) -> Any:
    """A row being sent, or pending and due: one that goes before any later row of its
    conversation.

    The statuses are written into the SQL, not bound: a prepared statement's generic plan then
    still knows how rare they are (with them bound, PostgreSQL's generic plan scanned the whole
    outbox for every row read).
    """
    sending = literal(OutboxStatus.SENDING.value, literal_execute=True)
    pending = literal(OutboxStatus.PENDING.value, literal_execute=True)
    return or_(
        outbox.status == sending,
        and_(outbox.status == pending, outbox.next_attempt_at <= now),
    )
