"""A flow's questions as plain lines for the console: each question's wording in one language
(every wording, when it depends on an earlier answer), its choices, and a scale's range.

Built-in flows word some questions from earlier answers (NPS asks "why?" one way for a
detractor, another for a promoter), so those are asked with every earlier answer a choice or
a number from 0 to 10 can give, and each different wording is kept once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flows.answers import Value
from flows.engine import Ask, Flow
from flows.text import Text

NUMBERS = range(11)
MAX_SAMPLES = 200


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    texts: tuple[str, ...]
    choices: tuple[str, ...] = ()
    scale: tuple[int, int] | None = None


class _Kept(dict[str, str]):
    """Fields with no value stay as written, `{name}`."""

    def __missing__(self, key: str) -> str:
        return f"{{{key}}}"


def _said(text: Text, language: str, fields: Mapping[str, str]) -> str:
    template = text.he if language == "he" else text.en
    try:
        return template.format_map(_Kept(fields))
    except (ValueError, IndexError):
        return template


def _answers(step: Ask) -> list[Value]:
    """What the step's answer can be, as far as a later question's wording may look at it."""
    parse = step.parse
    numbers: list[Value] = [v for n in NUMBERS if parse and isinstance(v := parse(str(n)), int)]
    return numbers or [option for option, _ in step.choices]


def outline(flow: Flow, language: str, *, fields: Mapping[str, str]) -> tuple[Question, ...]:
    """The flow's questions in `language`, in order, with `fields` such as {business} filled."""
    found: list[Question] = []
    samples: list[dict[str, Value]] = [{}]
    for step in flow.steps:
        if not isinstance(step, Ask):
            continue
        wordings: list[str] = []
        for answers in samples if callable(step.question) else [{}]:
            try:
                text = step.question(answers) if callable(step.question) else step.question
            except (KeyError, TypeError):
                continue
            if (said := _said(text, language, fields)) not in wordings:
                wordings.append(said)
        values = _answers(step)
        numbers = [v for v in values if isinstance(v, int)]
        found.append(
            Question(
                step.key,
                tuple(wordings),
                ()
                if numbers
                else tuple(_said(label, language, fields) for _, label in step.choices),
                (min(numbers), max(numbers)) if numbers else None,
            )
        )
        if values and len(samples) * len(values) <= MAX_SAMPLES:
            samples = [{**a, step.key: v} for a in samples for v in values]
    return tuple(found)
