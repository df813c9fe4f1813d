"""What deciding a touch reads: each customer's channels, earlier touches, answers, complaints
and open conversations, a query per fact for a batch of customers (no writes)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, case, func, select

from bot.domain import (
    ChannelName,
    CheckinStatus,
    ContactHistory,
    Conversation,
    ConversationMode,
    Identity,
    PlanningFacts,
    TouchFacts,
)
from storage import records
from storage.repositories.events import COMPLAINTS
from storage.repositories.repository import Repository
from storage.tables import (
    AnswerRow,
    CheckinRow,
    ConversationRow,
    CustomerRow,
    EventRow,
    IdentityRow,
    MessageRow,
)

PENDING = (CheckinStatus.PLANNED.value, CheckinStatus.CLAIMED.value)


class CheckinFacts(Repository):
    """The check-ins repository's reads that span the customer's other tables."""

    async def timezones(self, business_id: int) -> frozenset[str]:
        """The timezones the business's customers live in."""
        rows = await self.session.scalars(
            select(CustomerRow.timezone).where(CustomerRow.business_id == business_id).distinct()
        )
        return frozenset(rows)

    async def planning_facts(
        self, business_id: int, schedule_id: int, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[PlanningFacts]:
        query = select(CustomerRow).where(CustomerRow.business_id == business_id)
        if after is not None:
            query = query.where(CustomerRow.id > after)
        customers = list(await self.session.scalars(query.order_by(CustomerRow.id).limit(limit)))
        if not customers:
            return []
        ids = [c.id for c in customers]
        channels: dict[uuid.UUID, set[str]] = {}
        for customer_id, channel in await self.session.execute(
            select(IdentityRow.customer_id, IdentityRow.channel).where(
                IdentityRow.customer_id.in_(ids), IdentityRow.reachable.is_(True)
            )
        ):
            channels.setdefault(customer_id, set()).add(channel)
        counts = {
            customer_id: (int(total), int(pending or 0))
            for customer_id, total, pending in await self.session.execute(
                select(
                    CheckinRow.customer_id,
                    func.count(),
                    func.sum(case((CheckinRow.status.in_(PENDING), 1), else_=0)).cast(Integer),
                )
                .where(CheckinRow.schedule_id == schedule_id, CheckinRow.customer_id.in_(ids))
                .group_by(CheckinRow.customer_id)
            )
        }
        touched = {
            customer_id: moment
            for customer_id, moment in await self.session.execute(
                select(CheckinRow.customer_id, func.max(CheckinRow.sent_at))
                .where(CheckinRow.customer_id.in_(ids), CheckinRow.sent_at.is_not(None))
                .group_by(CheckinRow.customer_id)
            )
        }
        talked = {
            customer_id: moment
            for customer_id, moment in await self.session.execute(
                select(ConversationRow.customer_id, func.max(ConversationRow.last_message_at))
                .where(ConversationRow.customer_id.in_(ids))
                .group_by(ConversationRow.customer_id)
            )
        }
        facts = []
        for c in customers:
            total, pending = counts.get(c.id, (0, 0))
            moments = [m for m in (touched.get(c.id), talked.get(c.id)) if m is not None]
            facts.append(
                PlanningFacts(
                    customer_id=c.id,
                    language=c.language,
                    timezone=c.timezone,
                    attributes=dict(c.attributes),
                    opted_out=c.opted_out,
                    channels=frozenset(channels.get(c.id, ())),
                    last_touch=records.utc(max(moments)) if moments else None,
                    pending=pending > 0,
                    occurrences=total,
                )
            )
        return facts

    async def touch_facts(
        self, checkin_ids: Sequence[int], *, since: datetime
    ) -> Sequence[TouchFacts]:
        """The claimed ones of these touches with what making them needs, a query per fact.

        `since` starts the frequency cap's window of recent touches.
        """
        rows = list(
            await self.session.scalars(
                select(CheckinRow)
                .where(
                    CheckinRow.id.in_(checkin_ids),
                    CheckinRow.status == CheckinStatus.CLAIMED.value,
                )
                .order_by(CheckinRow.id)
                .execution_options(populate_existing=True)
            )
        )
        if not rows:
            return []
        ids = list({r.customer_id for r in rows})
        customers = {
            c.id: records.customer(c)
            for c in await self.session.scalars(select(CustomerRow).where(CustomerRow.id.in_(ids)))
        }
        identities: dict[uuid.UUID, list[Identity]] = {}
        for identity in await self.session.scalars(
            select(IdentityRow)
            .where(IdentityRow.customer_id.in_(ids), IdentityRow.reachable.is_(True))
            .order_by(IdentityRow.id)
        ):
            identities.setdefault(identity.customer_id, []).append(records.identity(identity))
        latest = (
            select(func.max(MessageRow.id))
            .where(MessageRow.customer_id.in_(ids))
            .group_by(MessageRow.customer_id)
        )
        last_channel = {
            customer_id: ChannelName(channel)
            for customer_id, channel in await self.session.execute(
                select(MessageRow.customer_id, MessageRow.channel).where(MessageRow.id.in_(latest))
            )
        }
        recent: dict[uuid.UUID, list[datetime]] = {}
        active: set[uuid.UUID] = set()
        for customer_id, status, sent_at in await self.session.execute(
            select(CheckinRow.customer_id, CheckinRow.status, CheckinRow.sent_at).where(
                CheckinRow.customer_id.in_(ids),
                (CheckinRow.sent_at >= since) | (CheckinRow.status == CheckinStatus.SENT.value),
            )
        ):
            if sent_at is not None and records.utc(sent_at) >= since:
                recent.setdefault(customer_id, []).append(records.utc(sent_at))
            if status == CheckinStatus.SENT.value:
                active.add(customer_id)
        answered = dict(
            (customer_id, records.utc(moment))
            for customer_id, moment in await self.session.execute(
                select(AnswerRow.customer_id, func.max(AnswerRow.answered_at))
                .where(AnswerRow.customer_id.in_(ids))
                .group_by(AnswerRow.customer_id)
            )
        )
        complained = dict(
            (customer_id, records.utc(moment))
            for customer_id, moment in await self.session.execute(
                select(EventRow.customer_id, func.max(EventRow.occurred_at))
                .where(EventRow.customer_id.in_(ids), EventRow.kind.in_(COMPLAINTS))
                .group_by(EventRow.customer_id)
            )
        )
        identity_ids = [i.id for found in identities.values() for i in found]
        human: set[uuid.UUID] = set()
        conversations: dict[int, Conversation] = {}
        for open_row in await self.session.scalars(
            select(ConversationRow)
            .where(
                ConversationRow.is_open.is_(True),
                ConversationRow.customer_id.in_(ids)
                | ConversationRow.identity_id.in_(identity_ids),
            )
            .order_by(ConversationRow.started_at)
        ):
            if open_row.customer_id in customers and open_row.mode == ConversationMode.HUMAN.value:
                human.add(open_row.customer_id)
            # The latest started wins, as `open_for` picks it.
            conversations[open_row.identity_id] = records.conversation(open_row)
        facts = []
        for row in rows:
            owned = tuple(identities.get(row.customer_id, ()))
            facts.append(
                TouchFacts(
                    checkin=records.checkin(row),
                    customer=customers.get(row.customer_id),
                    identities=owned,
                    last_channel=last_channel.get(row.customer_id),
                    history=ContactHistory(
                        recent_touches=tuple(recent.get(row.customer_id, ())),
                        run_active=row.customer_id in active,
                        last_answered=answered.get(row.customer_id),
                        handoff_open=row.customer_id in human,
                        last_complaint=complained.get(row.customer_id),
                    ),
                    conversations={
                        i.id: conversations[i.id] for i in owned if i.id in conversations
                    },
                )
            )
        return facts

    async def history(self, customer_id: uuid.UUID, *, since: datetime) -> ContactHistory:
        touches = await self.session.scalars(
            select(CheckinRow.sent_at).where(
                CheckinRow.customer_id == customer_id, CheckinRow.sent_at >= since
            )
        )
        active = await self.session.scalar(
            select(CheckinRow.id)
            .where(
                CheckinRow.customer_id == customer_id,
                CheckinRow.status == CheckinStatus.SENT.value,
            )
            .limit(1)
        )
        answered = await self.session.scalar(
            select(func.max(AnswerRow.answered_at)).where(AnswerRow.customer_id == customer_id)
        )
        human = await self.session.scalar(
            select(ConversationRow.id)
            .where(
                ConversationRow.customer_id == customer_id,
                ConversationRow.is_open.is_(True),
                ConversationRow.mode == ConversationMode.HUMAN.value,
            )
            .limit(1)
        )
        complained = await self.session.scalar(
            select(func.max(EventRow.occurred_at)).where(
                EventRow.customer_id == customer_id, EventRow.kind.in_(COMPLAINTS)
            )
        )
        return ContactHistory(
            recent_touches=tuple(records.utc(t) for t in touches if t is not None),
            run_active=active is not None,
            last_answered=records.utc(answered) if answered else None,
            handoff_open=human is not None,
            last_complaint=records.utc(complained) if complained else None,
        )
