"""Knowledge-answer benchmark: how often the knowledge base answers a customer's question, and
how often the answer is the right one, on three sample businesses' knowledge bases and 300
labelled questions in Hebrew and English (bench/data/knowledge/).

.venv/bin/python -m bench.knowledge_answers                 # the shipped weights, per split
.venv/bin/python -m bench.knowledge_answers --tune          # search the weights on the tuning split
.venv/bin/python -m bench.knowledge_answers --no-encoder    # words only (KESHER_ENCODER=false)

The split is by business: the weights are tuned on the bakery-café's 100 questions and the
figures that count are those of the two businesses never looked at while tuning (the clinic
and the electronics shop, 200 questions). Each question is answered as Kesher answers it: the
best entry above the threshold, or nothing. Per language:

- answer precision: of the questions answered, the share answered with their labelled entry;
- coverage: of the questions some entry answers, the share answered with it;
- false-answer rate: of all questions, the share answered wrongly (a wrong entry, or an answer
  to a question no entry answers).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import yaml

from flows import knowledge
from flows.knowledge import SHIPPED, Entry, Weights

DATA = Path(__file__).with_name("data") / "knowledge"
TUNING = frozenset({"bakery-cafe-tlv"})


@dataclass(frozen=True, slots=True)
class Question:
    business: str
    language: str
    text: str
    label: str | None
    vector: knowledge.Vector | None = None


@dataclass(frozen=True, slots=True)
class Business:
    slug: str
    entries: tuple[Entry, ...]
    ids: tuple[str, ...]  # the entry's slug at each index (the matcher's ids are 1..n)


def load(data: Path = DATA) -> tuple[list[Business], list[Question]]:
    businesses = []
    for path in sorted(data.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        entries, ids = [], []
        for number, entry in enumerate(spec["entries"], start=1):
            entries.append(Entry(number, _passages(entry)))
            ids.append(entry["id"])
        businesses.append(Business(spec["slug"], tuple(entries), tuple(ids)))
    with (data / "questions.tsv").open(encoding="utf-8", newline="") as rows:
        questions = [
            Question(r["business"], r["language"], r["question"], _label(r["entry"]))
            for r in csv.DictReader(rows, delimiter="\t", quoting=csv.QUOTE_NONE)
        ]
    return businesses, questions


def _passages(entry: dict[str, str]) -> tuple[str, ...]:
    """Each language's passage as Kesher keeps it: the question (a fact's title) and answer."""
    ask, say = ("title", "body") if entry["kind"] == "fact" else ("question", "answer")
    return tuple(f"{entry[f'{ask}_{lang}']}\n{entry[f'{say}_{lang}']}" for lang in ("he", "en"))


def _label(entry: str) -> str | None:
    return None if entry == "none" else entry


async def encode(
    businesses: list[Business], questions: list[Question]
) -> tuple[list[Business], list[Question]]:
    """Entries as passages and questions as queries, with the bundled encoder."""
    from integrations.encoder import E5Encoder

    encoder = E5Encoder()
    encoded = []
    for business in businesses:
        texts = [t for e in business.entries for t in e.texts]
        vectors = iter(await encoder.embed(texts))
        entries = tuple(
            replace(e, vectors=tuple(next(vectors) for _ in e.texts)) for e in business.entries
        )
        encoded.append(replace(business, entries=entries))
    asked = await encoder.embed([q.text for q in questions], query=True)
    return encoded, [replace(q, vector=v) for q, v in zip(questions, asked, strict=True)]


def answers(
    businesses: Sequence[Business], questions: Iterable[Question], weights: Weights
) -> list[tuple[Question, str | None]]:
    """Each question with the entry Kesher would answer it with, or None."""
    by_slug = {b.slug: b for b in businesses}
    given = []
    for question in questions:
        business = by_slug[question.business]
        ranked = knowledge.rank(
            question.text, business.entries, vector=question.vector, weights=weights
        )
        chosen = knowledge.chosen(ranked, weights=weights)
        given.append((question, business.ids[chosen[0].entry_id - 1] if chosen else None))
    return given


@dataclass(frozen=True, slots=True)
class Figures:
    questions: int
    answerable: int
    answered: int
    right: int
    wrong: int

    @property
    def precision(self) -> float:
        return self.right / self.answered if self.answered else 1.0

    @property
    def coverage(self) -> float:
        return self.right / self.answerable if self.answerable else 0.0

    @property
    def false_rate(self) -> float:
        return self.wrong / self.questions if self.questions else 0.0

    def row(self) -> dict[str, object]:
        return {
            **asdict(self),
            "precision": round(self.precision, 3),
            "coverage": round(self.coverage, 3),
            "false_answer_rate": round(self.false_rate, 3),
        }


def figures(given: Iterable[tuple[Question, str | None]]) -> Figures:
    pairs = list(given)
    right = sum(1 for q, a in pairs if a is not None and a == q.label)
    answered = sum(1 for _, a in pairs if a is not None)
    return Figures(
        questions=len(pairs),
        answerable=sum(1 for q, _ in pairs if q.label is not None),
        answered=answered,
        right=right,
        wrong=answered - right,
    )


def report(
    businesses: Sequence[Business], questions: Sequence[Question], weights: Weights
) -> dict[str, dict[str, object]]:
    """The figures per split and language."""
    given = answers(businesses, questions, weights)
    splits = {
        "held-out": [g for g in given if g[0].business not in TUNING],
        "tuning": [g for g in given if g[0].business in TUNING],
    }
    table: dict[str, dict[str, object]] = {}
    for split, pairs in splits.items():
        for language in ("he", "en", "all"):
            chosen = [p for p in pairs if language in ("all", p[0].language)]
            table[f"{split} {language}"] = figures(chosen).row()
    return table


def tune(
    businesses: Sequence[Business], questions: Sequence[Question], *, wrong_cost: float
) -> tuple[Weights, Figures]:
    """The weights with the most right answers less `wrong_cost` for each wrong one on the
    tuning split (ties: fewer answers, then the shipped weights, then the first in the grid)."""
    tuning = [q for q in questions if q.business in TUNING]
    semantic = any(q.vector is not None for q in tuning)
    best: tuple[tuple[float, int, bool], Weights, Figures] | None = None
    grid = (
        itertools.product((0.06, 0.08, 0.10, 0.12), (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0))
        if semantic
        else [(SHIPPED.spread, SHIPPED.semantic)]  # the lead's weight is the shipped one
    )
    for spread, share in grid:
        base = replace(SHIPPED, spread=spread, semantic=share)
        scored = _scored(businesses, tuning, base)
        for threshold, lead in itertools.product(
            [t / 100 for t in range(20, 130, 2)],
            (0.0, 0.5, 1.0, 2.0) if semantic else [SHIPPED.lead],
        ):
            weights = (
                replace(base, answer=threshold, lead=lead)
                if semantic
                else replace(base, lexical_answer=threshold, lead=lead)
            )
            found = figures(_decide(scored, weights))
            key = (found.right - wrong_cost * found.wrong, -found.answered, weights == SHIPPED)
            if best is None or key > best[0]:
                best = (key, weights, found)
    assert best is not None
    return best[1], best[2]


def _scored(
    businesses: Sequence[Business], questions: Sequence[Question], weights: Weights
) -> list[tuple[Question, list[knowledge.Match], Business]]:
    by_slug = {b.slug: b for b in businesses}
    return [
        (
            q,
            knowledge.rank(q.text, by_slug[q.business].entries, vector=q.vector, weights=weights),
            by_slug[q.business],
        )
        for q in questions
    ]


def _decide(
    scored: Sequence[tuple[Question, list[knowledge.Match], Business]], weights: Weights
) -> list[tuple[Question, str | None]]:
    given = []
    for question, ranked, business in scored:
        chosen = knowledge.chosen(ranked, weights=weights)
        given.append((question, business.ids[chosen[0].entry_id - 1] if chosen else None))
    return given


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--no-encoder", action="store_true", help="words only")
    parser.add_argument("--tune", action="store_true", help="search the weights first")
    parser.add_argument(
        "--wrong-cost", type=float, default=3.0, help="a wrong answer costs this many right ones"
    )
    options = parser.parse_args()
    businesses, questions = load(options.data)
    if not options.no_encoder:
        businesses, questions = asyncio.run(encode(businesses, questions))
    weights = SHIPPED
    if options.tune:
        weights, found = tune(businesses, questions, wrong_cost=options.wrong_cost)
        print(json.dumps({"tuned": asdict(weights), "on tuning split": found.row()}))
    print(json.dumps({"weights": asdict(weights), "encoder": not options.no_encoder}))
    for name, row in report(businesses, questions, weights).items():
        print(json.dumps({"split": name, **row}, ensure_ascii=False))


if __name__ == "__main__":
    main()
