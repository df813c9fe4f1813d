"""Opt-out and opt-in words: a customer who says stop is never contacted again until they say start."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from flows.text import Text, normalise


class ConsentCommand(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


OPT_OUT_WORDS = frozenset(
    {
        "stop",
        "stopall",
        "unsubscribe",
        "הסר",
        "הסירו",
        "הסירו אותי",
        "הסר אותי",
        "תסירו אותי",
        # "Enough": only as the whole message ("די טוב", "pretty good", is not a command).
        "די",
    }
)
OPT_IN_WORDS = frozenset({"start", "unstop", "התחל", "חידוש"})

OPTED_OUT = Text(
    he="הוסרתם מרשימת ההודעות של {business}. לא נשלח לכם עוד הודעות. כדי לחזור, שלחו START או התחל.",
    en="You are unsubscribed from {business}. We will not message you again. Send START to resume.",
)
OPTED_IN = Text(
    he="ברוכים השבים! תקבלו שוב הודעות מ־{business}. כדי להפסיק, שלחו STOP או הסר.",
    en="Welcome back! You will hear from {business} again. Send STOP to unsubscribe.",
)


def consent_command(
    text: str | None, *, opt_out: Iterable[str] = (), opt_in: Iterable[str] = ()
) -> ConsentCommand | None:
    """The consent command a whole message amounts to, if any ('Stop!' yes, 'stop it now' no).

    `opt_out` and `opt_in` are a business's own words on top of the standard ones.
    """
    if not text:
        return None
    words = normalise(text)
    if words in OPT_OUT_WORDS or words in {normalise(w) for w in opt_out}:
        return ConsentCommand.OPT_OUT
    if words in OPT_IN_WORDS or words in {normalise(w) for w in opt_in}:
        return ConsentCommand.OPT_IN
    return None
