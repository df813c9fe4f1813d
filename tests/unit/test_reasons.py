"""Why a customer was handed off, shown to Hebrew-speaking agents in Hebrew."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.detection.shipped import default_detector
from flows.frustration import History, PastMessage, SurveyScore
from flows.reasons import reason_shown, reasons_shown

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def _everything_the_detector_says() -> set[str]:
    """The detector's reasons over messages and histories that raise every signal it has."""
    detector = default_detector()
    history = History(
        earlier=(PastMessage("my order never arrived and nobody answers me", NOW),),
        misunderstood_in_a_row=3,
        unanswered_since=NOW - timedelta(hours=5),
        last_survey=SurveyScore(value=2, worst=0, best=10, at=NOW - timedelta(hours=1)),
        last_handoff_at=NOW - timedelta(days=3),
    )
    said = (
        "I want to talk to a real person!!! 😡",
        "I WANT TO CANCEL THIS TERRIBLE USELESS SERVICE",
        "my order never arrived and nobody answers me",
        "I already asked you this, what the hell",
        "again??? this is awful",
        "אני רוצה לדבר עם נציג, זה גרוע",
    )
    return {r for text in said for r in detector.assess(text, history=history, now=NOW).reasons}


def test_every_reason_the_detector_gives_reads_in_hebrew() -> None:
    reasons = _everything_the_detector_says()
    assert len(reasons) >= 12, reasons  # the samples do raise nearly every signal

    for reason in reasons:
        hebrew = reason_shown(reason, "he")
        assert re.search("[\u05d0-\u05ea]", hebrew), reason
        # What stays in Latin letters is what the customer wrote (the words quoted).
        if not reason.startswith(("negative words", "reports a problem")):
            assert not LATIN_WORD.search(hebrew.replace("NPS", "")), (reason, hebrew)


@pytest.mark.parametrize(
    ("reason", "hebrew"),
    [
        ("waiting 5 h for an answer", "מחכה 5 שע׳ לתשובה"),
        ("handed off 3 days ago", "הועבר/ה לנציג לפני 3 ימים"),
        ("negative words: late, awful", "מילים שליליות: late, awful"),
        ("reports a problem: charged twice", "מדווח/ת על תקלה: charged twice"),
        ("nps score 3", "ציון NPS נמוך: 3"),
        ("checkin_problem", "סיפר/ה על בעיה בשיחת המעקב"),
        ("second opinion 0.91: angry about billing", "חוות דעת שנייה 0.91: angry about billing"),
    ],
)
def test_fields_are_kept_and_units_translated(reason: str, hebrew: str) -> None:
    assert reason_shown(reason, "he") == hebrew


def test_english_reads_the_codes_and_keeps_the_rest_and_unknown_reasons_stay_as_given() -> None:
    assert reason_shown("checkin_problem", "en") == "told the check-in about a problem"
    assert reason_shown("asks for a person", "en") == "asks for a person"
    assert reason_shown("VIP customer, call back", "he") == "VIP customer, call back"
    assert reasons_shown("asks for a person; swearing", "he") == "מבקש/ת לדבר עם נציג; קללות"
