"""The customer record as SQLAlchemy 2.0 tables; every row is scoped to one business."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.columns import BigId, Json, UtcDateTime, trigram_index


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: Json}  # noqa: RUF012


class BusinessRow(Base):
    __tablename__ = "businesses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8), default="he")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Jerusalem")
    sandbox_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    detector_sensitivity: Mapped[str] = mapped_column(String(16), default="balanced")
    contact_rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    handoff_rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    canned_replies: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The business's own words on top of the standard ones: {"opt_out": [...], "opt_in": [...]}.
    consent_words: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opening_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class CustomerRow(Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_business_created", "business_id", "created_at"),
        Index("ix_customers_business_phone", "business_id", "phone"),
        trigram_index("ix_customers_name_trgm", "name"),
        UniqueConstraint("business_id", "external_id", name="uq_customer_external_id"),
        UniqueConstraint("link_token_hash", name="uq_customer_link_token_hash"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(128))
    # A deep link's token is kept only as its SHA-256, until it is used or expires.
    link_token_hash: Mapped[str | None] = mapped_column(String(64))
    link_expires_at: Mapped[datetime | None]
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None]
    consent_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class IdentityRow(Base):
    __tablename__ = "channel_identities"
    __table_args__ = (
        UniqueConstraint("business_id", "channel", "address", name="uq_identity_address"),
        trigram_index("ix_channel_identities_address_trgm", "address"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(255))
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_inbound_at: Mapped[datetime | None]


class ChannelAccountRow(Base):
    __tablename__ = "channel_accounts"
    __table_args__ = (UniqueConstraint("business_id", "channel", name="uq_channel_account"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    credentials: Mapped[dict[str, Any]] = mapped_column(default=dict)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ConversationRow(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_identity_open", "identity_id", "is_open"),
        # The inbox lists a status's conversations by their last message, newest first.
        Index("ix_conversations_queue", "business_id", "status", "last_message_at"),
        # A new conversation's place in the queue counts those that waited longer.
        Index("ix_conversations_waiting", "business_id", "status", "status_at"),
        Index("ix_conversations_snoozed", "status", "snoozed_until"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    identity_id: Mapped[int] = mapped_column(
        ForeignKey("channel_identities.id", ondelete="CASCADE")
    )
    mode: Mapped[str] = mapped_column(String(8), default="bot")
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    started_at: Mapped[datetime]
    last_message_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # Its place in the team's queue (flows.inbox): None while no person is needed.
    status: Mapped[str | None] = mapped_column(String(16))
    status_at: Mapped[datetime | None]
    auto_answered: Mapped[bool] = mapped_column(Boolean, default=False)
    snoozed_until: Mapped[datetime | None]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    # ",vip,refund,": a label is matched with its commas, so "vip" never matches "vip2".
    labels: Mapped[str] = mapped_column(String(400), default="")
    unread: Mapped[int] = mapped_column(Integer, default=0)


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_customer", "customer_id", "id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        trigram_index("ix_messages_text_trgm", "text"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[dict[str, str]]] = mapped_column(Json, default=list)
    status: Mapped[str] = mapped_column(String(16))
    channel_message_id: Mapped[str | None] = mapped_column(String(128))
    reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    frustration: Mapped[float | None] = mapped_column(Float)
    frustration_reasons: Mapped[list[str] | None] = mapped_column(Json)
    edited_text: Mapped[str | None] = mapped_column(Text)
    edited_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    status_at: Mapped[datetime]


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_customer", "customer_id", "occurred_at"),
        # The inbox's live marker (the business's latest event) and the agents' weekly figures.
        Index("ix_events_business", "business_id", "id"),
        Index("ix_events_business_kind", "business_id", "kind", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class InboundDeliveryRow(Base):
    __tablename__ = "inbound_deliveries"
    __table_args__ = (
        UniqueConstraint("business_id", "channel", "delivery_id", name="uq_inbound_delivery"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    delivery_id: Mapped[str] = mapped_column(String(128))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    received_at: Mapped[datetime]


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_message", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Send only as an approved template (Twilio said 63016: the window had closed).
    template_only: Mapped[bool] = mapped_column(Boolean, default=False)
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    # When an unfinished send was first handed to the provider: set by the claim, kept while
    # the row is retried, cleared when it is finished. Claimed again with this before the
    # claim, an earlier worker may have sent it: the provider is asked first.
    sending_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class ScheduleRow(Base):
    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("business_id", "name", name="uq_schedule_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    flow: Mapped[str] = mapped_column(String(80))
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime]
    planned_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CustomFlowRow(Base):
    __tablename__ = "custom_flows"
    __table_args__ = (UniqueConstraint("business_id", "name", name="uq_custom_flow_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CheckinRow(Base):
    """One planned touch; `key` names the occurrence, so planning it twice plans it once."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("business_id", "key", name="uq_checkin_key"),
        Index("ix_checkins_wake", "status", "wake_at"),
        Index("ix_checkins_customer", "customer_id", "status"),
        Index("ix_checkins_schedule_customer", "schedule_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id", ondelete="SET NULL"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    flow: Mapped[str] = mapped_column(String(80))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime]
    send_at: Mapped[datetime]
    channel: Mapped[str | None] = mapped_column(String(16))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    run: Mapped[dict[str, Any] | None] = mapped_column(Json)
    wake_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# In the order the tick claims due touches, so a claim reads its batch off the index and stops,
# however many are due (a campaign makes every touch due at once).
Index(
    "ix_checkins_due",
    CheckinRow.status,
    CheckinRow.send_at,
    CheckinRow.priority.desc(),
    CheckinRow.id,
)


class AnswerRow(Base):
    __tablename__ = "survey_answers"
    __table_args__ = (
        Index("ix_survey_answers_business", "business_id", "score_kind", "answered_at"),
        Index("ix_survey_answers_customer", "customer_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkins.id", ondelete="SET NULL"))
    flow: Mapped[str] = mapped_column(String(80))
    question: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    score: Mapped[int | None] = mapped_column(Integer)
    score_kind: Mapped[str | None] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime]


class AgentRow(Base):
    __tablename__ = "agents"
    __table_args__ = (
        # Unique within the business only: another business may use the same address, and
        # learns nothing of it.
        UniqueConstraint("business_id", "email", name="uq_agents_business_email"),
        UniqueConstraint("telegram_link_hash", name="uq_agents_telegram_link"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_id: Mapped[int] = mapped_column(
        ForeignKey("businesses.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    password_hash: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    telegram_chat: Mapped[str | None] = mapped_column(String(64))
    # The SHA-256 of the one-time /start link that joins the agent's Telegram chat, and its end.
    telegram_link_hash: Mapped[str | None] = mapped_column(String(64))
    telegram_link_expires_at: Mapped[datetime | None]
    # Which alerts reach the agent by which media, and when (`flows.staff_alerts`); None: defaults.
    alerts: Mapped[dict[str, Any] | None] = mapped_column(Json)
    last_seen_at: Mapped[datetime | None]
    # A disabled agent cannot sign in; a deleted one is kept only for the name on their history.
    disabled_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class AgentSessionRow(Base):
    __tablename__ = "agent_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class SignInAttemptRow(Base):
    """Failed sign-ins in a row for one login (business and e-mail, whether or not such an
    agent exists), counted before each password is checked."""

    __tablename__ = "sign_in_attempts"

    # SHA-256 of the business's slug and the e-mail: typed addresses are not kept.
    login_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None]
    last_at: Mapped[datetime] = mapped_column(index=True)


class HandoffRow(Base):
    __tablename__ = "handoffs"
    __table_args__ = (
        Index("ix_handoffs_business_open", "business_id", "is_open", "requested_at"),
        # Agent performance reads a business's first answers and resolutions by week.
        Index("ix_handoffs_business_first_reply", "business_id", "first_reply_at"),
        Index("ix_handoffs_business_resolved", "business_id", "resolved_at"),
        # One open handoff per conversation, whatever asks for it and however often.
        Index(
            "uq_handoffs_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("is_open"),
            postgresql_where=text("is_open"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    state: Mapped[str] = mapped_column(String(16))
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    trigger: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime]
    assigned_at: Mapped[datetime | None]
    first_reply_at: Mapped[datetime | None]
    sla_due_at: Mapped[datetime]
    sla_noticed_at: Mapped[datetime | None]
    # When the agents were told (Telegram alerts, the summary written); the tick retries until set.
    announced_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class AuditRow(Base):
    """Who did what to whose record: exports and permanent deletes (privacy requests)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_business_at", "business_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(80))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class KnowledgeEntryRow(Base):
    """A fact or a question with its answer, in Hebrew and/or English, with its texts' vectors."""

    __tablename__ = "knowledge_entries"
    __table_args__ = (Index("ix_knowledge_entries_business", "business_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    question_he: Mapped[str] = mapped_column(Text, default="")
    answer_he: Mapped[str] = mapped_column(Text, default="")
    question_en: Mapped[str] = mapped_column(Text, default="")
    answer_en: Mapped[str] = mapped_column(Text, default="")
    # {"vectors": [[...], ...]}: one per language's passage, as the encoder gave them.
    vectors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class KnowledgeQuestionRow(Base):
    """A customer's message put to the knowledge base, and what became of it."""

    __tablename__ = "knowledge_questions"
    __table_args__ = (
        Index("ix_knowledge_questions_business", "business_id", "status", "asked_at"),
        Index("ix_knowledge_questions_customer", "customer_id", "asked_at"),
        Index("ix_knowledge_questions_pending", "status", "asked_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    business_id: Mapped[int] = mapped_column(ForeignKey("businesses.id", ondelete="CASCADE"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    first: Mapped[bool] = mapped_column(Boolean, default=False)
    # {"ids": [...]}: the entries the answer used.
    entries: Mapped[dict[str, Any]] = mapped_column(default=dict)
    score: Mapped[float | None] = mapped_column(Float)
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    unhelpful: Mapped[bool] = mapped_column(Boolean, default=False)
    # Taken off the candidates (an entry was made of it, or it needs none).
    dismissed: Mapped[bool] = mapped_column(Boolean, default=False)
    asked_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]
