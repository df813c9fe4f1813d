"""The closed sets of values records carry: channels, directions, statuses, event kinds, roles."""

from __future__ import annotations

from enum import StrEnum

from flows.inbox import Status

# A conversation's place in the team's queue (the moves are flows.inbox's).
ConversationStatus = Status


class ChannelName(StrEnum):
    SANDBOX = "sandbox"
    TELEGRAM = "telegram"
    WHATSAPP = "whatsapp"


# A WhatsApp identity's address is its number behind this prefix, as Twilio writes it.
WHATSAPP_PREFIX = "whatsapp:"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class DeliveryStatus(StrEnum):
    """Delivery states of one message; a later state never moves back to an earlier one."""

    RECEIVED = "received"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    SKIPPED = "skipped"
    # Outside WhatsApp's 24-hour window with no approved template: held, never sent to fail.
    NEEDS_TEMPLATE = "needs_template"


class ConversationMode(StrEnum):
    BOT = "bot"
    HUMAN = "human"


class InboundKind(StrEnum):
    """What a customer did on a channel; only messages, commands and buttons get replies."""

    MESSAGE = "message"
    EDIT = "edit"
    BUTTON = "button"
    BLOCKED = "blocked"
    UNBLOCKED = "unblocked"
    COMMAND = "command"


class AccountStatus(StrEnum):
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    NEEDS_TEMPLATE = "needs_template"


class CheckinStatus(StrEnum):
    """Where one planned touch is: waiting, taken by the dispatcher, asked, and how it ended."""

    PLANNED = "planned"
    CLAIMED = "claimed"
    SENT = "sent"
    ANSWERED = "answered"
    EXPIRED = "expired"
    SKIPPED = "skipped"


class OutboxKind(StrEnum):
    """Why a message goes out; only consent notices may reach an opted-out customer.

    The proactive kinds (check-in to handoff notice) are the ones a business approves a
    WhatsApp template for, to reach a customer outside the 24-hour window.
    """

    REPLY = "reply"
    CONSENT = "consent"
    CHECKIN = "checkin"
    NPS = "nps"
    CSAT = "csat"
    FOLLOW_UP = "follow_up"
    HANDOFF_NOTICE = "handoff_notice"


class EventKind(StrEnum):
    """What Kesher itself writes on a customer's timeline; a business's own events (posted
    through the API) have names of their own and may not pose as one of these."""

    CUSTOMER_CREATED = "customer_created"
    IDENTITY_LINKED = "identity_linked"
    CHANNEL_BLOCKED = "channel_blocked"
    CHANNEL_UNBLOCKED = "channel_unblocked"
    MESSAGE_EDITED = "message_edited"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    FEEDBACK_RECEIVED = "feedback_received"
    FRUSTRATION_DETECTED = "frustration_detected"
    SURVEY_ANSWERED = "survey_answered"
    NOT_UNDERSTOOD = "not_understood"
    CHECKIN_SENT = "checkin_sent"
    CHECKIN_EXPIRED = "checkin_expired"
    DELIVERY_FAILED = "delivery_failed"
    HANDOFF_REQUESTED = "handoff_requested"
    HANDOFF_ASSIGNED = "handoff_assigned"
    AGENT_REPLIED = "agent_replied"
    NOTE = "note"
    HANDOFF_RESOLVED = "handoff_resolved"
    HANDOFF_OVERDUE = "handoff_overdue"
    ANSWERED_FROM_KNOWLEDGE = "answered_from_knowledge"
    CUSTOMER_MERGED = "customer_merged"
    # A conversation's place in the team's queue changed (bot.conversations.timeline).
    CONVERSATION_OPENED = "conversation_opened"
    CONVERSATION_PENDING = "conversation_pending"
    CONVERSATION_SNOOZED = "conversation_snoozed"
    CONVERSATION_WOKEN = "conversation_woken"
    CONVERSATION_RESOLVED = "conversation_resolved"
    CONVERSATION_REOPENED = "conversation_reopened"
    CONVERSATION_ASSIGNED = "conversation_assigned"
    CONVERSATION_LABELLED = "conversation_labelled"


class AgentRole(StrEnum):
    AGENT = "agent"
    ADMIN = "admin"
