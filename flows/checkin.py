"""The check-in: "How is everything?"; great and okay are thanked, a problem is heard and offered a person."""

from __future__ import annotations

from flows.answers import free_text, mood, yes_no
from flows.engine import END, Answers, Ask, Flow, Say
from flows.outcome import RequestHandoff
from flows.text import Text

NAME = "checkin"

HOW = Text(he="היי! איך הכל עם {business}?", en="Hi! How is everything with {business}?")
GREAT = Text(he="מצוין 😀", en="Great 😀")
OKAY = Text(he="בסדר 🙂", en="Okay 🙂")
PROBLEM = Text(he="יש בעיה 😕", en="There's a problem 😕")
HOW_RETRY = Text(
    he="אפשר לענות מצוין, בסדר או יש בעיה, או לבחור את המספר.",
    en="You can answer great, okay or there's a problem, or pick a number.",
)
GLAD = Text(
    he="איזה כיף לשמוע! תודה ששיתפתם 🙏", en="So glad to hear it! Thanks for letting us know 🙏"
)
OKAY_THANKS = Text(
    he="תודה! אם יש משהו שנוכל לעשות טוב יותר, אפשר תמיד לכתוב לנו כאן.",
    en="Thanks! If there's anything we could do better, just write to us here.",
)
WHAT = Text(he="מצטערים לשמוע. מה קרה?", en="We're sorry to hear that. What happened?")
IN_WORDS = Text(he="אפשר לכתוב לנו במילים?", en="Could you tell us in a few words?")
OFFER = Text(
    he="תודה שסיפרתם. רוצים שמישהו מהצוות של {business} יחזור אליכם?",
    en="Thanks for telling us. Would you like someone from {business} to get back to you?",
)
YES = Text(he="כן, בבקשה", en="Yes, please")
NO = Text(he="לא, תודה", en="No, thanks")
YES_OR_NO = Text(he="אפשר לענות כן או לא.", en="Please answer yes or no.")
HANDED_OFF = Text(
    he="העברנו לצוות, ומישהו יחזור אליכם בהקדם.",
    en="We've passed it on; someone from our team will get back to you soon.",
)
NOTED = Text(
    he="בסדר, רשמנו את מה שכתבתם ונבדוק את זה. תודה!",
    en="Okay, we've noted what you wrote and will look into it. Thanks!",
)

HANDOFF_REASON = "checkin_problem"


def _after_mood(answers: Answers) -> str:
    return {"great": "glad", "okay": "okay_thanks"}.get(str(answers["mood"]), "what")


def _after_offer(answers: Answers) -> str:
    return "handed_off" if answers["offer"] == "yes" else "noted"


CHECKIN = Flow(
    NAME,
    steps=(
        Ask(
            "mood",
            HOW,
            parse=mood,
            choices=(("great", GREAT), ("okay", OKAY), ("problem", PROBLEM)),
            branch=_after_mood,
            retry=HOW_RETRY,
            score_kind="checkin",
        ),
        Ask("what", WHAT, parse=free_text, retry=IN_WORDS),
        Ask(
            "offer",
            OFFER,
            parse=yes_no,
            choices=(("yes", YES), ("no", NO)),
            branch=_after_offer,
            retry=YES_OR_NO,
        ),
        Say("handed_off", HANDED_OFF, effects=(RequestHandoff(HANDOFF_REASON),), goto=END),
        Say("noted", NOTED, goto=END),
        Say("glad", GLAD, goto=END),
        Say("okay_thanks", OKAY_THANKS),
    ),
)
