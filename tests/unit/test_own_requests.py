"""The Kesher team's own list: every explicit request for a person or to leave hands off, and
no calm message of the same length is flagged, in Hebrew and English, at `balanced`.

The list (`tests/data/own_requests.tsv`) was written by hand for issue 6; the tone model is
never trained or calibrated on it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.detection.shipped import default_detector
from flows.frustration import Sensitivity
from training.detector import read_own

ROWS = read_own(Path(__file__).parent.parent / "data" / "own_requests.tsv")


def test_the_own_list_has_150_requests_and_150_calm_messages_in_both_languages() -> None:
    counts = Counter((row.language, row.frustrated) for row in ROWS)

    assert counts["he", True] + counts["en", True] >= 150
    assert counts["he", False] + counts["en", False] >= 150
    assert len(counts) == 4 and min(counts.values()) >= 60
    assert len({row.text for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("language", ["he", "en"])
def test_every_own_request_for_a_person_or_to_leave_hands_off(language: str) -> None:
    detector = default_detector(Sensitivity.BALANCED)

    missed = [
        row.text
        for row in ROWS
        if row.language == language and row.frustrated and not detector.assess(row.text).handoff
    ]

    assert missed == []


@pytest.mark.parametrize("language", ["he", "en"])
def test_no_own_calm_message_is_flagged(language: str) -> None:
    detector = default_detector(Sensitivity.BALANCED)
    cut_off = Sensitivity.BALANCED.threshold

    flagged = []
    for row in ROWS:
        if row.language != language or row.frustrated:
            continue
        verdict = detector.assess(row.text)
        if verdict.handoff or verdict.score >= cut_off:
            flagged.append((row.text, verdict.score, verdict.reasons))

    assert flagged == []
