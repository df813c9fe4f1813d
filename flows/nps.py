"""Net Promoter Score: 0 to 10, then "why?" worded for detractors, passives and promoters."""

from __future__ import annotations

from flows.answers import free_text, scale, scale_choices
from flows.engine import Answers, Ask, Flow, Say
from flows.text import Text

NAME = "nps"

SCORE = Text(
    he="עד כמה סביר שתמליצו על {business} לחבר או לחברה? ענו מ־0 (בכלל לא) עד 10 (בטוח).",
    en="How likely are you to recommend {business} to a friend? Reply 0 (not at all) to 10 (extremely likely).",
)
SCORE_RETRY = Text(he="אפשר לענות במספר מ־0 עד 10.", en="Please answer with a number from 0 to 10.")
WHY_DETRACTOR = Text(
    he="מצטערים שזה המצב. מה היינו צריכים לעשות אחרת?",
    en="We're sorry to hear that. What should we have done differently?",
)
WHY_PASSIVE = Text(
    he="תודה! מה היה גורם לכם לתת לנו 10?", en="Thanks! What would make it a 10 for you?"
)
WHY_PROMOTER = Text(
    he="איזה כיף לשמוע! מה הכי אהבתם?", en="That's great to hear! What do you like most?"
)
IN_WORDS = Text(he="אפשר לכתוב לנו במילים?", en="Could you tell us in a few words?")
THANKS = Text(
    he="תודה רבה על התשובה! זה עוזר לנו להשתפר.",
    en="Thank you for your answer! It helps us get better.",
)


def group(score: int) -> str:
    """'detractor' (0–6), 'passive' (7–8) or 'promoter' (9–10)."""
    return "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"


def _why(answers: Answers) -> Text:
    score = answers["score"]
    kind = group(score) if isinstance(score, int) else "passive"
    return {"detractor": WHY_DETRACTOR, "passive": WHY_PASSIVE, "promoter": WHY_PROMOTER}[kind]


NPS = Flow(
    NAME,
    steps=(
        Ask(
            "score",
            SCORE,
            parse=scale(0, 10),
            choices=scale_choices(0, 10),
            retry=SCORE_RETRY,
            score_kind="nps",
        ),
        Ask("why", _why, parse=free_text, retry=IN_WORDS),
        Say("thanks", THANKS),
    ),
)
