"""Where Twilio says an outbound message has got to: its message statuses as Kesher's, and the
status callback as a StatusUpdate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.domain import DeliveryStatus

# Twilio's error 63016: a free-form message outside WhatsApp's 24-hour window (see channel.py).
OUTSIDE_WINDOW = 63016

STATUSES: Mapping[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
    "undelivered": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """One status callback: where Twilio says an outbound message has got to."""

    message_sid: str
    # None for a status Kesher does not track (Twilio adds values without notice).
    status: DeliveryStatus | None
    raw_status: str
    received_at: datetime
    address: str | None = None
    error_code: int | None = None
    error_message: str | None = None

    @property
    def needs_template(self) -> bool:
        return self.error_code == OUTSIDE_WINDOW
