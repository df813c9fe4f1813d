"""Why a customer was handed to a person, said in the agent's language.

The detector and the flows keep their reasons in English (the API and the logs read them so);
the inbox and the agents' Telegram alerts show them in the agent's language. A reason this
does not know (a business's own, a language model's words) is shown as it was given.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"(?P<n>\d+) (?P<unit>min|h|days)")
_UNITS = {"min": "דק׳", "h": "שע׳", "days": "ימים"}

# Each English reason the detector or a flow gives, and its Hebrew; fields are kept.
_HEBREW: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), hebrew)
    for pattern, hebrew in (
        (r"asks for a person", "מבקש/ת לדבר עם נציג"),
        (r"wants to cancel or leave", "רוצה לבטל או לעזוב"),
        (r"negative words: (?P<words>.+)", "מילים שליליות: {words}"),
        (r"reports a problem: (?P<words>.+)", "מדווח/ת על תקלה: {words}"),
        (r"swearing", "קללות"),
        (r"angry emoji", "אימוג׳י כועס"),
        (r"ALL CAPS", "כתיבה באותיות גדולות"),
        (r"repeated (?P<what>.+)", "סימנים חוזרים {what}"),
        (r"says it asked before", "אומר/ת שכבר שאל/ה"),
        (r"says 'again'", "אומר/ת ״שוב״"),
        (r"tone model (?P<p>[\d.]+)", "מודל הטון {p}"),
        (r"repeats the same complaint", "חוזר/ת על אותה תלונה"),
        (
            r"bot misunderstood (?P<n>\d+) times in a row",
            "הבוט לא הבין {n} פעמים ברצף",
        ),
        (r"waiting (?P<d>.+) for an answer", "מחכה {d} לתשובה"),
        (r"low survey score (?P<s>\S+)", "ציון נמוך בסקר {s}"),
        (r"handed off (?P<d>.+) ago", "הועבר/ה לנציג לפני {d}"),
        (r"second opinion (?P<p>[\d.]+): (?P<why>.*)", "חוות דעת שנייה {p}: {why}"),
        (r"nps score (?P<s>\S+)", "ציון NPS נמוך: {s}"),
        (r"csat score (?P<s>\S+)", "ציון CSAT נמוך: {s}"),
        (r"checkin_problem", "סיפר/ה על בעיה בשיחת המעקב"),
        (r"follow_up_unsolved", "הבעיה עדיין לא נפתרה"),
        (
            r"accepted the offer after a low score",
            "ביקש/ה שנחזור אליו/ה אחרי ציון נמוך",
        ),
        (r"(?P<flow>.+): not understood twice", "{flow}: הבוט לא הבין פעמיים"),
        (r"frustrated", "מתוסכל/ת"),
    )
)
# Flows give some reasons as codes; this is how they read in English.
_ENGLISH = {
    "checkin_problem": "told the check-in about a problem",
    "follow_up_unsolved": "still not solved after the last handoff",
}


def reason_shown(reason: str, language: str) -> str:
    """The reason in `language` ('he' or 'en'); unknown reasons as they are."""
    if language != "he":
        return _ENGLISH.get(reason, reason)
    for pattern, hebrew in _HEBREW:
        found = pattern.fullmatch(reason)
        if found is not None:
            fields = {k: _hebrew_duration(v) for k, v in found.groupdict().items()}
            return hebrew.format(**fields)
    return reason


def _hebrew_duration(value: str) -> str:
    return _DURATION.sub(lambda m: f"{m['n']} {_UNITS[m['unit']]}", value)


def reasons_shown(reasons: str, language: str) -> str:
    """Reasons joined with '; ' (as a handoff keeps them), each in `language`."""
    return "; ".join(reason_shown(r, language) for r in reasons.split("; "))
