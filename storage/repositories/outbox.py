"""SQLAlchemy repositories: each turns rows into `bot.domain` records and never commits."""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Executable,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.domain import (
    AccountStatus,
    ApiKey,
    Business,
    CannedReply,
    ChannelAccount,
    ChannelName,
    Choice,
    Conversation,
    ConversationMode,
    Customer,
    CustomerFields,
    DeliveryStatus,
    Direction,
    DuplicateDelivery,
    Event,
    Identity,
    Message,
    OutboxItem,
    OutboxKind,
    OutboxSend,
    OutboxStatus,
    SentReceipt,
)
from storage.tables import (
    ApiKeyRow,
    BusinessRow,
    ChannelAccountRow,
    ConversationRow,
    CustomerRow,
    EventRow,
    IdentityRow,
    InboundDeliveryRow,
    MessageRow,
    OutboxRow,
)


def _business(row: BusinessRow) -> Business:
    return Business(
        id=row.id,
        slug=row.slug,
        name=row.name,
        language=row.language,
        timezone=row.timezone,
        sandbox_enabled=row.sandbox_enabled,
        detector_sensitivity=row.detector_sensitivity,
        contact_rules=dict(row.contact_rules or {}),
        opt_out_words=tuple((row.consent_words or {}).get("opt_out", ())),
        opt_in_words=tuple((row.consent_words or {}).get("opt_in", ())),
        handoff_rules=dict(row.handoff_rules or {}),
        canned_replies=tuple(
            CannedReply(title=str(c["title"]), text=str(c["text"]))
            for c in (row.canned_replies or {}).get("replies", ())
        ),
    )


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        business_id=row.business_id,
        key_hash=row.key_hash,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _customer(row: CustomerRow) -> Customer:
    return Customer(
        id=row.id,
        business_id=row.business_id,
        name=row.name,
        phone=row.phone,
        language=row.language,
        timezone=row.timezone,
        attributes=dict(row.attributes or {}),
        opted_out=row.opted_out,
        consent_at=row.consent_at,
        created_at=row.created_at,
        external_id=row.external_id,
    )


def _identity(row: IdentityRow) -> Identity:
    return Identity(
        id=row.id,
        customer_id=row.customer_id,
        channel=ChannelName(row.channel),
        address=row.address,
        reachable=row.reachable,
        last_inbound_at=row.last_inbound_at,
    )


def _conversation(row: ConversationRow) -> Conversation:
    return Conversation(
        id=row.id,
        customer_id=row.customer_id,
        identity_id=row.identity_id,
        mode=ConversationMode(row.mode),
        open=row.is_open,
        started_at=row.started_at,
    )


def _message(row: MessageRow) -> Message:
    return Message(
        id=row.id,
        conversation_id=row.conversation_id,
        customer_id=row.customer_id,
        direction=Direction(row.direction),
        channel=ChannelName(row.channel),
        text=row.text,
        status=DeliveryStatus(row.status),
        created_at=row.created_at,
        choices=tuple(Choice(id=c["id"], label=c["label"]) for c in row.choices or ()),
        channel_message_id=row.channel_message_id,
        reply_to_id=row.reply_to_id,
        frustration=row.frustration,
        frustration_reasons=tuple(row.frustration_reasons or ()),
        edited_text=row.edited_text,
        edited_at=row.edited_at,
    )


def _account(row: ChannelAccountRow) -> ChannelAccount:
    return ChannelAccount(
        id=row.id,
        business_id=row.business_id,
        channel=ChannelName(row.channel),
        status=AccountStatus(row.status),
        credentials={k: str(v) for k, v in (row.credentials or {}).items()},
        settings=dict(row.settings or {}),
        last_error=row.last_error,
        updated_at=row.updated_at,
    )


def _event(row: EventRow) -> Event:
    return Event(
        id=row.id,
        customer_id=row.customer_id,
        kind=row.kind,
        occurred_at=row.occurred_at,
        data=dict(row.data or {}),
    )


def _outbox(row: OutboxRow) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        business_id=row.business_id,
        message_id=row.message_id,
        idempotency_key=row.idempotency_key,
        kind=OutboxKind(row.kind),
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        template_only=row.template_only,
    )


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _added(self, row: Any) -> Any:
        self.session.add(row)
        await self.session.flush()
        return row


class SqlBusinesses(_Repository):
    async def add(
        self,
        slug: str,
        *,
        name: str,
        sandbox_enabled: bool,
        created_at: datetime,
        language: str = "he",
    ) -> Business:
        row = BusinessRow(
            slug=slug,
            name=name,
            sandbox_enabled=sandbox_enabled,
            language=language,
            timezone="Asia/Jerusalem",
            detector_sensitivity="balanced",
            contact_rules={},
            consent_words={},
            handoff_rules={},
            canned_replies={},
            created_at=created_at,
        )
        return _business(await self._added(row))

    async def set_consent_words(
        self, business_id: int, *, opt_out: Sequence[str], opt_in: Sequence[str]
    ) -> None:
        await self.session.execute(
            update(BusinessRow)
            .where(BusinessRow.id == business_id)
            .values(consent_words={"opt_out": list(opt_out), "opt_in": list(opt_in)})
        )

    async def get_by_slug(self, slug: str) -> Business | None:
        row = await self.session.scalar(select(BusinessRow).where(BusinessRow.slug == slug))
        return _business(row) if row else None

    async def get(self, business_id: int) -> Business:
        return _business(await self.session.get_one(BusinessRow, business_id))

    async def add_api_key(self, business_id: int, *, key_hash: str, created_at: datetime) -> ApiKey:
        row = await self._added(
            ApiKeyRow(business_id=business_id, key_hash=key_hash, created_at=created_at)
        )
        return _api_key(row)

    async def api_keys(self, business_id: int) -> Sequence[ApiKey]:
        rows = await self.session.scalars(
            select(ApiKeyRow).where(ApiKeyRow.business_id == business_id).order_by(ApiKeyRow.id)
        )
        return [_api_key(r) for r in rows]

    async def revoke_api_key(self, business_id: int, key_id: int, *, at: datetime) -> ApiKey | None:
        row = await self.session.get(ApiKeyRow, key_id)
        if row is None or row.business_id != business_id:
            return None
        if row.revoked_at is None:
            row.revoked_at = at
            await self.session.flush()
        return _api_key(row)

    async def set_detector_sensitivity(self, business_id: int, sensitivity: str) -> None:
        await self.session.execute(
            update(BusinessRow)
            .where(BusinessRow.id == business_id)
            .values(detector_sensitivity=sensitivity)
        )

    async def find_by_api_key(self, key_hash: str) -> Business | None:
        row = await self.session.scalar(
            select(BusinessRow)
            .join(ApiKeyRow, ApiKeyRow.business_id == BusinessRow.id)
            .where(ApiKeyRow.key_hash == key_hash, ApiKeyRow.revoked_at.is_(None))
        )
        return _business(row) if row else None

    async def set_contact_rules(self, business_id: int, rules: Mapping[str, Any]) -> None:
        await self.session.execute(
            update(BusinessRow)
            .where(BusinessRow.id == business_id)
            .values(contact_rules=dict(rules))
        )

    async def set_handoff_rules(self, business_id: int, rules: Mapping[str, Any]) -> None:
        await self.session.execute(
            update(BusinessRow)
            .where(BusinessRow.id == business_id)
            .values(handoff_rules=dict(rules))
        )

    async def set_canned_replies(self, business_id: int, replies: Sequence[CannedReply]) -> None:
        stored = {"replies": [{"title": r.title, "text": r.text} for r in replies]}
        await self.session.execute(
            update(BusinessRow).where(BusinessRow.id == business_id).values(canned_replies=stored)
        )


class SqlCustomers(_Repository):
    async def add(
        self,
        business_id: int,
        *,
        name: str | None,
        phone: str | None,
        language: str,
        timezone: str,
        attributes: Mapping[str, Any],
        created_at: datetime,
        external_id: str | None = None,
    ) -> Customer:
        row = CustomerRow(
            id=uuid.uuid4(),
            business_id=business_id,
            external_id=external_id,
            name=name,
            phone=phone,
            language=language,
            timezone=timezone,
            attributes=dict(attributes),
            opted_out=False,
            created_at=created_at,
        )
        return _customer(await self._added(row))

    async def get(self, business_id: int, customer_id: uuid.UUID) -> Customer | None:
        row = await self.session.get(CustomerRow, customer_id)
        return _customer(row) if row and row.business_id == business_id else None

    async def find_by_external_id(self, business_id: int, external_id: str) -> Customer | None:
        row = await self.session.scalar(
            select(CustomerRow).where(
                CustomerRow.business_id == business_id, CustomerRow.external_id == external_id
            )
        )
        return _customer(row) if row else None

    async def find_by_phone(self, business_id: int, phone: str) -> Customer | None:
        row = await self.session.scalar(
            select(CustomerRow)
            .where(CustomerRow.business_id == business_id, CustomerRow.phone == phone)
            .order_by(CustomerRow.created_at)
            .limit(1)
        )
        return _customer(row) if row else None

    async def unreachable(self, business_id: int) -> int:
        reachable = select(IdentityRow.id).where(
            IdentityRow.customer_id == CustomerRow.id, IdentityRow.reachable.is_(True)
        )
        count = await self.session.scalar(
            select(func.count())
            .select_from(CustomerRow)
            .where(
                CustomerRow.business_id == business_id,
                CustomerRow.opted_out.is_(False),
                ~reachable.exists(),
            )
        )
        return int(count or 0)

    async def find_refs(
        self, business_id: int, *, external_ids: Sequence[str], phones: Sequence[str]
    ) -> Sequence[Customer]:
        rows = await self.session.scalars(
            select(CustomerRow)
            .where(
                CustomerRow.business_id == business_id,
                or_(CustomerRow.external_id.in_(external_ids), CustomerRow.phone.in_(phones)),
            )
            .order_by(CustomerRow.created_at.desc())
        )
        return [_customer(r) for r in rows]

    async def update(self, customer_id: uuid.UUID, fields: CustomerFields) -> None:
        row = await self.session.get_one(CustomerRow, customer_id)
        for name in ("name", "phone", "language", "timezone", "external_id"):
            value = getattr(fields, name)
            if value is not None:
                setattr(row, name, value)
        if fields.attributes:
            row.attributes = {**(row.attributes or {}), **fields.attributes}
        await self.session.flush()

    async def list(self, business_id: int, *, limit: int, offset: int) -> Sequence[Customer]:
        rows = await self.session.scalars(
            select(CustomerRow)
            .where(CustomerRow.business_id == business_id)
            .order_by(CustomerRow.created_at, CustomerRow.id)
            .limit(limit)
            .offset(offset)
        )
        return [_customer(r) for r in rows]

    async def search(
        self, business_id: int, *, text: str, phone: str | None, limit: int
    ) -> Sequence[Customer]:
        matches = [
            CustomerRow.external_id == text,
            CustomerRow.phone == text,
            func.lower(CustomerRow.name).contains(text.lower(), autoescape=True),
        ]
        if phone is not None:
            matches.append(CustomerRow.phone == phone)
        with contextlib.suppress(ValueError):
            matches.append(CustomerRow.id == uuid.UUID(text))
        rows = await self.session.scalars(
            select(CustomerRow)
            .where(CustomerRow.business_id == business_id, or_(*matches))
            .order_by(CustomerRow.created_at.desc(), CustomerRow.id)
            .limit(limit)
        )
        return [_customer(r) for r in rows]

    async def delete(self, business_id: int, customer_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(CustomerRow).where(
                CustomerRow.business_id == business_id, CustomerRow.id == customer_id
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_name(self, customer_id: uuid.UUID, name: str) -> None:
        await self.session.execute(
            update(CustomerRow).where(CustomerRow.id == customer_id).values(name=name)
        )

    async def set_opted_out(self, customer_id: uuid.UUID, opted_out: bool, *, at: datetime) -> None:
        values: dict[str, Any] = {"opted_out": opted_out, "opted_out_at": at if opted_out else None}
        if not opted_out:
            values["consent_at"] = at
        await self.session.execute(
            update(CustomerRow).where(CustomerRow.id == customer_id).values(**values)
        )

    async def set_link_token(self, customer_id: uuid.UUID, token: str | None) -> None:
        await self.session.execute(
            update(CustomerRow).where(CustomerRow.id == customer_id).values(link_token=token)
        )

    async def find_by_link_token(self, business_id: int, token: str) -> Customer | None:
        row = await self.session.scalar(
            select(CustomerRow).where(
                CustomerRow.business_id == business_id, CustomerRow.link_token == token
            )
        )
        return _customer(row) if row else None

    async def link_token(self, customer_id: uuid.UUID) -> str | None:
        token: str | None = await self.session.scalar(
            select(CustomerRow.link_token).where(CustomerRow.id == customer_id)
        )
        return token


class SqlIdentities(_Repository):
    async def add(
        self,
        business_id: int,
        customer_id: uuid.UUID,
        *,
        channel: ChannelName,
        address: str,
        created_at: datetime,
        last_inbound_at: datetime | None = None,
    ) -> Identity:
        row = IdentityRow(
            business_id=business_id,
            customer_id=customer_id,
            channel=channel.value,
            address=address,
            reachable=True,
            created_at=created_at,
            last_inbound_at=last_inbound_at,
        )
        return _identity(await self._added(row))

    async def add_from_phones(
        self,
        business_id: int,
        channel: ChannelName,
        *,
        prefix: str,
        at: datetime,
        customer_ids: Sequence[uuid.UUID] | None = None,
    ) -> int:
        address = literal(prefix) + CustomerRow.phone
        earlier = aliased(CustomerRow)
        taken = select(IdentityRow.id).where(
            IdentityRow.business_id == business_id,
            IdentityRow.channel == channel.value,
            IdentityRow.address == address,
        )
        # Two customers with one phone: the oldest has it, as a phone lookup finds it.
        older_twin = select(earlier.id).where(
            earlier.business_id == business_id,
            earlier.phone == CustomerRow.phone,
            or_(
                earlier.created_at < CustomerRow.created_at,
                and_(earlier.created_at == CustomerRow.created_at, earlier.id < CustomerRow.id),
            ),
        )
        chosen = select(
            CustomerRow.business_id,
            CustomerRow.id,
            literal(channel.value),
            address,
            literal(True),
            literal(at, type_=IdentityRow.__table__.c.created_at.type),
        ).where(
            CustomerRow.business_id == business_id,
            CustomerRow.phone.is_not(None),
            ~taken.exists(),
            ~older_twin.exists(),
        )
        if customer_ids is not None:
            chosen = chosen.where(CustomerRow.id.in_(customer_ids))
        result = await self.session.execute(
            insert(IdentityRow).from_select(
                ["business_id", "customer_id", "channel", "address", "reachable", "created_at"],
                chosen,
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def find(self, business_id: int, channel: ChannelName, address: str) -> Identity | None:
        row = await self.session.scalar(
            select(IdentityRow).where(
                IdentityRow.business_id == business_id,
                IdentityRow.channel == channel.value,
                IdentityRow.address == address,
            )
        )
        return _identity(row) if row else None

    async def find_with_customer(
        self, business_id: int, channel: ChannelName, address: str
    ) -> tuple[Identity, Customer] | None:
        found = (
            await self.session.execute(
                select(IdentityRow, CustomerRow)
                .join(
                    CustomerRow,
                    and_(
                        CustomerRow.id == IdentityRow.customer_id,
                        CustomerRow.business_id == IdentityRow.business_id,
                    ),
                )
                .where(
                    IdentityRow.business_id == business_id,
                    IdentityRow.channel == channel.value,
                    IdentityRow.address == address,
                )
            )
        ).first()
        return (_identity(found[0]), _customer(found[1])) if found else None

    async def get(self, identity_id: int) -> Identity:
        return _identity(await self.session.get_one(IdentityRow, identity_id))

    async def touch_inbound(self, identity_id: int, *, at: datetime) -> None:
        await self.session.execute(
            update(IdentityRow)
            .where(
                IdentityRow.id == identity_id,
                or_(IdentityRow.last_inbound_at.is_(None), IdentityRow.last_inbound_at < at),
            )
            .values(last_inbound_at=at)
            .execution_options(synchronize_session=False)
        )

    async def for_customer(self, customer_id: uuid.UUID) -> Sequence[Identity]:
        rows = await self.session.scalars(
            select(IdentityRow)
            .where(IdentityRow.customer_id == customer_id)
            .order_by(IdentityRow.id)
        )
        return [_identity(r) for r in rows]

    async def set_reachable(self, identity_id: int, reachable: bool) -> None:
        await self.session.execute(
            update(IdentityRow).where(IdentityRow.id == identity_id).values(reachable=reachable)
        )

    async def move(self, identity_id: int, customer_id: uuid.UUID) -> None:
        await self.session.execute(
            update(IdentityRow).where(IdentityRow.id == identity_id).values(customer_id=customer_id)
        )


class SqlChannelAccounts(_Repository):
    async def get(self, business_id: int, channel: ChannelName) -> ChannelAccount | None:
        row = await self._row(business_id, channel)
        return _account(row) if row else None

    async def by_slug(
        self, slug: str, channel: ChannelName
    ) -> tuple[Business, ChannelAccount | None] | None:
        found = (
            await self.session.execute(
                select(BusinessRow, ChannelAccountRow)
                .outerjoin(
                    ChannelAccountRow,
                    and_(
                        ChannelAccountRow.business_id == BusinessRow.id,
                        ChannelAccountRow.channel == channel.value,
                    ),
                )
                .where(BusinessRow.slug == slug)
            )
        ).first()
        if found is None:
            return None
        business, account = found
        return _business(business), (_account(account) if account is not None else None)

    async def _row(self, business_id: int, channel: ChannelName) -> ChannelAccountRow | None:
        return await self.session.scalar(
            select(ChannelAccountRow).where(
                ChannelAccountRow.business_id == business_id,
                ChannelAccountRow.channel == channel.value,
            )
        )

    async def save(
        self,
        business_id: int,
        channel: ChannelName,
        *,
        status: AccountStatus,
        credentials: Mapping[str, str],
        settings: Mapping[str, Any],
        last_error: str | None,
        at: datetime,
    ) -> ChannelAccount:
        row = await self._row(business_id, channel)
        if row is None:
            row = ChannelAccountRow(business_id=business_id, channel=channel.value, created_at=at)
            self.session.add(row)
        row.status = status.value
        row.credentials = dict(credentials)
        row.settings = dict(settings)
        row.last_error = last_error
        row.updated_at = at
        await self.session.flush()
        return _account(row)


class SqlConversations(_Repository):
    async def add(
        self, business_id: int, *, customer_id: uuid.UUID, identity_id: int, started_at: datetime
    ) -> Conversation:
        row = ConversationRow(
            id=uuid.uuid4(),
            business_id=business_id,
            customer_id=customer_id,
            identity_id=identity_id,
            mode=ConversationMode.BOT.value,
            is_open=True,
            started_at=started_at,
            last_message_at=started_at,
        )
        return _conversation(await self._added(row))

    async def open_for(self, identity_id: int) -> Conversation | None:
        row = await self.session.scalar(
            select(ConversationRow)
            .where(ConversationRow.identity_id == identity_id, ConversationRow.is_open.is_(True))
            .order_by(ConversationRow.started_at.desc())
            .limit(1)
        )
        return _conversation(row) if row else None

    async def get(self, conversation_id: uuid.UUID) -> Conversation:
        return _conversation(await self.session.get_one(ConversationRow, conversation_id))

    async def touch(self, conversation_id: uuid.UUID, *, at: datetime) -> None:
        await self.session.execute(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(last_message_at=at)
        )

    async def set_mode(self, conversation_id: uuid.UUID, mode: ConversationMode) -> None:
        await self.session.execute(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(mode=mode.value)
        )

    async def close(self, conversation_id: uuid.UUID, *, at: datetime) -> None:
        await self.session.execute(
            update(ConversationRow)
            .where(ConversationRow.id == conversation_id)
            .values(is_open=False, closed_at=at)
        )


class SqlMessages(_Repository):
    async def add(
        self,
        business_id: int,
        *,
        conversation: Conversation,
        direction: Direction,
        channel: ChannelName,
        text: str,
        status: DeliveryStatus,
        created_at: datetime,
        choices: Sequence[Choice] = (),
        channel_message_id: str | None = None,
        reply_to_id: int | None = None,
        frustration: float | None = None,
        frustration_reasons: Sequence[str] = (),
    ) -> Message:
        row = MessageRow(
            business_id=business_id,
            conversation_id=conversation.id,
            customer_id=conversation.customer_id,
            direction=direction.value,
            channel=channel.value,
            text=text,
            choices=[{"id": c.id, "label": c.label} for c in choices],
            status=status.value,
            channel_message_id=channel_message_id,
            reply_to_id=reply_to_id,
            created_at=created_at,
            status_at=created_at,
            frustration=frustration,
            frustration_reasons=list(frustration_reasons) if frustration is not None else None,
        )
        return _message(await self._added(row))

    async def get(self, message_id: int) -> Message:
        return _message(await self.session.get_one(MessageRow, message_id))

    async def find_inbound(self, identity_id: int, channel_message_id: str) -> Message | None:
        row = await self.session.scalar(
            select(MessageRow)
            .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
            .where(
                ConversationRow.identity_id == identity_id,
                MessageRow.direction == Direction.IN.value,
                MessageRow.channel_message_id == channel_message_id,
            )
            .order_by(MessageRow.id.desc())
            .limit(1)
        )
        return _message(row) if row else None

    async def find_sent(
        self, business_id: int, channel: ChannelName, channel_message_id: str
    ) -> Message | None:
        row = await self.session.scalar(
            select(MessageRow).where(
                MessageRow.business_id == business_id,
                MessageRow.channel == channel.value,
                MessageRow.direction == Direction.OUT.value,
                MessageRow.channel_message_id == channel_message_id,
            )
        )
        return _message(row) if row else None

    async def record_edit(self, message_id: int, *, text: str, at: datetime) -> None:
        await self.session.execute(
            update(MessageRow)
            .where(MessageRow.id == message_id)
            .values(edited_text=text, edited_at=at)
        )

    async def replies_to(self, message_id: int) -> Sequence[Message]:
        rows = await self.session.scalars(
            select(MessageRow).where(MessageRow.reply_to_id == message_id).order_by(MessageRow.id)
        )
        return [_message(r) for r in rows]

    async def from_customer(
        self, conversation_id: uuid.UUID, *, since: datetime, before_id: int | None, limit: int
    ) -> Sequence[Message]:
        query = select(MessageRow).where(
            MessageRow.conversation_id == conversation_id,
            MessageRow.direction == Direction.IN.value,
            MessageRow.created_at >= since,
        )
        if before_id is not None:
            query = query.where(MessageRow.id < before_id)
        rows = await self.session.scalars(query.order_by(MessageRow.id.desc()).limit(limit))
        return [_message(r) for r in reversed(rows.all())]

    async def set_frustration(self, message_id: int, score: float, reasons: Sequence[str]) -> None:
        await self.session.execute(
            update(MessageRow)
            .where(MessageRow.id == message_id)
            .values(frustration=score, frustration_reasons=list(reasons))
        )

    async def for_customer(self, customer_id: uuid.UUID, *, limit: int) -> Sequence[Message]:
        rows = await self.session.scalars(
            select(MessageRow)
            .where(MessageRow.customer_id == customer_id)
            .order_by(MessageRow.id.desc())
            .limit(limit)
        )
        return [_message(r) for r in reversed(rows.all())]

    async def page(self, business_id: int, *, after_id: int, limit: int) -> Sequence[Message]:
        rows = await self.session.scalars(
            select(MessageRow)
            .where(MessageRow.business_id == business_id, MessageRow.id > after_id)
            .order_by(MessageRow.id)
            .limit(limit)
        )
        return [_message(r) for r in rows]

    async def sent_to(self, identity_id: int, *, limit: int) -> Sequence[Message]:
        left = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ)
        rows = await self.session.scalars(
            select(MessageRow)
            .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
            .where(
                ConversationRow.identity_id == identity_id,
                MessageRow.direction == Direction.OUT.value,
                MessageRow.status.in_([s.value for s in left]),
            )
            .order_by(MessageRow.id.desc())
            .limit(limit)
        )
        return [_message(r) for r in reversed(rows.all())]

    async def set_status(
        self,
        message_id: int,
        status: DeliveryStatus,
        *,
        at: datetime,
        channel_message_id: str | None = None,
        only_from: Collection[DeliveryStatus] | None = None,
    ) -> bool:
        values: dict[str, Any] = {"status": status.value, "status_at": at}
        if channel_message_id is not None:
            values["channel_message_id"] = channel_message_id
        changing = update(MessageRow).where(MessageRow.id == message_id)
        if only_from is not None:
            changing = changing.where(MessageRow.status.in_([s.value for s in only_from]))
        result = await self.session.execute(changing.values(**values))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_sent(self, receipts: Mapping[int, SentReceipt], *, at: datetime) -> None:
        if not receipts:
            return
        # An ORM bulk UPDATE by primary key: one executemany for the lot.
        await self.session.execute(
            update(MessageRow),
            [
                {
                    "id": message_id,
                    "status": receipt.status.value,
                    "status_at": at,
                    "channel_message_id": receipt.channel_message_id,
                }
                for message_id, receipt in receipts.items()
            ],
        )


_EVENTS = cast(Table, EventRow.__table__)
_EVENT_INSERT = insert(_EVENTS).returning(_EVENTS.c.id)
_DELIVERY_INSERT = insert(cast(Table, InboundDeliveryRow.__table__))


class SqlEvents(_Repository):
    async def add(
        self,
        business_id: int,
        customer_id: uuid.UUID,
        *,
        kind: str,
        occurred_at: datetime,
        data: Mapping[str, Any] | None = None,
    ) -> Event:
        # A plain INSERT: an event is only ever appended, so the ORM's flush has nothing to do.
        stored = dict(data or {})
        event_id = await self.session.scalar(
            _EVENT_INSERT,
            {
                "business_id": business_id,
                "customer_id": customer_id,
                "kind": kind,
                "occurred_at": occurred_at,
                "data": stored,
            },
        )
        assert event_id is not None
        return Event(
            id=event_id, customer_id=customer_id, kind=kind, occurred_at=occurred_at, data=stored
        )

    async def for_customer(self, customer_id: uuid.UUID, *, limit: int) -> Sequence[Event]:
        rows = await self.session.scalars(
            select(EventRow)
            .where(EventRow.customer_id == customer_id)
            .order_by(EventRow.occurred_at.desc(), EventRow.id.desc())
            .limit(limit)
        )
        return [_event(r) for r in reversed(rows.all())]


class SqlDeliveries(_Repository):
    async def add(
        self,
        business_id: int,
        *,
        channel: ChannelName,
        delivery_id: str,
        message_id: int | None,
        received_at: datetime,
    ) -> None:
        values = {
            "business_id": business_id,
            "channel": channel.value,
            "delivery_id": delivery_id,
            "message_id": message_id,
            "received_at": received_at,
        }
        try:
            await self.session.execute(_DELIVERY_INSERT, values)
        except IntegrityError as error:
            raise DuplicateDelivery(
                f"{channel.value} delivery {delivery_id} already stored"
            ) from error

    async def find(self, business_id: int, channel: ChannelName, delivery_id: str) -> int | None:
        row = await self.session.execute(
            select(InboundDeliveryRow.message_id).where(
                InboundDeliveryRow.business_id == business_id,
                InboundDeliveryRow.channel == channel.value,
                InboundDeliveryRow.delivery_id == delivery_id,
            )
        )
        found = row.first()
        if found is None:
            return None
        return found[0] or 0


class SqlOutbox(_Repository):
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
        return _outbox(await self._added(row))

    async def by_key(self, idempotency_key: str) -> OutboxItem | None:
        row = (
            await self.session.execute(
                select(OutboxRow).where(OutboxRow.idempotency_key == idempotency_key)
            )
        ).scalar_one_or_none()
        return _outbox(row) if row is not None else None

    async def get(self, item_id: int) -> OutboxItem:
        return _outbox(await self.session.get_one(OutboxRow, item_id))

    async def claim(self, item_id: int, *, now: datetime) -> bool:
        result = await self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.id == item_id,
                OutboxRow.status == OutboxStatus.PENDING.value,
                OutboxRow.next_attempt_at <= now,
            )
            .values(
                status=OutboxStatus.SENDING.value, claimed_at=now, attempts=OutboxRow.attempts + 1
            )
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
            .values(
                status=OutboxStatus.SENDING.value, claimed_at=now, attempts=OutboxRow.attempts + 1
            )
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
            .values(status=status.value, last_error=None)
            .execution_options(synchronize_session=False)
        )

    async def unclaim(self, item_ids: Sequence[int]) -> None:
        if not item_ids:
            return
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id.in_(list(item_ids)), OutboxRow.status == OutboxStatus.SENDING.value)
            .values(
                status=OutboxStatus.PENDING.value, claimed_at=None, attempts=OutboxRow.attempts - 1
            )
            .execution_options(synchronize_session=False)
        )

    async def finish(self, item_id: int, status: OutboxStatus, *, error: str | None = None) -> None:
        await self.session.execute(
            update(OutboxRow)
            .where(OutboxRow.id == item_id)
            .values(status=status.value, last_error=error)
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
                attempts=OutboxRow.attempts - 1,
            )
            .execution_options(synchronize_session=False)
        )

    async def for_message(self, message_id: int) -> OutboxItem | None:
        row = await self.session.scalar(
            select(OutboxRow).where(OutboxRow.message_id == message_id).limit(1)
        )
        return _outbox(row) if row else None

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
        return _outbox_send(found.one())

    async def sending_many(self, item_ids: Sequence[int], *, now: datetime) -> Sequence[OutboxSend]:
        if not item_ids:
            return []
        found = await self.session.execute(
            _sending(many=True), {"item_ids": list(item_ids), "now": now}
        )
        return [_outbox_send(row) for row in found]


def _outbox_send(found: Any) -> OutboxSend:
    item, message, identity, business, customer, account, waits = found
    return OutboxSend(
        item=_outbox(item),
        message=_message(message),
        identity=_identity(identity),
        business=_business(business),
        customer=_customer(customer) if customer is not None else None,
        account=_account(account) if account is not None else None,
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
