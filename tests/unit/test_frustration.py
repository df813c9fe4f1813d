"""Frustration scoring: explicit requests, tone cues and conversation signals, in both languages.

Examples here are our own, written for these tests. The detector runs without the shipped
tone model (cues and conversation alone) unless a test says otherwise, so the figures do
not move when the model is retrained.
"""

from __future__ import annotations

from array import array
from datetime import UTC, datetime, timedelta

import pytest

from flows.frustration import (
    Detector,
    History,
    PastMessage,
    Sensitivity,
    SurveyScore,
    Verdict,
)
from flows.frustration.detector import similarity
from flows.frustration.tone import Calibration, Features, Model, dump_model, load_model

NOW = datetime(2025, 3, 2, 12, 0, tzinfo=UTC)
detector = Detector()


def assess(text: str, **kwargs: object) -> Verdict:
    return detector.assess(text, **kwargs)  # type: ignore[arg-type]


ASKS_FOR_A_PERSON = [
    "נציג",
    "נציג בבקשה",
    "נָצִיג בבקשה!!",
    "אני רוצה לדבר עם נציג",
    "אפשר נציגה?",
    "תעבירו אותי לנציג אנושי",
    "בן אדם אמיתי בבקשה",
    "בנאדם אמיתי",
    "אני רוצה לדבר עם מישהו",
    "אני רוצה לדבר עם מישהוא",
    "לדבר עם בן אדם",
    "אני לא רוצה לדבר עם בוט",
    "נצייג",
    "שמישהו יחזור אליי",
    "agent",
    "AGENT!!!",
    "human",
    "human please",
    "I want a real person",
    "can I talk to someone",
    "I need to speak to a humen",
    "representative",
    "reprasentative please",
    "Can I speak with a representitive?",
    "get me a live agent",
    "transfer me to customer service please",
    "I'd like to talk to a manager",
    "Agent pls 🙏",
    "are you a bot?",
]

WANTS_TO_LEAVE = [
    "אני רוצה לבטל",
    "אני רוצה לבטל את המנוי",
    "לבטל את המנוי בבקשה",
    "איך מבטלים?",
    "ביטול",
    "אני רוצה לבתל את החשבון",
    "אני עוזב אתכם, עובר לחברה אחרת",
    "cancel my account",
    "cancle my subscription",
    "I want to cancel",
    "how do I cancel",
    "unsubscribe",
    "I'm leaving, switching to another provider",
    "please close my account",
]

CALM = [
    "שלום, מה שעות הפתיחה?",
    "תודה רבה, הכל הגיע בזמן",
    "השירות היה לא רע בכלל",
    "המוקדן היה נחמד מאוד",
    "אני צריך עוד משהו קטן",
    "Thanks, see you next week",
    "What time do you open on Friday?",
    "not bad at all, thanks",
    "The agent was very kind",
    "She is a great person",
    "Thanks again!",
    "Can you send me the invoice?",
]


@pytest.mark.parametrize("text", ASKS_FOR_A_PERSON)
def test_a_request_for_a_person_hands_off_at_every_sensitivity(text: str) -> None:
    for sensitivity in Sensitivity:
        verdict = Detector(sensitivity=sensitivity).assess(text)

        assert verdict.wants_person, text
        assert verdict.handoff
        assert verdict.score >= 0.95
        assert "asks for a person" in verdict.reasons


@pytest.mark.parametrize("text", WANTS_TO_LEAVE)
def test_a_wish_to_cancel_or_leave_hands_off(text: str) -> None:
    verdict = Detector(sensitivity=Sensitivity.CONSERVATIVE).assess(text)

    assert verdict.wants_to_leave, text
    assert verdict.handoff
    assert "wants to cancel or leave" in verdict.reasons


@pytest.mark.parametrize("text", CALM)
def test_a_calm_message_is_not_handed_off_even_when_sensitive(text: str) -> None:
    verdict = Detector(sensitivity=Sensitivity.SENSITIVE).assess(text)

    assert not verdict.handoff, verdict
    assert not verdict.wants_person
    assert not verdict.wants_to_leave


def test_negation_turns_a_negative_word_neutral_and_a_positive_word_negative() -> None:
    assert "negative" not in " ".join(assess("not bad").reasons)
    assert "negative" not in " ".join(assess("לא רע").reasons)
    assert assess("not good at all").reasons == ("negative words: not good",)
    assert assess("אני ממש לא מרוצה").reasons == ("negative words: לא מרוצה",)
    assert assess("this is terrible").score > assess("this is not terrible").score


def test_hebrew_prefixes_and_final_letters_do_not_hide_a_word() -> None:
    assert assess("והשירות גרוע").reasons == ("negative words: גרוע",)
    assert assess("לנציגה").wants_person
    assert assess("אני רוצה לדבר עמ מישהו").wants_person


def test_shouting_capitals_swearing_and_angry_emoji_each_raise_the_score() -> None:
    base = assess("where is my order").score
    for text, reason in [
        ("WHERE IS MY ORDER", "ALL CAPS"),
        ("where is my order!!!", "repeated !!!"),
        ("where is my order???", "repeated ???"),
        ("where is my fucking order", "swearing"),
        ("איפה ההזמנה שלי כוס אמק", "swearing"),
        ("where is my order 😡", "angry emoji"),
        ("איפה ההזמנה 🤬", "angry emoji"),
    ]:
        verdict = assess(text)
        assert reason in verdict.reasons, text
        assert verdict.score > base


def test_an_angry_message_in_either_language_is_handed_off_when_balanced() -> None:
    for text in [
        "THIS IS RIDICULOUS!!! still not working 😡",
        "שירות מזעזע!!! כבר פעם שלישית שאני כותב 🤬",
    ]:
        verdict = assess(text)
        assert verdict.handoff, verdict
        assert not verdict.wants_person


def test_third_time_asking_counts_but_thanks_again_does_not() -> None:
    assert "says it asked before" in assess("כבר פעם שלישית שאני שואל").reasons
    assert "says it asked before" in assess("this is the third time I'm asking").reasons
    assert "says 'again'" in assess("the app crashed again").reasons
    assert "says 'again'" in assess("זה קרה שוב").reasons
    assert assess("thanks again").reasons == ()
    assert assess("תודה שוב").reasons == ()


def test_the_same_complaint_repeated_within_a_day_counts() -> None:
    history = History(earlier=(PastMessage("ההזמנה שלי לא הגיעה עדיין", NOW - timedelta(hours=2)),))

    verdict = assess("ההזמנה שלי עדיין לא הגיעה!", history=history, now=NOW)
    old = History(earlier=(PastMessage("ההזמנה שלי לא הגיעה עדיין", NOW - timedelta(days=3)),))

    assert "repeats the same complaint" in verdict.reasons
    assert (
        "repeats the same complaint"
        not in assess("ההזמנה שלי עדיין לא הגיעה!", history=old, now=NOW).reasons
    )
    assert verdict.score > assess("ההזמנה שלי עדיין לא הגיעה!").score


def test_a_short_answer_repeated_is_not_a_complaint() -> None:
    history = History(earlier=(PastMessage("yes", NOW - timedelta(minutes=1)),))

    assert assess("yes", history=history, now=NOW).reasons == ()


def test_similarity_ignores_punctuation_and_case() -> None:
    assert similarity("My order didn't arrive!", "my order didn t arrive") == 1.0
    assert similarity("my order didn't arrive", "what time do you open") < 0.3


def test_the_bot_misunderstanding_twice_in_a_row_counts() -> None:
    once = assess("I said the blue one", history=History(misunderstood_in_a_row=1), now=NOW)
    twice = assess("I said the blue one", history=History(misunderstood_in_a_row=2), now=NOW)

    assert once.reasons == ()
    assert twice.reasons == ("bot misunderstood 2 times in a row",)


def test_a_long_unanswered_wait_counts_with_its_length() -> None:
    waiting = History(unanswered_since=NOW - timedelta(hours=3))
    short = History(unanswered_since=NOW - timedelta(minutes=10))

    assert assess("hello?", history=waiting, now=NOW).reasons == ("waiting 3 h for an answer",)
    assert assess("hello?", history=short, now=NOW).reasons == ()
    assert assess("hello?", history=waiting).reasons == ()  # no clock, no waiting


def test_a_recent_low_survey_score_counts_and_an_old_one_does_not() -> None:
    low = SurveyScore(value=2, worst=0, best=10, at=NOW - timedelta(days=1))
    stale = SurveyScore(value=2, worst=0, best=10, at=NOW - timedelta(days=60))
    happy = SurveyScore(value=5, worst=1, best=5, at=NOW - timedelta(days=1))

    assert assess("ok", history=History(last_survey=low), now=NOW).reasons == (
        "low survey score 2/10",
    )
    assert assess("ok", history=History(last_survey=stale), now=NOW).reasons == ()
    assert assess("ok", history=History(last_survey=happy), now=NOW).reasons == ()


def test_a_handoff_in_the_last_days_counts() -> None:
    recent = History(last_handoff_at=NOW - timedelta(days=2))
    old = History(last_handoff_at=NOW - timedelta(days=30))

    assert assess("ok", history=recent, now=NOW).reasons == ("handed off 2 days ago",)
    assert assess("ok", history=old, now=NOW).reasons == ()


def test_a_scripted_hebrew_conversation_escalates_to_a_handoff() -> None:
    first = "החבילה שלי לא הגיעה"
    history = History(
        earlier=(
            PastMessage(first, NOW - timedelta(hours=5)),
            PastMessage("מתי החבילה תגיע?", NOW - timedelta(hours=3)),
        ),
        misunderstood_in_a_row=2,
        unanswered_since=NOW - timedelta(hours=3),
    )

    # A first report of a problem hands off when balanced; a conservative business waits for
    # the conversation to show more.
    conservative = Detector(sensitivity=Sensitivity.CONSERVATIVE)
    assert assess(first).handoff and not conservative.assess(first).handoff
    verdict = conservative.assess("החבילה שלי עדיין לא הגיעה", history=history, now=NOW)

    assert verdict.handoff
    assert verdict.language == "he"
    assert {"repeats the same complaint", "bot misunderstood 2 times in a row"} <= set(
        verdict.reasons
    )


def test_a_scripted_english_conversation_escalates_to_a_handoff() -> None:
    history = History(
        earlier=(PastMessage("my refund has not arrived yet", NOW - timedelta(hours=26)),),
        last_survey=SurveyScore(value=1, worst=1, best=5, at=NOW - timedelta(days=3)),
        unanswered_since=NOW - timedelta(hours=26),
    )

    verdict = assess("my refund has still not arrived", history=history, now=NOW)

    assert verdict.handoff
    assert verdict.language == "en"
    assert "waiting 26 h for an answer" in verdict.reasons


def test_thresholds_rise_from_sensitive_to_conservative() -> None:
    cut_offs = [s.threshold for s in Sensitivity]

    assert cut_offs == sorted(cut_offs)
    assert Sensitivity("balanced") is Sensitivity.BALANCED


def test_the_same_score_hands_off_when_sensitive_but_not_when_conservative() -> None:
    text = "this is terrible!!!"
    sensitive = Detector(sensitivity=Sensitivity.SENSITIVE).assess(text)
    conservative = Detector(sensitivity=Sensitivity.CONSERVATIVE).assess(text)

    assert sensitive.score == conservative.score
    assert Sensitivity.SENSITIVE.threshold <= sensitive.score < Sensitivity.CONSERVATIVE.threshold
    assert sensitive.handoff
    assert not conservative.handoff


def test_a_score_near_the_cut_off_is_uncertain_and_a_request_never_is() -> None:
    balanced = Sensitivity.BALANCED
    low, high = balanced.uncertain_band
    near = Verdict(
        score=balanced.threshold, handoff=True, reasons=(), language="en", sensitivity=balanced
    )
    far = Verdict(score=0.01, handoff=False, reasons=(), language="en", sensitivity=balanced)

    assert low < balanced.threshold < high
    assert near.uncertain
    assert not far.uncertain
    assert not assess("agent").uncertain


@pytest.mark.parametrize(
    "text",
    ["", "   ", "👍", "!!!???!!!", "א" * 5000, "FUCK " * 300, "נציג " * 100, "\u200f\u0591"],
)
def test_the_score_stays_between_zero_and_one_for_any_text(text: str) -> None:
    verdict = assess(text)

    assert 0.0 <= verdict.score <= 1.0
    assert isinstance(verdict.reasons, tuple)


def test_language_is_told_by_script_and_can_be_forced() -> None:
    assert assess("נציג בבקשה, please").language == "he"
    assert assess("I want a נציג now").language == "en"
    assert assess("👍").language is None
    assert assess("hello", language="he").language == "he"


def _tiny_model() -> Model:
    features = Features(buckets=1 << 10)
    weights = array("f", [0.0] * features.buckets)
    ids, _ = features.indices("awful")
    for i in ids:
        weights[i] = 3.0
    return Model(weights=weights, bias=-1.0, features=features, info={"version": 7})


def test_the_tone_model_adds_its_probability_and_a_reason() -> None:
    with_model = Detector(model=_tiny_model())

    angry = with_model.assess("awful")
    calm = with_model.assess("lovely")

    assert angry.tone is not None and calm.tone is not None
    assert angry.tone > 0.5 > calm.tone
    assert f"tone model {angry.tone:.2f}" in angry.reasons


def test_a_model_survives_a_round_trip_through_bytes() -> None:
    model = _tiny_model()

    loaded = load_model(dump_model(model))

    assert loaded.features == model.features
    assert loaded.bias == model.bias
    assert loaded.info["version"] == 7
    assert loaded.probability("awful") == pytest.approx(model.probability("awful"))


def test_a_calibration_per_language_moves_the_tone_of_that_language_only() -> None:
    plain = _tiny_model()
    calibrated = Model(
        weights=plain.weights,
        bias=plain.bias,
        features=plain.features,
        calibration={"he": Calibration(scale=1.0, shift=-2.0)},
    )

    assert calibrated.probability("awful", language="he") < plain.probability("awful")
    assert calibrated.probability("awful", language="en") == plain.probability("awful")
    assert calibrated.probability("awful") == plain.probability("awful")


def test_the_detector_scores_with_the_calibration_of_the_messages_language() -> None:
    plain = _tiny_model()
    lowered = Model(
        weights=plain.weights,
        bias=plain.bias,
        features=plain.features,
        calibration={"he": Calibration(shift=-3.0), "en": Calibration(shift=3.0)},
    )

    english = Detector(model=lowered).assess("awful")
    forced = Detector(model=lowered).assess("awful", language="he")

    assert english.tone is not None and forced.tone is not None
    assert english.tone > Detector(model=plain).assess("awful").tone > forced.tone  # type: ignore[operator]
    assert forced.language == "he"


def test_a_calibration_survives_a_round_trip_through_bytes() -> None:
    plain = _tiny_model()
    model = Model(
        weights=plain.weights,
        bias=plain.bias,
        features=plain.features,
        calibration={"en": Calibration(scale=0.9, shift=-0.3)},
    )

    loaded = load_model(dump_model(model))

    assert loaded.calibration == {"en": Calibration(scale=0.9, shift=-0.3)}
    assert "calibration" not in loaded.info
    assert loaded.probability("awful", language="en") == pytest.approx(
        model.probability("awful", language="en")
    )


@pytest.mark.parametrize(
    "calibration",
    [b'"he"', b'{"he": [1.0]}', b'{"he": ["x", 0]}', b'{"he": [1.0, NaN]}', b'{"he": [null, 0]}'],
)
def test_a_model_with_a_broken_calibration_is_refused(calibration: bytes) -> None:
    head, _, body = dump_model(_tiny_model()).partition(b"\n")
    broken = head[:-1] + b', "calibration": ' + calibration + b"}\n" + body

    with pytest.raises(ValueError, match="calibration"):
        load_model(broken)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b'{"format": "other"}\n',
        b'{"format": "kesher-tone", "format_version": 1, "bias": 0, "features": {"buckets": 8}}\nnot zlib',
    ],
)
def test_bytes_that_are_not_a_model_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        load_model(data)


@pytest.mark.parametrize(
    "text",
    [
        "no need for an agent anymore, thanks",
        "I don't want to cancel, just to change the date",
        "we are not leaving, just asking",
        "אין צורך בנציג, הסתדרתי",
        "אני לא מבקשת לבטל את המנוי",
        "ממש לא רוצה לבטל",
        "אל תבטלו לי את המנוי, טעות שלי",
    ],
)
def test_a_request_taken_back_by_a_negation_does_not_hand_off(text: str) -> None:
    verdict = assess(text)

    assert not verdict.wants_person and not verdict.wants_to_leave
    assert not verdict.handoff


@pytest.mark.parametrize(
    "text",
    [
        "why won't you put me through to a person",
        "why can't I just talk to someone",
        "למה לא מעבירים אותי לנציג",
        "I don't want the bot, I want a human",
        "אפשר לעבור אל נציג",
    ],
)
def test_a_why_not_or_a_second_clause_still_asks_for_a_person(text: str) -> None:
    assert assess(text).wants_person


@pytest.mark.parametrize(
    "text",
    [
        "your representative had all the answers, great job",
        "the agent who called me was lovely",
        "שוחחתי עם נציגה בבוקר וקיבלתי תשובה",
        "הנציג אמר שזה יגיע מחר",
    ],
)
def test_a_person_talked_about_is_not_a_request(text: str) -> None:
    verdict = assess(text)

    assert not verdict.wants_person
    assert not verdict.handoff


def test_a_person_talked_about_and_then_asked_for_is_a_request() -> None:
    assert assess("the agent was no help, get me a manager").wants_person
    assert assess("הנציג אמר שיחזרו אליי ואף אחד לא חזר, תעבירו אותי למנהל").wants_person


@pytest.mark.parametrize(
    "text",
    [
        "סיום מנוי",
        "please terminate the contract",
        "מבקש לסגור את החשבון",
        "רוצה להתנתק מכם",
        "I am leaving you",
        "אנחנו עוזבים",
    ],
)
def test_cancelling_a_subscription_or_leaving_the_business_hands_off(text: str) -> None:
    assert assess(text).wants_to_leave


@pytest.mark.parametrize(
    "text",
    [
        "I want to leave a review",
        "I'm leaving at 5, can the courier come earlier?",
        "איך מתנתקים מהאפליקציה בטלפון?",
        "when does the end of my plan come",
    ],
)
def test_leaving_a_room_a_review_or_an_app_is_not_leaving_the_business(text: str) -> None:
    assert not assess(text).wants_to_leave


@pytest.mark.parametrize("text", ["נציייג", "representativeee", "רוצהנציג", "תבטלולי"])
def test_held_down_letters_and_missing_spaces_do_not_hide_a_request(text: str) -> None:
    verdict = assess(text)

    assert verdict.wants_person or verdict.wants_to_leave


def _loud_model() -> Model:
    """A model that reads everything as frustrated (probability ~0.9)."""
    features = Features(buckets=16)
    return Model(weights=array("d", [0.0] * 16), bias=2.2, features=features)


@pytest.mark.parametrize(
    "text", ["What time do you open tomorrow?", "כמה עולה משלוח לאילת?", "hi, is it in stock?"]
)
def test_a_plain_question_is_not_handed_off_by_the_tone_model_alone(text: str) -> None:
    verdict = Detector(model=_loud_model()).assess(text)

    assert verdict.score < Sensitivity.SENSITIVE.threshold
    assert "a plain question: tone model not counted" in verdict.reasons


@pytest.mark.parametrize(
    "text",
    [
        "Why is my order late again?",
        "what is wrong with you people???",
        "מה, אין אף אחד שעונה?",
        "What time do you open tomorrow? I wrote this a statement, not a question, really",
    ],
)
def test_a_why_a_cue_or_a_long_message_keeps_the_tone_model(text: str) -> None:
    verdict = Detector(model=_loud_model()).assess(text)

    assert "a plain question: tone model not counted" not in verdict.reasons
    assert verdict.handoff


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("you charged me twice for the same order", "charged me twice"),
        ("the app keeps crashing since the update", "keeps crashing"),
        ("Internet not working since yesterday", "not working"),
        ("you sent me the wrong size", "sent me the wrong"),
        ("my order hasn't arrived, it's been 2 weeks", "hasn t arrived"),
        ("I've been waiting on hold for 45 minutes", "waiting on hold for 45 minutes"),
        ("חויבתי פעמיים על אותה הזמנה", "חויבתי"),
        ("האפליקציה קורסת כל הזמן", "קורסת"),
        ("ממתין על הקו כבר 40 דקות", "ממתין על הקו כבר 40 דקות"),
        ("החבילה הגיעה שבורה", "הגיעה שבורה"),
        ('the "next day delivery" took 9 days', "took 9 days"),
        ("לקח להם שבועיים לענות", "לקח להם שבועיים"),
    ],
)
def test_a_reported_problem_is_named_and_alone_crosses_the_balanced_cut_off(
    text: str, problem: str
) -> None:
    # Without a model the cues start from the no-model prior (0.2): a plain report of what
    # went wrong is frustration enough for a customer chat.
    verdict = assess(text)

    assert verdict.reasons[0].startswith("reports a problem: ")
    assert problem in verdict.reasons[0]
    assert verdict.score >= Sensitivity.BALANCED.threshold


@pytest.mark.parametrize(
    "text",
    [
        "no problem, I can wait a week",
        "it's been a great week, thanks",
        "I'm waiting for next week's sale",
        "it wasn't delayed at all, thanks",
        "מחכה לשבוע הבא",
        "מחכה בקוצר רוח ליום שישי",
        "delivery took only 2 days, great",
        "המשלוח לקח רק יומיים, מעולה",
        "I've been a customer for 3 years",
    ],
)
def test_waiting_words_without_a_measured_wait_or_negated_problems_are_not_a_problem(
    text: str,
) -> None:
    assert not any(r.startswith("reports a problem") for r in assess(text).reasons)


def test_problem_reasons_show_hebrew_final_letters() -> None:
    assert assess("חיכיתי שעתיים").reasons == ("reports a problem: חיכיתי שעתיים",)
    assert assess("לא עונים לי").reasons == ("reports a problem: לא עונים",)


@pytest.mark.parametrize(
    "text",
    [
        "How do I cancel a transfer I scheduled for next week?",
        "can I cancel my appointment and come on Thursday?",
        "אפשר לבטל את התור של 5 ולבוא ב-6 במקום?",
        "איך מבטלים העברה שקבעתי?",
        "we're with another company and thinking of switching to you",
    ],
)
def test_cancelling_a_booking_or_switching_to_the_business_is_not_leaving(text: str) -> None:
    assert not assess(text).wants_to_leave


def test_cancelling_a_booking_and_the_account_is_still_leaving() -> None:
    assert assess("please cancel my order and my account").wants_to_leave
    assert assess("תבטלו את ההזמנה ואת המנוי").wants_to_leave


def test_a_hebrew_word_that_only_looks_like_a_prefixed_insult_is_not_swearing() -> None:
    assert "swearing" not in assess("היי איך מאפסים סיסמא?").reasons
    assert "swearing" not in assess("איך לאפס את הראוטר").reasons
    assert "swearing" in assess("אתם אפסים").reasons


@pytest.mark.parametrize(
    "text",
    ["I'm switching to your competitor", "I want to cancel your service", "אני עובר לחברה אחרת"],
)
def test_switching_away_or_cancelling_the_service_is_still_leaving(text: str) -> None:
    assert assess(text).wants_to_leave


def test_one_word_of_a_hundred_thousand_letters_is_scored_like_any_text() -> None:
    """No split of it can be two known words glued together; it is read, not tried whole."""
    verdict = assess("a" * 100_000)

    assert 0.0 <= verdict.score <= 1.0 and not verdict.wants_person
