"""The shipped second tone (flows/models/second_tone.json) is whole and consistent."""

from __future__ import annotations

import pytest

from bench.sandbox_load import UNSURE
from bot.detection.shipped import default_detector, shipped_second_tone
from flows.frustration import Sensitivity
from flows.frustration.second_tone import SENSITIVITIES


def test_the_shipped_file_has_a_head_blend_and_cuts_for_both_languages() -> None:
    second = shipped_second_tone()

    assert len(second.head.weights) == 384  # multilingual-e5-small
    assert set(second.blends) == {"en", "he"} == set(second.cuts)
    assert all(blend.e5 > 0 and blend.tone > 0 for blend in second.blends.values())
    assert "trained_by" in second.info and "trained_on" in second.info


@pytest.mark.parametrize("language", ["en", "he"])
def test_cut_offs_rise_with_caution_and_each_band_holds_the_fast_cut_off(language: str) -> None:
    second = shipped_second_tone()
    thresholds = [second.cut(language, name).threshold for name in SENSITIVITIES]

    assert thresholds == sorted(thresholds)
    for name in SENSITIVITIES:
        cut = second.cut(language, name)
        assert 0 <= cut.low <= Sensitivity(name).threshold < cut.high <= 1


@pytest.mark.parametrize("template", UNSURE)
def test_most_of_the_benchmarks_unsure_messages_are_in_the_balanced_band(template: str) -> None:
    detector = default_detector()
    found = [detector.assess(template.format(n=n)).uncertain for n in range(0, 2000, 40)]

    assert sum(found) >= 0.6 * len(found)


def test_without_the_encoder_the_band_is_the_sensitivitys_own() -> None:
    verdict = default_detector(encoder=False).assess("the app is not working again")

    assert verdict.band is None
    assert verdict.uncertain == (
        Sensitivity.BALANCED.uncertain_band[0]
        <= verdict.score
        < Sensitivity.BALANCED.uncertain_band[1]
    )
