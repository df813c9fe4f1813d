"""The feedback flow: a welcome first, a short thanks after, every message logged."""

from __future__ import annotations

from flows.feedback import receive
from flows.outcome import FeedbackReceived, Said


def test_the_first_message_gets_a_welcome_with_the_customers_name() -> None:
    outcome = receive(
        "the coffee was cold", language="en", business="Café", customer_name="Dana", first=True
    )

    assert outcome.replies == (
        Said(
            "Hi Dana! Thanks for writing to Café. Our team reads every message and will get back to you if needed."
        ),
    )
    assert outcome.effects == (FeedbackReceived("the coffee was cold"),)


def test_a_later_message_gets_a_short_thanks_in_hebrew() -> None:
    outcome = receive("ועוד דבר", language="he", business="קפה", customer_name=None, first=False)

    assert [r.text for r in outcome.replies] == ["תודה, רשמנו 🙏"]
    assert outcome.effects == (FeedbackReceived("ועוד דבר"),)


def test_a_message_without_text_is_answered_politely_and_not_logged_as_feedback() -> None:
    outcome = receive(None, language="he", business="קפה", customer_name=None, first=True)

    assert len(outcome.replies) == 1
    assert outcome.effects == ()
