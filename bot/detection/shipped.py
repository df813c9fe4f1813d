"""The shipped frustration detector: the tone model read from the package, ready to score."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

from flows.frustration import Detector, Model, Sensitivity, Signals, load_model

MODEL_RESOURCE = ("flows", "models/frustration.bin")


@lru_cache(maxsize=1)
def shipped_model() -> Model:
    """The tone model in the installed package, read once per process."""
    package, name = MODEL_RESOURCE
    return load_model(files(package).joinpath(name).read_bytes())


def default_detector(
    sensitivity: Sensitivity | str = Sensitivity.BALANCED, *, signals: Signals | None = None
) -> Detector:
    """A detector on the shipped model; `sensitivity` as the enum or its name."""
    return Detector(
        model=shipped_model(),
        sensitivity=Sensitivity(sensitivity),
        signals=signals or Signals(),
    )
