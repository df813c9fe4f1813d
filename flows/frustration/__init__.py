"""Frustration detection: whether a customer's message calls for a person, and why.

`lexicon` holds the words, `cues` reads what one message says on its face, `tone` is the
hashed-feature tone model read from bytes, and `detector` weighs those with the conversation
around the message into a `Verdict`. The product imports from here; training and the tests
import the pieces they look inside (`evidence`, the model's `Features`) from their modules.
"""

from __future__ import annotations

from flows.frustration.detector import (
    Detector,
    History,
    PastMessage,
    Sensitivity,
    Signals,
    SurveyScore,
    Verdict,
)
from flows.frustration.tone import Model, load_model

__all__ = [
    "Detector",
    "History",
    "Model",
    "PastMessage",
    "Sensitivity",
    "Signals",
    "SurveyScore",
    "Verdict",
    "load_model",
]
