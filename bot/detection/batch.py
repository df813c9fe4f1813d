"""Batch scoring behind `kesher detect`: JSON lines of messages in, JSON lines of verdicts out."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from flows.frustration import Detector, Verdict

LANGUAGES = ("auto", "he", "en")

# One text's encoder vector, as the worker gets it (`Encoder.embed(..., query=True)`).
Embed = Callable[[str], Sequence[float]]


def detect_lines(
    lines: Iterable[str], *, detector: Detector, language: str, embed: Embed | None = None
) -> Iterator[str]:
    """One output line per non-blank input line, in order; a bad line gets an `error` instead.

    Lazy: each line is answered as it is read. ValueError at once for an unknown `language`.

    Input `{"id": ..., "text": ...}`; output `{"id": ..., "score": 0..1, "handoff": bool,
    "reasons": [...]}` with the id exactly as given. `language` is "auto" (told by script
    per message) or "he"/"en" to force it. With `embed`, a message in the fast detector's
    uncertain band gets the encoder's opinion, as in the product's workers: the final verdict.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    forced = None if language == "auto" else language
    return _outputs(lines, detector=detector, language=forced, embed=embed)


def _outputs(
    lines: Iterable[str], *, detector: Detector, language: str | None, embed: Embed | None
) -> Iterator[str]:
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield _dump(_score(line, number, detector=detector, language=language, embed=embed))


def final_verdict(
    text: str, *, detector: Detector, language: str | None, embed: Embed | None
) -> Verdict:
    """The fast verdict, or the blended one where the fast one is unsure and `embed` is given."""
    verdict = detector.assess(text, language=language)
    if embed is None or detector.second is None or not verdict.uncertain:
        return verdict
    return detector.assess(text, language=language, embedding=embed(text))


def _score(
    line: str, number: int, *, detector: Detector, language: str | None, embed: Embed | None
) -> dict[str, Any]:
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
        verdict = final_verdict(text, detector=detector, language=language, embed=embed)
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
