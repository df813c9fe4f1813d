"""The flows around a handoff: "did we solve it?" after one, and the offer of a person after a low score."""

from __future__ import annotations

from flows.answers import yes_no
from flows.engine import END, Answers, Ask, Flow, Say
from flows.outcome import RequestHandoff
from flows.text import Text

NAME = "follow_up"

SOLVED = Text(
    he="היי! רצינו לוודא: הצלחנו לפתור את מה שפנית אלינו לגביו ב־{business}?",
    en="Hi! Just checking in: did {business} manage to solve what you contacted us about?",
)
YES = Text(he="כן, נפתר 👍", en="Yes, all solved 👍")
NO = Text(he="לא עדיין", en="Not yet")
YES_OR_NO = Text(he="אפשר לענות כן או לא.", en="Please answer yes or no.")
GLAD = Text(he="שמחים לשמוע! תודה 🙏", en="Glad to hear it! Thank you 🙏")
BACK = Text(
    he="מצטערים לשמוע. העברנו שוב לצוות, ומישהו יחזור אליך בהקדם.",
    en="We're sorry to hear that. We've passed it back to our team; someone will get back to you soon.",
)

HANDOFF_REASON = "follow_up_unsolved"


def _after(answers: Answers) -> str:
    return "glad" if answers["solved"] == "yes" else "back"


FOLLOW_UP = Flow(
    NAME,
    steps=(
        Ask(
            "solved",
            SOLVED,
            parse=yes_no,
            choices=(("yes", YES), ("no", NO)),
            branch=_after,
            retry=YES_OR_NO,
        ),
        Say("back", BACK, effects=(RequestHandoff(HANDOFF_REASON),), goto=END),
        Say("glad", GLAD),
    ),
)


OFFER_NAME = "offer"
OFFER_ASK = Text(
    he="תודה על התשובה. רוצה שמישהו מהצוות של {business} יחזור אליך?",
    en="Thanks for your answer. Would you like someone from the {business} team to get back to you?",
)
OFFER_YES = Text(he="כן, בבקשה", en="Yes, please")
OFFER_NO = Text(he="לא, תודה", en="No, thanks")
OFFER_NOTED = Text(
    he="בסדר גמור. אם תרצו, אפשר תמיד לכתוב לנו כאן.",
    en="No problem. You can always write to us here.",
)
OFFER_TAKEN = Text(he="מעולה, העברנו לצוות.", en="Great, we've passed it on to our team.")


def _after_offer(answers: Answers) -> str:
    return "taken" if answers["offer"] == "yes" else "noted"


OFFER = Flow(
    OFFER_NAME,
    steps=(
        Ask(
            "offer",
            OFFER_ASK,
            parse=yes_no,
            choices=(("yes", OFFER_YES), ("no", OFFER_NO)),
            branch=_after_offer,
            retry=YES_OR_NO,
        ),
        Say(
            "taken",
            OFFER_TAKEN,
            effects=(RequestHandoff("accepted the offer after a low score", trigger="low_score"),),
            goto=END,
        ),
        Say("noted", OFFER_NOTED),
    ),
)
