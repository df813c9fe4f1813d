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


def answer(command: str, *, language: str, business: str, customer_name: str | None) -> Outcome:
    """The reply to /start (a greeting) or /help; no feedback is logged for either."""
    if command == HELP:
        return Outcome(replies=(Said(HELP_TEXT.render(language, business=business)),))
    name = f" {customer_name}" if customer_name else ""
    return Outcome(replies=(Said(WELCOME.render(language, name=name, business=business)),))
