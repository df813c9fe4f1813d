"""Batch scoring behind `kesher detect`: JSON lines of messages in, JSON lines of verdicts out."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from flows.frustration import Detector

LANGUAGES = ("auto", "he", "en")


def detect_lines(lines: Iterable[str], *, detector: Detector, language: str) -> Iterator[str]:
    """One output line per non-blank input line, in order; a bad line gets an `error` instead.

    Lazy: each line is answered as it is read. ValueError at once for an unknown `language`.

    Input `{"id": ..., "text": ...}`; output `{"id": ..., "score": 0..1, "handoff": bool,
    "reasons": [...]}` with the id exactly as given. `language` is "auto" (told by script
    per message) or "he"/"en" to force it.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    forced = None if language == "auto" else language
    return _outputs(lines, detector=detector, language=forced)


def _outputs(lines: Iterable[str], *, detector: Detector, language: str | None) -> Iterator[str]:
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield _dump(_score(line, number, detector=detector, language=language))


def _score(line: str, number: int, *, detector: Detector, language: str | None) -> dict[str, Any]:
    try:
        message = json.loads(line)
    except json.JSONDecodeError as error:
        return {"id": None, "error": f"line {number}: not JSON ({error.msg})"}
    except (ValueError, RecursionError):  # e.g. nested ten thousand deep
        return {"id": None, "error": f"line {number}: not JSON"}
    if not isinstance(message, dict):
        return {"id": None, "error": f"line {number}: expected an object with id and text"}
    identifier = message.get("id")
    text = message.get("text")
    if not isinstance(text, str):
        return {"id": identifier, "error": f"line {number}: text must be a string"}
    try:
        verdict = detector.assess(text, language=language)
    except Exception as error:  # one bad message must not stop a batch
        return {"id": identifier, "error": f"line {number}: {type(error).__name__}: {error}"}
    return {
        "id": identifier,
        "score": verdict.score,
        "handoff": verdict.handoff,
        "reasons": list(verdict.reasons),
    }


def _dump(record: dict[str, Any]) -> str:
    try:
        line = json.dumps(record, ensure_ascii=False)
    except ValueError:  # an id json.loads accepted but cannot write back (NaN is fine; huge ints)
        record["id"] = str(record["id"])
        line = json.dumps(record, ensure_ascii=False)
    try:
        line.encode()
    except UnicodeEncodeError:  # a lone surrogate ("\ud800") goes back escaped, as it came
        return json.dumps(record)
    return line
