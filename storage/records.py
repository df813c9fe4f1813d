"""Rows into `bot.domain` records: the one home of the conversions the repositories share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from bot.domain import (
    AccountStatus,
    Agent,
    AgentRole,
    Answer,
    ApiKey,
    AuditEntry,
    Business,
    CannedReply,
    ChannelAccount,
    ChannelName,
    Checkin,
    CheckinStatus,
    Choice,
    Conversation,
    ConversationMode,
    ConversationStatus,
    Customer,
    DeliveryStatus,
    Direction,
    Event,
    Handoff,
    Identity,
    KnowledgeEntry,
    KnowledgeQuestion,
    Message,
    OutboxItem,
    OutboxKind,
    OutboxStatus,
    QuestionStatus,
    ScheduleRecord,
)
from storage.tables import (
    AgentRow,
    AnswerRow,
    ApiKeyRow,
    AuditRow,
    BusinessRow,
    ChannelAccountRow,
    CheckinRow,
    ConversationRow,
    CustomerRow,
    EventRow,
    HandoffRow,
    IdentityRow,
    KnowledgeEntryRow,
    KnowledgeQuestionRow,
    MessageRow,
    OutboxRow,
    ScheduleRow,
)


def business(row: BusinessRow) -> Business:
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
        opening_hours=dict(row.opening_hours or {}),
    )


def api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        business_id=row.business_id,
        key_hash=row.key_hash,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def customer(row: CustomerRow) -> Customer:
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
        opted_out_at=row.opted_out_at,
    )


def identity(row: IdentityRow) -> Identity:
    return Identity(
        id=row.id,
        customer_id=row.customer_id,
        channel=ChannelName(row.channel),
        address=row.address,
        reachable=row.reachable,
        last_inbound_at=row.last_inbound_at,
    )


def conversation(row: ConversationRow) -> Conversation:
    return Conversation(
        id=row.id,
        customer_id=row.customer_id,
        identity_id=row.identity_id,
        mode=ConversationMode(row.mode),
        open=row.is_open,
        started_at=row.started_at,
        status=ConversationStatus(row.status) if row.status else None,
        status_at=row.status_at,
        auto_answered=row.auto_answered,
        snoozed_until=row.snoozed_until,
        assignee_id=row.assignee_id,
        labels=labels_of(row.labels),
        unread=row.unread,
        last_message_at=row.last_message_at,
    )


def labels_of(stored: str | None) -> tuple[str, ...]:
    """',vip,refund,' as stored, as ('vip', 'refund')."""
    return tuple(label for label in (stored or "").split(",") if label)


def stored_labels(labels: Sequence[str]) -> str:
    """The labels as kept: each between commas, so a match with its commas is exact."""
    return f",{','.join(labels)}," if labels else ""


def message(row: MessageRow) -> Message:
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


def channel_account(row: ChannelAccountRow, credentials: Mapping[str, str]) -> ChannelAccount:
    """The account with its credentials as opened (storage.credentials)."""
    return ChannelAccount(
        id=row.id,
        business_id=row.business_id,
        channel=ChannelName(row.channel),
        status=AccountStatus(row.status),
        credentials=dict(credentials),
        settings=dict(row.settings or {}),
        last_error=row.last_error,
        updated_at=row.updated_at,
    )


def event(row: EventRow) -> Event:
    return Event(
        id=row.id,
        customer_id=row.customer_id,
        kind=row.kind,
        occurred_at=row.occurred_at,
        data=dict(row.data or {}),
    )


def outbox_item(row: OutboxRow) -> OutboxItem:
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
        claimed_at=row.claimed_at,
        sending_since=row.sending_since,
    )


def schedule(row: ScheduleRow) -> ScheduleRecord:
    return ScheduleRecord(
        id=row.id,
        business_id=row.business_id,
        name=row.name,
        flow=row.flow,
        definition=dict(row.definition),
        active=row.active,
        priority=row.priority,
        starts_at=row.starts_at,
        planned_at=row.planned_at,
    )


def checkin(row: CheckinRow) -> Checkin:
    return Checkin(
        id=row.id,
        business_id=row.business_id,
        schedule_id=row.schedule_id,
        customer_id=row.customer_id,
        key=row.key,
        flow=row.flow,
        priority=row.priority,
        status=CheckinStatus(row.status),
        due_at=row.due_at,
        send_at=row.send_at,
        reason=row.reason,
        channel=ChannelName(row.channel) if row.channel else None,
        conversation_id=row.conversation_id,
        run=dict(row.run) if row.run is not None else None,
        wake_at=row.wake_at,
        sent_at=row.sent_at,
        finished_at=row.finished_at,
    )


def answer(r: AnswerRow) -> Answer:
    return Answer(
        customer_id=r.customer_id,
        flow=r.flow,
        question=r.question,
        value=r.value,
        answered_at=r.answered_at,
        checkin_id=r.checkin_id,
        score=r.score,
        score_kind=r.score_kind,
        label=r.label,
    )


def agent(row: AgentRow) -> Agent:
    return Agent(
        id=row.id,
        business_id=row.business_id,
        email=row.email,
        name=row.name,
        role=AgentRole(row.role),
        language=row.language,
        capacity=row.capacity,
        online=row.online,
        telegram_chat=row.telegram_chat,
        alerts=row.alerts or {},
        disabled_at=row.disabled_at,
    )


def handoff(row: HandoffRow) -> Handoff:
    return Handoff(
        id=row.id,
        business_id=row.business_id,
        customer_id=row.customer_id,
        conversation_id=row.conversation_id,
        state=row.state,
        trigger=row.trigger,
        reason=row.reason,
        requested_at=row.requested_at,
        sla_due_at=row.sla_due_at,
        agent_id=row.agent_id,
        assigned_at=row.assigned_at,
        first_reply_at=row.first_reply_at,
        sla_noticed_at=row.sla_noticed_at,
        resolved_at=row.resolved_at,
        announced_at=row.announced_at,
        details=dict(row.details or {}),
    )


def audit_entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        details=dict(row.details or {}),
    )


def knowledge_entry(row: KnowledgeEntryRow) -> KnowledgeEntry:
    return KnowledgeEntry(
        id=row.id,
        business_id=row.business_id,
        kind=row.kind,
        question_he=row.question_he,
        answer_he=row.answer_he,
        question_en=row.question_en,
        answer_en=row.answer_en,
        created_at=row.created_at,
        updated_at=row.updated_at,
        vectors=tuple(tuple(v) for v in (row.vectors or {}).get("vectors", [])),
    )


def knowledge_question(row: KnowledgeQuestionRow) -> KnowledgeQuestion:
    return KnowledgeQuestion(
        id=row.id,
        business_id=row.business_id,
        customer_id=row.customer_id,
        message_id=row.message_id,
        text=row.text,
        status=QuestionStatus(row.status),
        first=row.first,
        asked_at=row.asked_at,
        entries=tuple((row.entries or {}).get("ids", [])),
        score=row.score,
        reply_id=row.reply_id,
        unhelpful=row.unhelpful,
        settled_at=row.settled_at,
    )


def utc(moment: datetime) -> datetime:
    """Aggregates bypass the column type; SQLite hands them back as naive UTC strings."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
