"""The tone model: a hashed-feature logistic regression over one message, read from bytes.

The same feature function is used to train the model (`training/detector.py`) and to score
with it, so the two can never drift apart. Inference is plain Python: a few hundred CRC32
hashes and weight look-ups per message. A model may carry a calibration per language (a scale
and a shift on the log-odds, fitted on training data the weights did not see), because one
cut-off has to serve Hebrew and English text whose scores spread differently.
"""

from __future__ import annotations

import json
import math
import sys
import zlib
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from flows.text import normalise

FORMAT = "kesher-tone"
FORMAT_VERSION = 2  # 2: character n-grams hashed from UTF-32 and per-language calibration
_FINALS = str.maketrans("ךםןףץ", "כמנפצ")
_MAX_CHARS = 400
_OWN_KEYS = {"format", "bias", "features", "calibration"}
_CHAR = zlib.crc32(b"c")  # the seed that marks a character n-gram's hash
_WORD = zlib.crc32(b"w")  # and a word n-gram's


@dataclass(frozen=True, slots=True)
class Features:
    """How a text becomes hashed features: char n-grams and word n-grams into `buckets`."""

    buckets: int = 1 << 18
    char_min: int = 3
    char_max: int = 5
    word_max: int = 2

    def as_header(self) -> dict[str, int]:
        return {
            "buckets": self.buckets,
            "char_min": self.char_min,
            "char_max": self.char_max,
            "word_max": self.word_max,
        }

    def indices(self, text: str) -> tuple[list[int], float]:
        """Distinct bucket ids of a raw text and the value each carries (unit L2 norm)."""
        folded = fold(text)[:_MAX_CHARS]
        mask = self.buckets - 1
        crc = zlib.crc32
        # Four bytes a character, so every character n-gram is one slice of one encoding.
        data = f" {folded} ".encode("utf-32-le")
        end = len(data)
        seen: set[int] = set()
        for width in range(4 * self.char_min, 4 * self.char_max + 1, 4):
            seen.update(
                crc(data[i : i + width], _CHAR) & mask for i in range(0, end - width + 1, 4)
            )
        words = folded.split()
        for n in range(1, self.word_max + 1):
            seen.update(
                crc(" ".join(words[i : i + n]).encode(), _WORD) & mask
                for i in range(len(words) - n + 1)
            )
        if not seen:
            return [], 0.0
        return sorted(seen), 1.0 / math.sqrt(len(seen))


@lru_cache(maxsize=64)
def fold(text: str) -> str:
    """The normal form the model and the rules see: `normalise` with final letters folded.

    Cached for the last few texts: the rules and the model each fold the same message."""
    return normalise(text).translate(_FINALS)


@dataclass(frozen=True, slots=True)
class Calibration:
    """Log-odds `z` of the raw model become `scale * z + shift` for one language."""

    scale: float = 1.0
    shift: float = 0.0


@dataclass(frozen=True, slots=True)
class Model:
    """Weights of the tone model; `probability` is the chance a message reads as frustrated."""

    weights: array[float]
    bias: float
    features: Features = field(default_factory=Features)
    info: Mapping[str, Any] = field(default_factory=dict)
    calibration: Mapping[str, Calibration] = field(default_factory=dict)
    """Per language ('he', 'en'); a language without one is scored uncalibrated."""

    def probability(self, text: str, *, language: str | None = None) -> float:
        ids, value = self.features.indices(text)
        weights = self.weights
        z = self.bias + value * sum(map(weights.__getitem__, ids))
        calibration = self.calibration.get(language) if language else None
        if calibration is not None:
            z = calibration.scale * z + calibration.shift
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)


def dump_model(model: Model) -> bytes:
    """The file form: one JSON header line, then zlib-compressed little-endian float32 weights."""
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "bias": model.bias,
        "features": model.features.as_header(),
        **{k: v for k, v in model.info.items() if k not in _OWN_KEYS},
    }
    if model.calibration:
        header["calibration"] = {
            language: [c.scale, c.shift] for language, c in sorted(model.calibration.items())
        }
    weights = array("f", model.weights)
    if sys.byteorder == "big":
        weights.byteswap()
    head = json.dumps(header, ensure_ascii=False, sort_keys=True).encode()
    return head + b"\n" + zlib.compress(weights.tobytes(), 9)


def load_model(data: bytes) -> Model:
    """Read a model written by `dump_model`; ValueError when the bytes are not one."""
    head, sep, body = data.partition(b"\n")
    try:
        header = json.loads(head)
    except ValueError as error:
        raise ValueError("not a Kesher tone model: bad header") from error
    if not sep or not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError("not a Kesher tone model")
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported tone model version {header.get('format_version')}")
    features = Features(**{k: int(v) for k, v in header["features"].items()})
    weights = array("f")
    try:
        weights.frombytes(zlib.decompress(body))
    except zlib.error as error:
        raise ValueError("not a Kesher tone model: bad weights") from error
    if sys.byteorder == "big":
        weights.byteswap()
    if len(weights) != features.buckets or features.buckets & (features.buckets - 1):
        raise ValueError("tone model weights do not match its header")
    info = {k: v for k, v in header.items() if k not in {"bias", "features", "calibration"}}
    return Model(
        weights=weights,
        bias=float(header["bias"]),
        features=features,
        info=info,
        calibration=_read_calibration(header.get("calibration", {})),
    )


def _read_calibration(raw: object) -> dict[str, Calibration]:
    if not isinstance(raw, dict):
        raise ValueError("tone model calibration is not a mapping")
    calibration = {}
    for language, pair in raw.items():
        if not isinstance(pair, list) or len(pair) != 2:
            raise ValueError(f"tone model calibration for {language!r} is not [scale, shift]")
        try:
            scale, shift = (float(x) for x in pair)
        except (TypeError, ValueError) as error:
            raise ValueError(f"tone model calibration for {language!r} is not numbers") from error
        if not (math.isfinite(scale) and math.isfinite(shift)):
            raise ValueError(f"tone model calibration for {language!r} is not finite")
        calibration[str(language)] = Calibration(scale=scale, shift=shift)
    return calibration
