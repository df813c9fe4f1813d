"""Frustration scoring: one message, the conversation around it, and a verdict that explains itself.

A message scores 0..1 from three kinds of evidence, added in log-odds: the tone model's
probability (`tone`), the cues on the message's face (`cues`: problems reported
("charged twice", "מחכה כבר שעה"), negative words with negation, swearing, capitals, "!!!",
angry emoji, "third time I'm asking") and the conversation (`History`: the same complaint
again, the bot not understanding, a long wait, a low survey score, a recent handoff). An
explicit request for a person or to cancel hands off whatever the score. A short question
asking for information with no cue on its face (`cues`' `plain_question`) starts from the
no-model prior at most: the tone model alone is not enough. The model, the time and the
configuration are passed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from flows.frustration import cues
from flows.frustration.second_tone import SecondTone
from flows.frustration.tone import Model, fold
from flows.text import detect_language


class Sensitivity(Enum):
    """How readily a business wants a person to step in.

    Cut-offs on the score. The tone model is calibrated per language so that `balanced` gives
    the best F1 with at most 9% false handoffs on training rows held back from its weights
    (`python -m training.detector` prints the dev figures for each sensitivity):
    - sensitive, 0.45: catches most frustrated messages (dev recall 0.80), at ~15% false
      handoffs;
    - balanced, 0.65: ~7% false handoffs on the English dev split, ~9% on the Hebrew;
    - conservative, 0.80: few false handoffs (~4%), for businesses with a small support team.
    Explicit requests for a person or to leave hand off at every sensitivity.
    """

    SENSITIVE = "sensitive"
    BALANCED = "balanced"
    CONSERVATIVE = "conservative"

    @property
    def threshold(self) -> float:
        return _THRESHOLDS[self]

    @property
    def uncertain_band(self) -> tuple[float, float]:
        """Scores worth a second opinion: within 0.15 below and above the cut-off."""
        return (max(0.0, self.threshold - 0.15), min(1.0, self.threshold + 0.15))


_THRESHOLDS = {
    Sensitivity.SENSITIVE: 0.45,
    Sensitivity.BALANCED: 0.65,
    Sensitivity.CONSERVATIVE: 0.80,
}

# Log-odds each piece of evidence adds to the tone model's.
WEIGHTS = {
    "negative": 0.8,
    "more_negative": 0.4,
    "problem": 2.2,
    "swearing": 1.2,
    "angry_emoji": 1.0,
    "all_caps": 0.7,
    "shouting": 0.6,
    "asked_before": 1.5,
    "again": 0.6,
    "repeated": 1.5,
    "misunderstood": 1.2,
    "waiting": 1.0,
    "low_survey": 0.8,
    "recent_handoff": 0.6,
}
# Without a tone model the cues start from this probability.
NO_MODEL_PRIOR = 0.2
REQUEST_SCORE = 0.97
# A blended verdict this close to its cut-off is still worth a language model's opinion.
STILL_UNSURE = 0.1


@dataclass(frozen=True, slots=True)
class PastMessage:
    """A message the customer sent earlier in the conversation."""

    text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class SurveyScore:
    """A survey answer on its own scale: NPS 0..10, CSAT 1..5."""

    value: float
    worst: float
    best: float
    at: datetime

    @property
    def share(self) -> float:
        """0 for the worst answer, 1 for the best."""
        span = self.best - self.worst
        return (self.value - self.worst) / span if span else 1.0


@dataclass(frozen=True, slots=True)
class History:
    """What the conversation so far says, as the pipeline knows it."""

    earlier: tuple[PastMessage, ...] = ()
    """The customer's earlier messages, oldest first."""
    misunderstood_in_a_row: int = 0
    """How many of the bot's last replies in a row did not understand the customer."""
    unanswered_since: datetime | None = None
    """When the oldest customer message still without a human or bot answer was sent."""
    last_survey: SurveyScore | None = None
    last_handoff_at: datetime | None = None
    """When the customer's handoff still open was requested; a resolved one is not passed in
    (the agent judged the matter closed)."""


@dataclass(frozen=True, slots=True)
class Signals:
    """When conversation signals count."""

    repeat_window: timedelta = timedelta(hours=24)
    repeat_similarity: float = 0.6
    repeat_min_words: int = 3
    misunderstood_limit: int = 2
    long_wait: timedelta = timedelta(hours=1)
    survey_window: timedelta = timedelta(days=14)
    low_survey_share: float = 0.4
    handoff_window: timedelta = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The detector's answer for one message."""

    score: float
    handoff: bool
    reasons: tuple[str, ...]
    language: str | None
    sensitivity: Sensitivity
    wants_person: bool = False
    wants_to_leave: bool = False
    tone: float | None = None
    encoder: float | None = None
    """The encoder head's probability, when the verdict blends it in (the final verdict)."""
    cut_off: float | None = None
    """The cut-off the score was held to, when not the sensitivity's own (a blended one)."""
    band: tuple[float, float] | None = None
    """Fast scores the encoder may overturn, when the detector has one; else the sensitivity's."""

    @property
    def uncertain(self) -> bool:
        """Close enough to the cut-off that a second opinion could change the decision: for a
        fast verdict, worth the encoder (or the language model without one); for a blended one,
        still worth the language model."""
        if self.wants_person or self.wants_to_leave:
            return False
        if self.encoder is not None:
            cut_off = self.cut_off if self.cut_off is not None else self.sensitivity.threshold
            return cut_off - STILL_UNSURE <= self.score < cut_off + STILL_UNSURE
        low, high = self.band or self.sensitivity.uncertain_band
        return low <= self.score < high


@dataclass(frozen=True, slots=True)
class Detector:
    """Scores messages; `model` None scores on cues and conversation alone. With `second`
    (the encoder head and blend), a message assessed with its encoder vector is scored on the
    blended tone and held to the blend's cut-off; without the vector the verdict is the fast
    one, with the band of scores the encoder may overturn."""

    model: Model | None = None
    sensitivity: Sensitivity = Sensitivity.BALANCED
    signals: Signals = field(default_factory=Signals)
    second: SecondTone | None = None

    def assess(
        self,
        text: str,
        *,
        history: History | None = None,
        now: datetime | None = None,
        language: str | None = None,
        embedding: Sequence[float] | None = None,
    ) -> Verdict:
        """The verdict on one message; `language` forces the language (reported, and the one
        whose calibration the tone model and the blend use) instead of telling it from the
        script. `embedding` is the message's encoder vector: with `second`, the blended verdict.

        Time-based signals (repeats within a window, waiting, survey and handoff age) need
        `now`; without it they are skipped.
        """
        found = cues.read(text)
        reasons: list[str] = []
        if found.wants_person:
            reasons.append("asks for a person")
        if found.wants_to_leave:
            reasons.append("wants to cancel or leave")

        language = language or detect_language(text)
        tone = self.model.probability(text, language=language) if self.model is not None else None
        second = self.second if embedding is not None else None
        e5 = second.head.probability(embedding) if second and embedding is not None else None
        if second is not None and e5 is not None:
            start = second.blend(language).start(tone if tone is not None else NO_MODEL_PRIOR, e5)
        else:
            start = _logit(tone if tone is not None else NO_MODEL_PRIOR)
        if found.plain_question and start > _logit(NO_MODEL_PRIOR):
            # The tone model learnt from comments, where short questions are often sarcastic;
            # a plain question with nothing frustrated on its face is not evidence enough.
            start = _logit(NO_MODEL_PRIOR)
            reasons.append("a plain question: tone model not counted")
        z = start + evidence(found, reasons)
        if history is not None:
            z += self._conversation(text, history, now, reasons)
        if tone is not None:
            reasons.append(f"tone model {tone:.2f}")
        if e5 is not None:
            reasons.append(f"encoder {e5:.2f}")

        score = _sigmoid(z)
        request = found.wants_person or found.wants_to_leave
        if request:
            score = max(score, REQUEST_SCORE)
        cut = self.second.cut(language, self.sensitivity.value) if self.second else None
        cut_off = cut.threshold if cut is not None and e5 is not None else None
        return Verdict(
            score=round(score, 4),
            handoff=request or score >= (cut_off or self.sensitivity.threshold),
            reasons=tuple(reasons),
            language=language,
            sensitivity=self.sensitivity,
            wants_person=found.wants_person,
            wants_to_leave=found.wants_to_leave,
            tone=None if tone is None else round(tone, 4),
            encoder=None if e5 is None else round(e5, 4),
            cut_off=cut_off,
            band=(cut.low, cut.high) if cut is not None and e5 is None else None,
        )

    def _conversation(
        self, text: str, history: History, now: datetime | None, reasons: list[str]
    ) -> float:
        signals = self.signals
        z = 0.0
        if _repeats(text, history.earlier, now, signals):
            z += WEIGHTS["repeated"]
            reasons.append("repeats the same complaint")
        if history.misunderstood_in_a_row >= signals.misunderstood_limit:
            z += WEIGHTS["misunderstood"]
            reasons.append(f"bot misunderstood {history.misunderstood_in_a_row} times in a row")
        if now is None:
            return z
        if history.unanswered_since is not None:
            waited = now - history.unanswered_since
            if waited >= signals.long_wait:
                z += WEIGHTS["waiting"]
                reasons.append(f"waiting {_duration(waited)} for an answer")
        survey = history.last_survey
        if (
            survey is not None
            and now - survey.at <= signals.survey_window
            and survey.share <= signals.low_survey_share
        ):
            z += WEIGHTS["low_survey"]
            reasons.append(f"low survey score {survey.value:g}/{survey.best:g}")
        if (
            history.last_handoff_at is not None
            and now - history.last_handoff_at <= signals.handoff_window
        ):
            z += WEIGHTS["recent_handoff"]
            reasons.append(f"handed off {_duration(now - history.last_handoff_at)} ago")
        return z


def evidence(found: cues.Cues, reasons: list[str] | None = None) -> float:
    """Log-odds the cues on a message's face add to the tone model's; their reasons appended."""
    said = reasons if reasons is not None else []
    z = 0.0
    if found.negative:
        z += WEIGHTS["negative"] + (WEIGHTS["more_negative"] if len(found.negative) > 1 else 0)
        said.append("negative words: " + ", ".join(found.negative[:3]))
    if found.problems:
        z += WEIGHTS["problem"]
        said.append("reports a problem: " + ", ".join(found.problems[:3]))
    if found.swearing:
        z += WEIGHTS["swearing"]
        said.append("swearing")
    if found.angry_emoji:
        z += WEIGHTS["angry_emoji"]
        said.append("angry emoji")
    if found.all_caps:
        z += WEIGHTS["all_caps"]
        said.append("ALL CAPS")
    if found.shouting:
        z += WEIGHTS["shouting"]
        said.append(f"repeated {found.shouting}")
    if found.asked_before:
        z += WEIGHTS["asked_before"]
        said.append("says it asked before")
    elif found.again:
        z += WEIGHTS["again"]
        said.append("says 'again'")
    return z


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the character trigrams of two texts' normal forms."""
    grams_a, grams_b = _trigrams(fold(a)), _trigrams(fold(b))
    if not grams_a or not grams_b:
        return 0.0
    return len(grams_a & grams_b) / len(grams_a | grams_b)


def _repeats(
    text: str, earlier: tuple[PastMessage, ...], now: datetime | None, signals: Signals
) -> bool:
    if len(fold(text).split()) < signals.repeat_min_words:
        return False
    return any(
        similarity(text, past.text) >= signals.repeat_similarity
        for past in earlier
        if now is None or now - past.at <= signals.repeat_window
    )


def _trigrams(text: str) -> set[str]:
    padded = f" {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
