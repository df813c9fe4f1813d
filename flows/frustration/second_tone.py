"""The second tone: a logistic head on the sentence encoder's vector, blended with the tone model.

The encoder (multilingual-e5-small) turns a message into a unit-length vector in `bot/`; this
module only does arithmetic on the vector it is given. The head is one logistic regression on
the vector, trained on both languages. Per language, the blend adds the two tones on the
log-odds scale, `a * logit(tone) + c * logit(e5) + b`, in place of the tone model's log-odds
alone; the rules and the conversation then add their evidence with their usual weights. The
blended score has cut-offs of its own, per language and sensitivity, and the fast score an
uncertain band per language and sensitivity: the messages worth encoding.

The file form is one JSON object (`dump_second_tone` / `load_second_tone`), with the head's
weights and the provenance of all of it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FORMAT = "kesher-second-tone"
FORMAT_VERSION = 1
SENSITIVITIES = ("sensitive", "balanced", "conservative")
FALLBACK_LANGUAGE = "en"  # a message with no letters (emoji, digits) is blended as English


@dataclass(frozen=True, slots=True)
class Head:
    """Logistic regression on an encoder vector: the chance the message reads as frustrated."""

    weights: tuple[float, ...]
    bias: float

    def probability(self, vector: Sequence[float]) -> float:
        if len(vector) != len(self.weights):
            raise ValueError(f"expected a vector of {len(self.weights)}, got {len(vector)}")
        return sigmoid(
            self.bias + math.fsum(w * x for w, x in zip(self.weights, vector, strict=True))
        )


@dataclass(frozen=True, slots=True)
class Blend:
    """How one language weighs the two tones, on the log-odds scale."""

    tone: float
    e5: float
    bias: float

    def start(self, tone: float, e5: float) -> float:
        """The log-odds the two tones give together, before the rules' evidence."""
        return self.tone * logit(tone) + self.e5 * logit(e5) + self.bias


@dataclass(frozen=True, slots=True)
class Cut:
    """For one language and sensitivity: the blended score's cut-off, and the band of fast
    scores whose verdict the encoder may change (`low <= fast score < high`)."""

    threshold: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class SecondTone:
    """The head, a blend and cut-offs per language, and where they came from (`info`)."""

    head: Head
    blends: Mapping[str, Blend]
    cuts: Mapping[str, Mapping[str, Cut]]
    """language -> sensitivity name -> cut"""
    info: Mapping[str, Any] = field(default_factory=dict)

    def blend(self, language: str | None) -> Blend:
        return self.blends.get(language or "", self.blends[FALLBACK_LANGUAGE])

    def cut(self, language: str | None, sensitivity: str) -> Cut:
        return self.cuts.get(language or "", self.cuts[FALLBACK_LANGUAGE])[sensitivity]


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def dump_second_tone(model: SecondTone) -> bytes:
    body = {
        **{k: v for k, v in model.info.items() if k not in {"head", "blends", "cuts"}},
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "head": {"bias": model.head.bias, "weights": list(model.head.weights)},
        "blends": {
            language: {"tone": b.tone, "e5": b.e5, "bias": b.bias}
            for language, b in sorted(model.blends.items())
        },
        "cuts": {
            language: {
                name: {"threshold": c.threshold, "low": c.low, "high": c.high}
                for name, c in cuts.items()
            }
            for language, cuts in sorted(model.cuts.items())
        },
    }
    return json.dumps(body, ensure_ascii=False, indent=1).encode() + b"\n"


def load_second_tone(data: bytes) -> SecondTone:
    """Read what `dump_second_tone` wrote; ValueError when the bytes are not one."""
    try:
        body = json.loads(data)
    except ValueError as error:
        raise ValueError("not a Kesher second tone: not JSON") from error
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise ValueError("not a Kesher second tone")
    if body.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported second tone version {body.get('format_version')}")
    try:
        head = Head(
            weights=tuple(float(w) for w in body["head"]["weights"]),
            bias=float(body["head"]["bias"]),
        )
        blends = {
            str(language): Blend(float(b["tone"]), float(b["e5"]), float(b["bias"]))
            for language, b in body["blends"].items()
        }
        cuts = {
            str(language): {
                name: Cut(float(c["threshold"]), float(c["low"]), float(c["high"]))
                for name, c in by_name.items()
            }
            for language, by_name in body["cuts"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"not a Kesher second tone: {error}") from error
    if FALLBACK_LANGUAGE not in blends or FALLBACK_LANGUAGE not in cuts:
        raise ValueError(f"a second tone needs a blend and cuts for {FALLBACK_LANGUAGE!r}")
    for language, by_name in cuts.items():
        if set(by_name) != set(SENSITIVITIES):
            raise ValueError(f"second tone cuts for {language!r} must name {SENSITIVITIES}")
    numbers = [*head.weights, head.bias, *(x for b in blends.values() for x in _numbers(b))]
    if not all(math.isfinite(x) for x in numbers):
        raise ValueError("second tone numbers are not finite")
    info = {k: v for k, v in body.items() if k not in {"head", "blends", "cuts"}}
    return SecondTone(head=head, blends=blends, cuts=cuts, info=info)


def _numbers(blend: Blend) -> tuple[float, float, float]:
    return (blend.tone, blend.e5, blend.bias)
