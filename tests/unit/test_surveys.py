"""The check-in, NPS and CSAT flows, walked end to end in Hebrew and English."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.checkin import CHECKIN, OKAY
from flows.csat import CSAT
from flows.engine import Flow, Status, Turn, advance, start
from flows.nps import NPS, group
from flows.outcome import FlowFinished, RequestHandoff, Said, SurveyAnswered

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _walk(flow: Flow, answers: list[str], language: str) -> list[Turn]:
    fields = {"business": "קפה נחת" if language == "he" else "Café Nahat"}
    turns = [start(flow, language=language, now=NOW, fields=fields)]
    for answer in answers:
        turns.append(
            advance(flow, turns[-1].run, answer, language=language, now=NOW, fields=fields)
        )
    return turns


def test_a_check_in_asks_how_things_are_with_three_buttons_in_english() -> None:
    (opening,) = _walk(CHECKIN, [], "en")

    assert opening.replies == (
        Said(
            "Hi! How is everything with Café Nahat?",
            (("great", "Great 😀"), ("okay", "Okay 🙂"), ("problem", "There's a problem 😕")),
        ),
    )


def test_a_check_in_answered_great_is_thanked_and_finished_in_hebrew() -> None:
    opening, done = _walk(CHECKIN, ["מצוין!"], "he")

    assert opening.replies[0].text == "היי! איך הכל עם קפה נחת?"
    assert [choice for _, choice in opening.replies[0].choices] == [
        "מצוין 😀",
        "בסדר 🙂",
        "יש בעיה 😕",
    ]
    assert done.replies == (Said("איזה כיף לשמוע! תודה ששיתפתם 🙏"),)
    assert done.effects == (
        SurveyAnswered("checkin", "mood", "great", "checkin", "מצוין 😀"),
        FlowFinished("checkin"),
    )


@pytest.mark.parametrize(
    ("answer", "language", "invitation"),
    [
        ("okay", "en", "just write to us here"),
        ("2", "en", "just write to us here"),
        ("בסדר", "he", "אפשר תמיד לכתוב לנו כאן"),
    ],
)
def test_a_check_in_answered_okay_invites_a_word_any_time(
    answer: str, language: str, invitation: str
) -> None:
    _, done = _walk(CHECKIN, [answer], language)

    assert done.effects[0] == SurveyAnswered(
        "checkin", "mood", "okay", "checkin", OKAY.render(language)
    )
    assert invitation in done.replies[0].text


def test_a_check_in_problem_is_heard_then_offered_a_person_who_is_handed_off_on_yes() -> None:
    _, what, offer, handed = _walk(
        CHECKIN, ["there's a problem", "My order came cold", "yes please"], "en"
    )

    assert what.replies == (Said("We're sorry to hear that. What happened?"),)
    assert offer.replies == (
        Said(
            "Thanks for telling us. Would you like someone from Café Nahat to get back to you?",
            (("yes", "Yes, please"), ("no", "No, thanks")),
        ),
    )
    assert offer.effects == (SurveyAnswered("checkin", "what", "My order came cold", "text"),)
    assert handed.effects == (
        SurveyAnswered("checkin", "offer", "yes", label="Yes, please"),
        RequestHandoff("checkin_problem"),
        FlowFinished("checkin"),
    )
    assert handed.run.answers == {"mood": "problem", "what": "My order came cold", "offer": "yes"}


def test_a_check_in_problem_in_hebrew_without_a_person_is_noted_and_no_one_is_called() -> None:
    *_, last = _walk(CHECKIN, ["יש בעיה", "ההזמנה הגיעה קרה", "לא תודה"], "he")

    assert last.replies == (Said("בסדר, רשמנו את מה שכתבתם ונבדוק את זה. תודה!"),)
    assert not any(isinstance(effect, RequestHandoff) for effect in last.effects)
    assert last.run.status is Status.FINISHED


@pytest.mark.parametrize(
    ("score", "kind", "english", "hebrew"),
    [
        ("3", "detractor", "What should we have done differently?", "מה היינו צריכים לעשות אחרת?"),
        ("6", "detractor", "What should we have done differently?", "מה היינו צריכים לעשות אחרת?"),
        ("7", "passive", "What would make it a 10 for you?", "מה היה גורם לכם לתת לנו 10?"),
        ("8", "passive", "What would make it a 10 for you?", "מה היה גורם לכם לתת לנו 10?"),
        ("9", "promoter", "What do you like most?", "מה הכי אהבתם?"),
        ("10", "promoter", "What do you like most?", "מה הכי אהבתם?"),
    ],
)
def test_nps_asks_why_in_words_for_detractors_passives_and_promoters(
    score: str, kind: str, english: str, hebrew: str
) -> None:
    assert group(int(score)) == kind
    assert _walk(NPS, [score], "en")[-1].replies[0].text.endswith(english)
    assert _walk(NPS, [score], "he")[-1].replies[0].text.endswith(hebrew)


def test_nps_in_hebrew_takes_a_word_for_a_score_then_the_reason_then_thanks() -> None:
    opening, why, thanks = _walk(NPS, ["תשע", "השירות מהיר"], "he")

    assert opening.replies[0].text.startswith("עד כמה סביר שתמליצו על קפה נחת")
    assert why.effects == (SurveyAnswered("nps", "score", 9, "nps", "9"),)
    assert thanks.effects == (
        SurveyAnswered("nps", "why", "השירות מהיר", "text"),
        FlowFinished("nps"),
    )
    assert thanks.replies == (Said("תודה רבה על התשובה! זה עוזר לנו להשתפר."),)


def test_nps_in_english_re_asks_an_out_of_range_score() -> None:
    _, retry, why = _walk(NPS, ["11", "zero"], "en")

    assert retry.replies[0].text.startswith(
        "Sorry, I didn't catch that. Please answer with a number from 0 to 10."
    )
    assert why.effects == (SurveyAnswered("nps", "score", 0, "nps", "0"),)


@pytest.mark.parametrize(
    ("score", "apologises"), [("1", True), ("2", True), ("3", False), ("5", False)]
)
def test_csat_follow_up_apologises_only_for_a_low_score(score: str, apologises: bool) -> None:
    follow_up = _walk(CSAT, [score], "en")[-1].replies[0].text

    assert follow_up.startswith("We're really sorry") is apologises
    assert _walk(CSAT, [score], "he")[-1].replies[0].text.startswith("מצטערים") is apologises


def test_csat_in_hebrew_takes_a_score_in_words_and_a_comment() -> None:
    opening, follow_up, thanks = _walk(CSAT, ["שתיים", "חיכיתי שעה"], "he")

    assert opening.replies[0].text.startswith("כמה הייתם מרוצים מ־קפה נחת?")
    assert follow_up.effects == (SurveyAnswered("csat", "score", 2, "csat", "2"),)
    assert thanks.run.answers == {"score": 2, "comment": "חיכיתי שעה"}
    assert thanks.replies == (Said("תודה רבה, קיבלנו!"),)


def test_csat_refuses_a_six_twice_then_ends_politely() -> None:
    *_, last = _walk(CSAT, ["6", "six", "שש"], "en")

    assert last.effects == (FlowFinished("csat", completed=False),)
    assert last.run.answers == {}


@pytest.mark.parametrize(("flow", "low", "high"), [(NPS, 0, 10), (CSAT, 1, 5)])
def test_a_score_question_offers_a_button_per_score_and_a_tap_is_the_number(
    flow: Flow, low: int, high: int
) -> None:
    opening = start(flow, language="he", now=NOW, fields={"business": "קפה נחת"})

    assert [choice for _, choice in opening.replies[0].choices] == [
        str(n) for n in range(low, high + 1)
    ]
    tapped = advance(flow, opening.run, None, str(high), language="he", now=NOW, fields={})
    typed = advance(flow, opening.run, "1", language="he", now=NOW, fields={})
    assert tapped.effects[0] == SurveyAnswered(flow.name, "score", high, flow.name, str(high))
    assert typed.effects[0] == SurveyAnswered(flow.name, "score", 1, flow.name, "1")


def test_a_typed_number_past_the_scale_is_not_read_as_a_button_s_position() -> None:
    opening = start(NPS, language="en", now=NOW, fields={"business": "Café"})

    turn = advance(NPS, opening.run, "11", language="en", now=NOW, fields={})

    assert turn.effects == () and turn.run.retries == 1
