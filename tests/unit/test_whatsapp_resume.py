"""Matching what Twilio already holds against the parts of a send being resumed."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import DeliveryStatus
from integrations.whatsapp.resume import already_sent


@dataclass
class Sent:
    """The fields of Twilio's Message resource that matter here."""

    sid: str
    body: str
    status: str = "delivered"


def test_every_part_found_in_order_is_not_sent_again_and_the_last_one_is_the_receipt() -> None:
    parts = [{"body": "first half"}, {"body": "second half"}]

    done, receipt = already_sent(parts, [Sent("SM1", "first half"), Sent("SM2", "second half")])

    assert done == 2
    assert receipt is not None and receipt.channel_message_id == "SM2" and receipt.found
    assert receipt.status is DeliveryStatus.DELIVERED


def test_only_the_parts_before_the_first_missing_one_count() -> None:
    parts = [{"body": "one"}, {"body": "two"}, {"body": "three"}]

    done, receipt = already_sent(parts, [Sent("SM1", "one"), Sent("SM3", "three")])

    assert done == 1 and receipt is not None and receipt.channel_message_id == "SM1"


def test_a_different_text_to_the_same_number_is_not_taken_for_the_part() -> None:
    done, receipt = already_sent(
        [{"body": "Thanks, noted 🙏"}], [Sent("SM1", "Hi! How can we help?")]
    )

    assert done == 0 and receipt is None


def test_a_template_or_buttons_part_is_found_by_being_there() -> None:
    parts = [{"content_sid": "HX" + "a" * 32}]

    done, receipt = already_sent(parts, [Sent("SM9", "Rendered by Twilio", status="queued")])

    assert done == 1 and receipt is not None and receipt.status is DeliveryStatus.QUEUED
    assert already_sent(parts, []) == (0, None)
