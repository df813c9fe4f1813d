"""Bot commands on channels that have them (Telegram's /start and /help); /stop is consent's."""

from __future__ import annotations

from flows.outcome import Outcome, Said
from flows.text import Text

START = "start"
STOP = "stop"
HELP = "help"
COMMANDS = frozenset({START, STOP, HELP})

WELCOME = Text(
    he="שלום{name}! כאן כותבים ל־{business}. כתבו לנו כאן, ומישהו מהצוות יענה לכם.",
    en="Hi{name}! This chat reaches {business}. Write to us here and a person from the team will answer you.",
)
HELP_TEXT = Text(
    he="כאן כותבים ל־{business}: כל הודעה נקראת על ידי הצוות. /stop מפסיק את ההודעות מאיתנו, /start מחזיר אותן.",
    en="This chat reaches {business}: our team reads every message. /stop ends our messages, /start brings them back.",
)

# A `/start c_<token>` whose link is unknown, used or expired: nothing is joined or made.
LINK_UNKNOWN = Text(
    he="הקישור הזה כבר שומש או שפג תוקפו, ולכן הוא לא חובר לשום פרטים. אפשר לכתוב לנו כאן, או לבקש מ־{business} קישור חדש.",
    en="This link was already used or has expired, so it was not connected to anything. You can write to us here, or ask {business} for a new link.",
)


def answer(command: str, *, language: str, business: str, customer_name: str | None) -> Outcome:
    """The reply to /start (a greeting) or /help; no feedback is logged for either."""
    if command == HELP:
        return Outcome(replies=(Said(HELP_TEXT.render(language, business=business)),))
    name = f" {customer_name}" if customer_name else ""
    return Outcome(replies=(Said(WELCOME.render(language, name=name, business=business)),))
