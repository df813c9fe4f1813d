"""The shipped frustration detector: the tone model and the encoder's second tone read from the
package, ready to score."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

from flows.frustration import Detector, Model, Sensitivity, Signals, load_model
from flows.frustration.second_tone import SecondTone, load_second_tone

MODEL_RESOURCE = ("flows", "models/frustration.bin")
SECOND_TONE_RESOURCE = ("flows", "models/second_tone.json")


@lru_cache(maxsize=1)
def shipped_model() -> Model:
    """The tone model in the installed package, read once per process."""
    package, name = MODEL_RESOURCE
    return load_model(files(package).joinpath(name).read_bytes())


@lru_cache(maxsize=1)
def shipped_second_tone() -> SecondTone:
    """The encoder head, blends and cut-offs in the installed package, read once per process."""
    package, name = SECOND_TONE_RESOURCE
    return load_second_tone(files(package).joinpath(name).read_bytes())


def default_detector(
    sensitivity: Sensitivity | str = Sensitivity.BALANCED,
    *,
    signals: Signals | None = None,
    encoder: bool = True,
) -> Detector:
    """A detector on the shipped models; `sensitivity` as the enum or its name. Without
    `encoder` it has no second tone: its uncertain band is the sensitivity's own (the one a
    language model's second opinion uses alone)."""
    return Detector(
        model=shipped_model(),
        sensitivity=Sensitivity(sensitivity),
        signals=signals or Signals(),
        second=shipped_second_tone() if encoder else None,
    )
