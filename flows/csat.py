"""Customer satisfaction: 1 to 5, then a follow-up that apologises when the score is low (≤ 2)."""

from __future__ import annotations

from flows.answers import free_text, scale, scale_choices
from flows.engine import Answers, Ask, Flow, Say
from flows.text import Text

NAME = "csat"
LOW = 2

SCORE = Text(
    he="כמה הייתם מרוצים מ־{business}? ענו מ־1 (בכלל לא) עד 5 (מאוד).",
    en="How satisfied were you with {business}? Reply 1 (not at all) to 5 (very).",
)
SCORE_RETRY = Text(he="אפשר לענות במספר מ־1 עד 5.", en="Please answer with a number from 1 to 5.")
SORRY = Text(
    he="מצטערים מאוד שהחוויה לא הייתה טובה. מה השתבש?",
    en="We're really sorry it wasn't a good experience. What went wrong?",
)
TELL_US = Text(
    he="תודה! יש משהו שתרצו לספר לנו, מה עבד ומה אפשר לשפר?",
    en="Thanks! Anything you'd like to tell us: what worked, what could be better?",
)
IN_WORDS = Text(he="אפשר לכתוב לנו במילים?", en="Could you tell us in a few words?")
THANKS = Text(he="תודה רבה, קיבלנו!", en="Thank you, we've got it!")


def _follow_up(answers: Answers) -> Text:
    score = answers["score"]
    return SORRY if isinstance(score, int) and score <= LOW else TELL_US


CSAT = Flow(
    NAME,
    steps=(
        Ask(
            "score",
            SCORE,
            parse=scale(1, 5),
            choices=scale_choices(1, 5),
            retry=SCORE_RETRY,
            score_kind="csat",
        ),
        Ask("comment", _follow_up, parse=free_text, retry=IN_WORDS),
        Say("thanks", THANKS),
    ),
)
