"""The Kesher team's own list: every explicit request for a person or to leave hands off, and
no calm message of the same length is flagged, in Hebrew and English, at `balanced`.

The list (`tests/data/own_requests.tsv`) was written by hand for issue 6; the tone model is
never trained or calibrated on it.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.detector import default_detector
from flows.frustration import Sensitivity

OWN_LIST = Path(__file__).parent.parent / "data" / "own_requests.tsv"


def _rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in OWN_LIST.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        language, kind, text = line.split("\t")
        rows.append((language, kind, text))
    return rows


ROWS = _rows()


def test_the_own_list_has_150_requests_and_150_calm_messages_in_both_languages() -> None:
    counts = Counter((language, kind) for language, kind, _ in ROWS)

    assert {language for language, _, _ in ROWS} == {"he", "en"}
    assert {kind for _, kind, _ in ROWS} == {"request", "calm"}
    assert counts["he", "request"] + counts["en", "request"] >= 150
    assert counts["he", "calm"] + counts["en", "calm"] >= 150
    assert min(counts.values()) >= 60
    assert len({text for _, _, text in ROWS}) == len(ROWS)


@pytest.mark.parametrize("language", ["he", "en"])
def test_every_own_request_for_a_person_or_to_leave_hands_off(language: str) -> None:
    detector = default_detector(Sensitivity.BALANCED)

    missed = [
        text
        for lang, kind, text in ROWS
        if lang == language and kind == "request" and not detector.assess(text).handoff
    ]

    assert missed == []


@pytest.mark.parametrize("language", ["he", "en"])
def test_no_own_calm_message_is_flagged(language: str) -> None:
    detector = default_detector(Sensitivity.BALANCED)
    cut_off = Sensitivity.BALANCED.threshold

    flagged = []
    for lang, kind, text in ROWS:
        if lang != language or kind != "calm":
            continue
        verdict = detector.assess(text)
        if verdict.handoff or verdict.score >= cut_off:
            flagged.append((text, verdict.score, verdict.reasons))

    assert flagged == []
