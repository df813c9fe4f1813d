"""Delivery reports from providers: a message's status only ever moves forward.

Status callbacks come late, twice and out of order; `queued < sent < delivered < read`, and
`failed` is final, so a `sent` arriving after `read` changes nothing. A failure because the
24-hour window had closed (63016) sends the message again once, as the approved template.
"""

from __future__ import annotations

from bot.domain import Business, DeliveryReport, DeliveryStatus, EventKind
from bot.outbound.outbox import resend_as_template
from bot.services import Services

# Twilio: the message was free text outside WhatsApp's 24-hour window.
OUTSIDE_WINDOW = "63016"

RANK = {
    DeliveryStatus.QUEUED: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
}
FINAL = (DeliveryStatus.FAILED, DeliveryStatus.SKIPPED, DeliveryStatus.NEEDS_TEMPLATE)


def moves_forward(current: DeliveryStatus, new: DeliveryStatus) -> bool:
    if current in FINAL:
        return False
    if new is DeliveryStatus.FAILED:
        return current not in (DeliveryStatus.DELIVERED, DeliveryStatus.READ)
    return RANK.get(new, -1) > RANK.get(current, -1)


async def record_report(business: Business, report: DeliveryReport, services: Services) -> bool:
    """Apply one report; True when the message's status changed."""
    if report.status is None:
        return False
    async with services.uow() as uow:
        message = await uow.messages.find_sent(
            business.id, report.channel, report.channel_message_id
        )
    if message is None or not moves_forward(message.status, report.status):
        return False
    if (
        report.status is DeliveryStatus.FAILED
        and report.error_code == OUTSIDE_WINDOW
        and await resend_as_template(
            business.id,
            message.id,
            reason=f"error {OUTSIDE_WINDOW}: outside the 24-hour window",
            services=services,
        )
    ):
        return True
    async with services.uow() as uow:
        # Checked again as the status is written: reports of one message may arrive together.
        changed = await uow.messages.set_status(
            message.id,
            report.status,
            at=report.received_at,
            only_from=[s for s in DeliveryStatus if moves_forward(s, report.status)],
        )
        if not changed:
            return False
        if report.status is DeliveryStatus.FAILED:
            await uow.events.add(
                business.id,
                message.customer_id,
                kind=EventKind.DELIVERY_FAILED,
                occurred_at=report.received_at,
                data={
                    "channel": report.channel.value,
                    "message_id": message.id,
                    "error_code": report.error_code,
                    "error": report.error_message,
                },
            )
        await uow.commit()
    return True
