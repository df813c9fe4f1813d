"""A flow's questions as the console lists them: in one language, every wording a question
takes from the answer before it, choices and a scale's range."""

from __future__ import annotations

from flows.csat import CSAT
from flows.custom import parse_flow
from flows.nps import NPS
from flows.outline import outline


def test_a_question_worded_by_the_score_before_it_lists_every_wording_once() -> None:
    score, why = outline(NPS, "en", fields={"business": "Café"})

    assert score.texts == (
        "How likely are you to recommend Café to a friend? Reply 0 (not at all) to 10 (extremely likely).",
    )
    assert score.scale == (0, 10) and score.choices == ()
    assert why.texts == (  # detractor, passive, promoter: in the order of the scores
        "We're sorry to hear that. What should we have done differently?",
        "Thanks! What would make it a 10 for you?",
        "That's great to hear! What do you like most?",
    )
    assert len(outline(CSAT, "he", fields={"business": "Café"})[1].texts) == 2


def test_a_custom_flow_is_outlined_in_the_language_asked_with_braces_kept() -> None:
    flow = parse_flow(
        {
            "name": "visit",
            "questions": [
                {
                    "type": "choice",
                    "text": {
                        "he": "מה אהבתם ב־{business}? {{סוגריים}}",
                        "en": "What did you like?",
                    },
                    "choices": [{"id": "a", "he": "אוכל", "en": "Food"}, {"id": "b", "he": "צוות"}],
                },
                {"type": "yes_no", "text": "?"},
                {"type": "scale", "min": 2, "max": 4, "text": {"he": "כמה?"}},
                {"type": "text", "text": {"en": "Why?"}},
            ],
        }
    )

    liked, back, score, why = outline(flow, "he", fields={"business": "קפה"})

    assert liked.texts == ("מה אהבתם ב־קפה? {סוגריים}",) and liked.choices == ("אוכל", "צוות")
    assert back.choices == ("כן", "לא") and back.scale is None
    assert score.scale == (2, 4) and score.texts == ("כמה?",)
    assert why.texts == ("Why?",) and why.scale is None and why.choices == ()
