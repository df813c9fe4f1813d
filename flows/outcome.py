"""What a flow decides, as data: replies to send and effects for the pipeline to perform."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Said:
    """One reply: its text, and the choices a channel may show as buttons (id, label)."""

    text: str
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class FeedbackReceived:
    text: str


TEXT = "text"
"""The kind of an answer in the customer's own words."""


@dataclass(frozen=True, slots=True)
class SurveyAnswered:
    """One accepted answer: `value` is a number, a choice id, 'yes'/'no' or the text itself.

    `score_kind` names the measure a score belongs to ('nps', 'csat', 'checkin'), or is 'text'
    for an answer in the customer's own words (what feedback themes are made of); None for
    other choices. `label` is the label of the option answered, in the customer's language
    (what the button said); None when the question has no options.
    """

    flow: str
    question: str
    value: str | int
    score_kind: str | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True)
class RequestHandoff:
    """Hand the conversation to a person; `reason` says what asked for it.

    `trigger` is 'request' when the customer asked, 'low_score' after a low survey score.
    """

    reason: str
    trigger: str = "request"


@dataclass(frozen=True, slots=True)
class FlowFinished:
    """A run ended; `completed` is False when it stopped after answers it could not read."""

    flow: str
    completed: bool = True


@dataclass(frozen=True, slots=True)
class FlowExpired:
    """A run ended because `question` went unanswered after its reminder."""

    flow: str
    question: str


@dataclass(frozen=True, slots=True)
class AnsweredFromKnowledge:
    """The bot answered the customer's question from the business's knowledge base, citing
    the entries it used; the conversation needs no person unless the customer comes back."""

    entries: tuple[int, ...]


Effect = (
    FeedbackReceived
    | SurveyAnswered
    | RequestHandoff
    | FlowFinished
    | FlowExpired
    | AnsweredFromKnowledge
)


@dataclass(frozen=True, slots=True)
class Outcome:
    replies: tuple[Said, ...] = ()
    effects: tuple[Effect, ...] = field(default_factory=tuple)
