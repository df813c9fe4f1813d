"""The knowledge-answer benchmark on its data, so it cannot rot, and the shipped weights keep
their held-out figures (bench/README.md#knowledge-answers)."""

from __future__ import annotations

import asyncio

import pytest

from bench import knowledge_answers
from flows.knowledge import SHIPPED

pytestmark = pytest.mark.slow


def test_the_benchmark_data_is_whole() -> None:
    businesses, questions = knowledge_answers.load()

    assert len(businesses) == 3 and sum(len(b.entries) for b in businesses) == 57
    assert len(questions) == 300 and {q.language for q in questions} == {"he", "en"}
    ids = {b.slug: set(b.ids) for b in businesses}
    assert all(q.label is None or q.label in ids[q.business] for q in questions)


def test_the_shipped_weights_answer_held_out_questions_rightly_with_the_encoder() -> None:
    businesses, questions = asyncio.run(knowledge_answers.encode(*knowledge_answers.load()))

    table = knowledge_answers.report(businesses, questions, SHIPPED)

    held_out = table["held-out all"]
    assert held_out["precision"] >= 0.9  # type: ignore[operator]
    assert held_out["false_answer_rate"] <= 0.05  # type: ignore[operator]
    assert held_out["coverage"] >= 0.55  # type: ignore[operator]
    assert table["held-out he"]["coverage"] >= 0.4  # type: ignore[operator]


def test_words_alone_still_answer_some_and_rarely_wrongly() -> None:
    businesses, questions = knowledge_answers.load()

    held_out = knowledge_answers.report(businesses, questions, SHIPPED)["held-out all"]

    assert held_out["precision"] >= 0.8 and held_out["coverage"] >= 0.25  # type: ignore[operator]
