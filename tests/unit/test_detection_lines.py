"""`kesher detect` underneath: JSON lines of messages in, one JSON line of verdict out each."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.detection.batch import detect_lines
from flows.frustration import Detector

detector = Detector()


def run(*lines: str, language: str = "auto") -> list[dict[str, Any]]:
    return [json.loads(out) for out in detect_lines(lines, detector=detector, language=language)]


def test_each_message_gets_a_score_a_decision_and_reasons() -> None:
    results = run(
        '{"id": 1, "text": "אני רוצה לדבר עם נציג"}',
        '{"id": "b", "text": "thanks, all good"}',
    )

    assert results[0]["id"] == 1
    assert results[0]["handoff"] is True
    assert results[0]["reasons"] == ["asks for a person"]
    assert results[1] == {"id": "b", "score": results[1]["score"], "handoff": False, "reasons": []}
    assert all(0.0 <= r["score"] <= 1.0 for r in results)


def test_hebrew_is_written_as_is_not_escaped() -> None:
    out = next(
        detect_lines(['{"id": "א", "text": "שירות גרוע"}'], detector=detector, language="auto")
    )

    assert '"id": "א"' in out
    assert "גרוע" in out
    assert "\\u" not in out


def test_the_id_is_kept_exactly_as_given() -> None:
    ids: list[Any] = [0, "007", 1.5, None, {"conversation": 3}, [1, 2], True]

    results = run(*(json.dumps({"id": i, "text": "hi"}) for i in ids))

    assert [r["id"] for r in results] == ids


def test_an_id_with_a_lone_surrogate_goes_back_escaped_and_writable() -> None:
    out = next(
        detect_lines(['{"id": "\\ud800x", "text": "שלום"}'], detector=detector, language="auto")
    )

    out.encode()  # stdout is UTF-8: a bare surrogate could not be written
    assert '"id": "\\ud800x"' in out and json.loads(out)["id"] == "\ud800x"


def test_a_bad_line_gets_an_error_and_the_batch_goes_on() -> None:
    results = run(
        "not json",
        "[1, 2]",
        '{"id": 5}',
        '{"id": 6, "text": 42}',
        "[" * 100_000,
        '{"id": 7, "text": "agent"}',
    )

    assert [r["id"] for r in results] == [None, None, 5, 6, None, 7]
    assert all("error" in r and r["error"].startswith("line ") for r in results[:5])
    assert "score" not in results[0]
    assert results[5]["handoff"] is True


def test_blank_lines_are_skipped_and_line_endings_ignored() -> None:
    results = run('{"id": 1, "text": "hi"}\n', "\n", "   ", '{"id": 2, "text": "hi"}\r\n')

    assert [r["id"] for r in results] == [1, 2]


def test_an_error_names_the_line_it_came_from() -> None:
    results = run('{"id": 1, "text": "hi"}', "", "{oops")

    assert results[1]["error"].startswith("line 3: not JSON")


def test_reading_is_lazy_so_a_stream_is_answered_line_by_line() -> None:
    def endless() -> Any:
        n = 0
        while True:
            n += 1
            yield json.dumps({"id": n, "text": "hello"})

    outputs = detect_lines(endless(), detector=detector, language="auto")

    assert json.loads(next(outputs))["id"] == 1
    assert json.loads(next(outputs))["id"] == 2


def test_the_language_can_be_forced_and_must_be_known() -> None:
    assert run('{"id": 1, "text": "hi"}', language="he")[0]["handoff"] is False
    with pytest.raises(ValueError, match="auto, he, en"):
        detect_lines([], detector=detector, language="fr")
