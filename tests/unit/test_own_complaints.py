"""The Kesher team's independent list of customer-service complaints and calm messages: most
complaints are caught and few calm messages are flagged, in Hebrew and English, at `balanced`.

The list (`tests/data/own_complaints.tsv`) was written by hand for issue 6 by a team member who
had not seen the detector's word lists; the tone model is never trained or calibrated on it.
The floors below sit under what the detector measured on it (docs/frustration.md, "How well
it does"), so a change that loses complaints or flags calm messages fails here.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.detection.shipped import default_detector
from flows.frustration import Sensitivity
from training.detector import read_own

ROWS = read_own(Path(__file__).parent.parent / "data" / "own_complaints.tsv")


def test_the_list_has_110_complaints_and_110_calm_messages_per_language() -> None:
    counts = Counter((row.language, row.frustrated) for row in ROWS)

    assert counts == {("en", True): 110, ("en", False): 110, ("he", True): 110, ("he", False): 110}
    assert len({row.text for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("language", ["he", "en"])
def test_most_complaints_are_caught_and_few_calm_messages_flagged(language: str) -> None:
    detector = default_detector(Sensitivity.BALANCED)
    handed = Counter(
        (row.frustrated, detector.assess(row.text).handoff)
        for row in ROWS
        if row.language == language
    )

    caught = handed[True, True] / (handed[True, True] + handed[True, False])
    flagged = handed[False, True] / (handed[False, True] + handed[False, False])
    assert caught >= 0.6
    assert flagged <= 0.1
