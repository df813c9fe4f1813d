"""The always-open feedback channel: whatever a customer writes is logged and acknowledged."""

from __future__ import annotations

from flows.outcome import FeedbackReceived, Outcome, Said
from flows.text import Text

WELCOME = Text(
    he="שלום{name}! תודה שכתבתם ל־{business}. כל הודעה נקראת על ידי הצוות שלנו, ונחזור אליכם אם צריך.",
    en="Hi{name}! Thanks for writing to {business}. Our team reads every message and will get back to you if needed.",
)
NOTED = Text(he="תודה, רשמנו 🙏", en="Thanks, noted 🙏")
NOT_TEXT = Text(
    he="קיבלנו, תודה. כרגע אני יודע לקרוא רק הודעות טקסט — אפשר לכתוב לנו במילים?",
    en="Got it, thanks. For now I can only read text; could you write it to us in words?",
)


def receive(
    text: str | None, *, language: str, business: str, customer_name: str | None, first: bool
) -> Outcome:
    """Acknowledge one message: a welcome on the first of a conversation, a short thanks after."""
    if not text or not text.strip():
        return Outcome(replies=(Said(NOT_TEXT.render(language)),))
    if first:
        name = f" {customer_name}" if customer_name else ""
        reply = WELCOME.render(language, name=name, business=business)
    else:
        reply = NOTED.render(language)
    return Outcome(replies=(Said(reply),), effects=(FeedbackReceived(text),))
