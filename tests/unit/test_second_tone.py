"""The encoder's second tone: the head on a vector, the blend per language, the cut-offs and the
band, as pure arithmetic on vectors passed in (fixed vectors here, no encoder)."""

from __future__ import annotations

import math

import pytest

from flows.frustration import Detector, Sensitivity
from flows.frustration.detector import REQUEST_SCORE
from flows.frustration.second_tone import (
    Blend,
    Cut,
    Head,
    SecondTone,
    dump_second_tone,
    load_second_tone,
    logit,
    sigmoid,
)

ANGRY = (1.0, 0.0, 0.0)
CALM = (0.0, 1.0, 0.0)
HEAD = Head(weights=(3.0, -3.0, 0.0), bias=0.0)


def cuts(threshold: float, low: float, high: float) -> dict[str, Cut]:
    return {
        "sensitive": Cut(threshold - 0.1, low - 0.1, high),
        "balanced": Cut(threshold, low, high),
        "conservative": Cut(threshold + 0.1, low, high + 0.1),
    }


SECOND = SecondTone(
    head=HEAD,
    blends={"en": Blend(tone=0.0, e5=1.0, bias=0.0), "he": Blend(tone=0.5, e5=0.5, bias=-1.0)},
    cuts={"en": cuts(0.5, 0.1, 0.9), "he": cuts(0.6, 0.2, 0.8)},
    info={"trained_by": "a test"},
)


def test_the_head_is_a_logistic_regression_on_the_vector() -> None:
    assert HEAD.probability(ANGRY) == pytest.approx(sigmoid(3.0))
    assert HEAD.probability(CALM) == pytest.approx(sigmoid(-3.0))
    assert HEAD.probability((0.0, 0.0, 1.0)) == pytest.approx(0.5)


def test_a_vector_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError, match="vector of 3"):
        HEAD.probability((1.0, 0.0))


def test_the_blend_adds_the_two_tones_on_the_log_odds_scale() -> None:
    blend = Blend(tone=0.4, e5=1.5, bias=-0.3)

    assert blend.start(0.8, 0.1) == pytest.approx(0.4 * logit(0.8) + 1.5 * logit(0.1) - 0.3)


def test_each_language_has_its_blend_and_cut_offs_and_other_text_is_blended_as_english() -> None:
    assert SECOND.blend("he").bias == -1.0
    assert SECOND.blend(None) == SECOND.blend("en") == SECOND.blend("ar")
    assert SECOND.cut("he", "balanced").threshold == 0.6
    assert SECOND.cut(None, "conservative") == SECOND.cut("en", "conservative")


def test_with_the_vector_the_score_is_the_blend_plus_the_rules() -> None:
    detector = Detector(second=SECOND)  # no tone model: the tone is the no-model prior
    text = "the order never arrived"  # a reported problem: the rules add their weight

    fast = detector.assess(text, language="en")
    angry = detector.assess(text, language="en", embedding=ANGRY)
    calm = detector.assess(text, language="en", embedding=CALM)

    rules = logit(fast.score) - logit(0.2)
    assert angry.score == pytest.approx(sigmoid(3.0 + rules), abs=1e-4)
    assert calm.score == pytest.approx(sigmoid(-3.0 + rules), abs=1e-4)
    assert angry.encoder == pytest.approx(sigmoid(3.0), abs=1e-4)
    assert angry.reasons[-1] == f"encoder {sigmoid(3.0):.2f}"
    assert fast.encoder is None and "encoder" not in " ".join(fast.reasons)


def test_the_blended_score_is_held_to_the_blends_cut_off_not_the_sensitivitys() -> None:
    # balanced's own cut-off is 0.65; the blend's English one here is 0.5.
    detector = Detector(second=SECOND)
    vector = (0.1, 0.0, 0.0)  # e5 = sigmoid(0.3) = 0.574, no rule: the score is the e5 alone

    verdict = detector.assess("hello there", language="en", embedding=vector)

    assert 0.5 <= verdict.score < Sensitivity.BALANCED.threshold
    assert verdict.handoff and verdict.cut_off == 0.5


def test_a_request_for_a_person_hands_off_whatever_the_encoder_says() -> None:
    verdict = Detector(second=SECOND).assess("I want a real person", language="en", embedding=CALM)

    assert verdict.handoff and verdict.score >= REQUEST_SCORE
    assert not verdict.uncertain


def test_the_fast_verdict_is_uncertain_within_the_band_of_its_language_and_sensitivity() -> None:
    detector = Detector(second=SECOND, sensitivity=Sensitivity.BALANCED)

    verdict = detector.assess("hello there", language="he")

    assert verdict.band == (0.2, 0.8)
    assert verdict.uncertain == (0.2 <= verdict.score < 0.8)
    low_band = Detector(second=SECOND, sensitivity=Sensitivity.SENSITIVE).assess(
        "hello there", language="he"
    )
    assert low_band.band == (0.1, 0.8)


def test_a_blended_verdict_is_uncertain_only_near_its_own_cut_off() -> None:
    detector = Detector(second=SECOND)
    near = detector.assess("hello there", language="en", embedding=(0.0, 0.0, 1.0))  # e5 0.5
    sure = detector.assess("hello there", language="en", embedding=CALM)

    assert near.score == pytest.approx(0.5, abs=1e-3) and near.uncertain
    assert sure.score < 0.1 and not sure.uncertain


def test_a_plain_question_does_not_count_the_blended_tone_above_the_prior() -> None:
    detector = Detector(second=SECOND)

    verdict = detector.assess("what time do you open?", language="en", embedding=ANGRY)

    assert verdict.score == pytest.approx(0.2, abs=1e-3)
    assert not verdict.handoff


def test_the_file_form_round_trips_and_keeps_its_provenance() -> None:
    loaded = load_second_tone(dump_second_tone(SECOND))

    assert loaded.head == SECOND.head
    assert loaded.blends == SECOND.blends
    assert loaded.cuts == SECOND.cuts
    assert loaded.info["trained_by"] == "a test"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00 not json", "not JSON"),
        (b'{"format": "something-else"}', "not a Kesher second tone"),
        (b'{"format": "kesher-second-tone", "format_version": 9}', "unsupported"),
        (b'{"format": "kesher-second-tone", "format_version": 1, "head": {}}', "second tone"),
    ],
)
def test_bytes_that_are_not_a_second_tone_are_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_second_tone(data)


def test_a_file_without_english_or_with_a_missing_sensitivity_is_refused() -> None:
    without_english = SecondTone(
        head=HEAD, blends={"he": SECOND.blends["he"]}, cuts={"he": SECOND.cuts["he"]}
    )
    missing = SecondTone(
        head=HEAD,
        blends=SECOND.blends,
        cuts={"en": {"balanced": Cut(0.5, 0.1, 0.9)}},
    )

    with pytest.raises(ValueError, match="'en'"):
        load_second_tone(dump_second_tone(without_english))
    with pytest.raises(ValueError, match="must name"):
        load_second_tone(dump_second_tone(missing))


def test_non_finite_weights_are_refused() -> None:
    broken = SecondTone(
        head=Head((math.inf, 0.0, 0.0), 0.0), blends=SECOND.blends, cuts=SECOND.cuts
    )

    with pytest.raises(ValueError, match="finite"):
        load_second_tone(dump_second_tone(broken))
