"""Train the frustration detector's tone model from ../shared/datasets, in plain Python.

    python -m training.detector --datasets ../shared/datasets --out flows/models/frustration.bin

Only the train splits are learnt from (HebEMO has one file: a fixed 85% of it, by a hash of
the comment id). The dev splits, and the held-out 15% of HebEMO, are scored at the end, for
the tone model alone and for the whole offline detector, with the figures printed and kept
in the model file's header. Deterministic: a fixed seed, no clock, no threads.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
import zlib
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from flows.frustration import Detector, Sensitivity
from flows.tone import Features, Model, dump_model

SEED = 20240601
FRUSTRATED = {"anger", "annoyance", "disappointment"}
NOT_CALM = {
    "disapproval",
    "disgust",
    "sadness",
    "fear",
    "grief",
    "remorse",
    "nervousness",
    "embarrassment",
    "confusion",
}
HEBEMO_DEV_SHARE = 15  # percent of HebEMO held out as dev, chosen by comment id


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    frustrated: bool
    language: str
    source: str


def read_goemotions(folder: Path, split: str) -> list[Example]:
    names = (folder / "labels.txt").read_text(encoding="utf-8").split()
    examples = []
    with (folder / f"{split}.tsv").open(encoding="utf-8", newline="") as lines:
        for row in csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) < 2:
                continue
            labels = {names[int(i)] for i in row[1].split(",") if i.strip()}
            if labels & FRUSTRATED:
                examples.append(Example(row[0], True, "en", "goemotions"))
            elif not labels & NOT_CALM:
                examples.append(Example(row[0], False, "en", "goemotions"))
    return examples


def read_hebrew_sentiment(folder: Path, split: str) -> list[Example]:
    examples = []
    with (folder / f"{split}.tsv").open(encoding="utf-8", newline="") as lines:
        rows = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in rows:
            if len(row) < 2 or row[1].strip() not in {"0", "1"}:
                continue  # the header, and label 2 (off-topic)
            examples.append(Example(row[0], row[1].strip() == "1", "he", "hebrew-sentiment"))
    return examples


def read_hebemo(folder: Path, split: str) -> list[Example]:
    examples = []
    with (folder / "hebemo_main.csv").open(encoding="utf-8", newline="") as lines:
        for row in csv.DictReader(lines):
            held_out = zlib.crc32(row["doc_id"].encode()) % 100 < HEBEMO_DEV_SHARE
            if held_out != (split == "dev"):
                continue
            if float(row["anger_share_present"]) >= 0.7:
                examples.append(Example(row["text"], True, "he", "hebemo"))
            elif float(row["anger_mean"]) <= 0.3:
                examples.append(Example(row["text"], False, "he", "hebemo"))
    return examples


READERS: dict[str, Callable[[Path, str], list[Example]]] = {
    "goemotions-en": read_goemotions,
    "hebrew-sentiment-he": read_hebrew_sentiment,
    "hebemo-he": read_hebemo,
}


def read(datasets: Path, split: str) -> list[Example]:
    examples: list[Example] = []
    for folder, reader in READERS.items():
        if (datasets / folder).is_dir():
            examples += reader(datasets / folder, split)
    return examples


def balance(examples: Sequence[Example]) -> list[float]:
    """Sample weights: each language weighs the same, and within it each class half."""
    counts: dict[tuple[str, bool], int] = {}
    for example in examples:
        key = (example.language, example.frustrated)
        counts[key] = counts.get(key, 0) + 1
    languages = {language for language, _ in counts}
    total = len(examples)
    return [
        total / (len(languages) * 2 * counts[(e.language, e.frustrated)])
        if counts.get((e.language, not e.frustrated))
        else total / (len(languages) * counts[(e.language, e.frustrated)])
        for e in examples
    ]


def train(
    examples: Sequence[Example],
    *,
    features: Features,
    epochs: int = 6,
    rate: float = 0.5,
    l2: float = 2e-6,
    seed: int = SEED,
    log: Callable[[str], None] = print,
) -> Model:
    """Logistic regression by SGD over hashed features, with balanced sample weights."""
    rows = [features.indices(e.text) for e in examples]
    data = [(array("i", ids), value) for ids, value in rows]
    labels = [1.0 if e.frustrated else 0.0 for e in examples]
    sample_weights = balance(examples)
    weights = [0.0] * features.buckets
    bias = 0.0
    order = list(range(len(examples)))
    rng = random.Random(seed)
    step = 0
    for epoch in range(epochs):
        rng.shuffle(order)
        loss = 0.0
        for k in order:
            ids, value = data[k]
            step += 1
            eta = rate / (1.0 + step * 1e-5)
            z = bias + value * sum([weights[i] for i in ids])
            z = max(-30.0, min(30.0, z))
            p = 1.0 / (1.0 + math.exp(-z))
            y = labels[k]
            loss -= sample_weights[k] * (math.log(p) if y else math.log(1.0 - p))
            gradient = eta * sample_weights[k] * (p - y)
            bias -= gradient * 0.1
            delta = gradient * value
            shrink = 1.0 - eta * l2
            for i in ids:
                weights[i] = weights[i] * shrink - delta
        log(f"epoch {epoch + 1}/{epochs}: weighted log-loss {loss / max(1, len(order)):.4f}")
    return Model(weights=array("f", weights), bias=bias, features=features)


@dataclass(frozen=True, slots=True)
class Figures:
    n: int
    positives: int
    precision: float
    recall: float
    f1: float
    false_handoff_rate: float
    roc_auc: float

    def line(self, name: str) -> str:
        return (
            f"{name:<32} n={self.n:<5} pos={self.positives:<5} P={self.precision:.3f} "
            f"R={self.recall:.3f} F1={self.f1:.3f} FHR={self.false_handoff_rate:.3f} "
            f"AUC={self.roc_auc:.3f}"
        )

    def as_dict(self) -> dict[str, float]:
        return {
            "n": self.n,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "false_handoff_rate": round(self.false_handoff_rate, 4),
            "roc_auc": round(self.roc_auc, 4),
        }


def roc_auc(scores: Sequence[float], truth: Sequence[bool]) -> float:
    ranked = sorted(zip(scores, truth, strict=True), key=lambda pair: pair[0])
    positives = sum(truth)
    negatives = len(truth) - positives
    if not positives or not negatives:
        return float("nan")
    rank_sum = 0.0
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        average_rank = (i + j) / 2 + 1
        rank_sum += average_rank * sum(1 for _, t in ranked[i : j + 1] if t)
        i = j + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def figures(scores: Sequence[float], truth: Sequence[bool], threshold: float) -> Figures:
    flagged = [s >= threshold for s in scores]
    tp = sum(1 for f, t in zip(flagged, truth, strict=True) if f and t)
    fp = sum(1 for f, t in zip(flagged, truth, strict=True) if f and not t)
    fn = sum(1 for f, t in zip(flagged, truth, strict=True) if not f and t)
    negatives = len(truth) - sum(truth)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Figures(
        n=len(truth),
        positives=sum(truth),
        precision=precision,
        recall=recall,
        f1=f1,
        false_handoff_rate=fp / negatives if negatives else 0.0,
        roc_auc=roc_auc(scores, truth),
    )


def report(
    examples: Sequence[Example],
    scores: Sequence[float],
    threshold: float,
    *,
    title: str,
    log: Callable[[str], None] = print,
) -> dict[str, dict[str, float]]:
    groups: dict[str, list[int]] = {"overall": list(range(len(examples)))}
    for i, example in enumerate(examples):
        groups.setdefault(example.language, []).append(i)
        groups.setdefault(f"{example.language}/{example.source}", []).append(i)
    log(f"{title} (threshold {threshold:.2f})")
    result = {}
    for name in sorted(groups, key=lambda g: (g != "overall", g)):
        members = groups[name]
        found = figures(
            [scores[i] for i in members], [examples[i].frustrated for i in members], threshold
        )
        log("  " + found.line(name))
        result[name] = found.as_dict()
    return result


def evaluate(
    model: Model, dev: Sequence[Example], *, log: Callable[[str], None] = print
) -> dict[str, object]:
    tone = [model.probability(e.text) for e in dev]
    summary: dict[str, object] = {
        "tone_model": report(dev, tone, 0.5, title="tone model alone", log=log)
    }
    detector = Detector(model=model)
    scores = [detector.assess(e.text).score for e in dev]
    for sensitivity in Sensitivity:
        summary[f"detector_{sensitivity.value}"] = report(
            dev,
            scores,
            sensitivity.threshold,
            title=f"whole offline detector, {sensitivity.value}",
            log=log,
        )
    truth = [e.frustrated for e in dev]
    sweep = []
    for step in range(6, 19):
        threshold = step / 20
        found = figures(scores, truth, threshold)
        sweep.append(f"{threshold:.2f}: F1 {found.f1:.3f} FHR {found.false_handoff_rate:.3f}")
    log("whole offline detector, overall by threshold: " + "; ".join(sweep))
    return summary


def describe(datasets: Iterable[str]) -> str:
    return (
        "train splits of "
        + ", ".join(sorted(datasets))
        + f" (HebEMO: the {100 - HEBEMO_DEV_SHARE}% of hebemo_main.csv whose crc32(doc_id) % 100 "
        + f">= {HEBEMO_DEV_SHARE}); labels per datasets/README.md"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.detector", description=__doc__)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--out", type=Path, default=Path("flows/models/frustration.bin"))
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--buckets-log2", type=int, default=18)
    args = parser.parse_args(argv)

    train_set = read(args.datasets, "train")
    dev_set = read(args.datasets, "dev")
    if not train_set:
        print(f"no training data under {args.datasets}", file=sys.stderr)
        return 1
    used = sorted({e.source for e in train_set})
    for source in used:
        rows = [e for e in train_set if e.source == source]
        print(f"train {source}: {len(rows)} rows, {sum(e.frustrated for e in rows)} frustrated")
    features = Features(buckets=1 << args.buckets_log2)
    model = train(train_set, features=features, epochs=args.epochs)
    info: dict[str, object] = {
        "version": 1,
        "trained_on": describe(sorted({f for f in READERS if (args.datasets / f).is_dir()})),
        "trained_by": "python -m training.detector",
        "seed": SEED,
        "epochs": args.epochs,
    }
    model = Model(weights=model.weights, bias=model.bias, features=features, info=info)
    if dev_set:
        info["dev"] = evaluate(model, dev_set)
        model = Model(weights=model.weights, bias=model.bias, features=features, info=info)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    data = dump_model(model)
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data) / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
