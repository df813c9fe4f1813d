"""The flow engine: a flow is a list of `Ask` and `Say` steps; a run is where one customer is in it.

`start` begins a run, `advance` feeds it one message (typed text or a tapped choice id),
`remind` nudges once when a question waits too long and `expire` ends the run when the
reminder goes unanswered too. Each returns a `Turn`: the new run, the replies and the effects,
all data. A run is JSON-safe (`Run.as_dict`/`Run.from_dict`) so it can live in a row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from flows.answers import Choices, Parser, Value, free_text
from flows.answers import choice as match_choice
from flows.outcome import (
    TEXT,
    Effect,
    FlowExpired,
    FlowFinished,
    Outcome,
    Said,
    SurveyAnswered,
)
from flows.text import Text

END = "end"
"""A step key meaning "the flow is over": a branch or a `Say` may go there."""

Answers = Mapping[str, Value]
Branch = Callable[[Answers], str | None]

NOT_UNDERSTOOD = Text(he="סליחה, לא הבנתי.", en="Sorry, I didn't catch that.")
PICK_ONE = Text(
    he="אפשר לבחור באחת האפשרויות או לכתוב את המספר שלה.",
    en="Please pick one of the options, or type its number.",
)
REMINDER = Text(he="רק מזכירים 🙂", en="Just a quick reminder 🙂")
GAVE_UP = Text(
    he="אין בעיה, תודה על הזמן! אפשר תמיד לכתוב לנו כאן.",
    en="No problem, thanks for your time! You can always write to us here.",
)


@dataclass(frozen=True, slots=True)
class Ask:
    """A question whose answer is kept under `key`.

    A tapped choice id or a typed option (its id, number or label) is tried first, then
    `parse`; with neither a match nor a parse the answer is not understood and `retry` is
    said before the question again. `question` may depend on earlier answers. `branch` picks
    the next step from the answers so far (None: the following step; `END`: finish).
    """

    key: str
    question: Text | Callable[[Answers], Text]
    parse: Parser | None = None
    choices: Choices = ()
    branch: Branch | None = None
    retry: Text = PICK_ONE
    score_kind: str | None = None


@dataclass(frozen=True, slots=True)
class Say:
    """A message sent on the way through, with effects; then `goto` (None: the following step)."""

    key: str
    text: Text
    effects: tuple[Effect, ...] = ()
    goto: str | None = None


Step = Ask | Say


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    steps: tuple[Step, ...]
    start: str = ""
    reminder: Text = REMINDER
    gave_up: Text = GAVE_UP
    max_retries: int = 2

    def __post_init__(self) -> None:
        keys = [step.key for step in self.steps]
        if not keys:
            raise ValueError(f"flow {self.name}: has no steps")
        if len(set(keys)) != len(keys) or END in keys:
            raise ValueError(f"flow {self.name}: step keys must be unique and not {END!r}")
        if not self.start:
            object.__setattr__(self, "start", keys[0])
        targets = [self.start, *(s.goto for s in self.steps if isinstance(s, Say) and s.goto)]
        unknown = [t for t in targets if t not in keys and t != END]
        if unknown:
            raise ValueError(f"flow {self.name}: unknown steps {', '.join(unknown)}")

    def step(self, key: str) -> Step:
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(f"flow {self.name}: no step {key!r}")

    def following(self, key: str) -> str:
        keys = [step.key for step in self.steps]
        index = keys.index(key) + 1
        return keys[index] if index < len(keys) else END


class Status(StrEnum):
    ACTIVE = "active"
    FINISHED = "finished"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Run:
    """One customer's way through one flow; `step` is the question waiting (None once over)."""

    flow: str
    step: str | None
    started_at: datetime
    asked_at: datetime
    answers: Mapping[str, Value] = field(default_factory=dict)
    status: Status = Status.ACTIVE
    retries: int = 0
    reminded_at: datetime | None = None

    @property
    def reminded(self) -> bool:
        return self.reminded_at is not None

    def as_dict(self) -> dict[str, object]:
        return {
            "flow": self.flow,
            "step": self.step,
            "answers": dict(self.answers),
            "status": self.status.value,
            "retries": self.retries,
            "started_at": self.started_at.isoformat(),
            "asked_at": self.asked_at.isoformat(),
            "reminded_at": self.reminded_at.isoformat() if self.reminded_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Run:
        """The run `as_dict` wrote; ValueError when the data is not one."""
        try:
            answers = data["answers"]
            step = data["step"]
            reminded = data["reminded_at"]
            if not isinstance(answers, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str | int) for k, v in answers.items()
            ):
                raise ValueError("answers must map question keys to strings or numbers")
            return cls(
                flow=str(data["flow"]),
                step=None if step is None else str(step),
                answers=dict(answers),
                status=Status(str(data["status"])),
                retries=int(str(data["retries"])),
                started_at=_moment(data["started_at"]),
                asked_at=_moment(data["asked_at"]),
                reminded_at=None if reminded is None else _moment(reminded),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a flow run: {error}") from error


def _moment(value: object) -> datetime:
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no offset")
    return moment


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn(Outcome):
    """An `Outcome` with the run it leaves behind."""

    run: Run


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now


def _asked(ask: Ask, answers: Answers, language: str, fields: Mapping[str, str]) -> Said:
    question = ask.question(answers) if callable(ask.question) else ask.question
    return Said(
        question.render(language, **fields),
        tuple((option, label.render(language, **fields)) for option, label in ask.choices),
    )


def _walk(
    flow: Flow,
    run: Run,
    key: str,
    *,
    language: str,
    now: datetime,
    fields: Mapping[str, str],
    effects: tuple[Effect, ...] = (),
) -> Turn:
    """Go from step `key` through any `Say`s to the next question, or to the end."""
    replies: list[Said] = []
    collected = list(effects)
    for _ in range(len(flow.steps) + 1):
        if key == END:
            finished = replace(run, step=None, status=Status.FINISHED, retries=0, reminded_at=None)
            collected.append(FlowFinished(flow.name))
            return Turn(run=finished, replies=tuple(replies), effects=tuple(collected))
        step = flow.step(key)
        if isinstance(step, Ask):
            replies.append(_asked(step, run.answers, language, fields))
            waiting = replace(run, step=key, asked_at=now, retries=0, reminded_at=None)
            return Turn(run=waiting, replies=tuple(replies), effects=tuple(collected))
        replies.append(Said(step.text.render(language, **fields)))
        collected.extend(step.effects)
        key = step.goto or flow.following(key)
    raise ValueError(f"flow {flow.name}: its Say steps go round in a circle")


def start(flow: Flow, *, language: str, now: datetime, fields: Mapping[str, str]) -> Turn:
    """A new run of `flow`: the first messages and the first question."""
    now = _aware(now)
    run = Run(flow=flow.name, step=flow.start, started_at=now, asked_at=now)
    return _walk(flow, run, flow.start, language=language, now=now, fields=fields)


def _understood(ask: Ask, text: str | None, choice: str | None) -> Value | None:
    if choice is not None and any(choice == option for option, _ in ask.choices):
        return _chosen(ask, choice)
    for said in (text, choice):
        if said is None:
            continue
        if ask.choices and (picked := match_choice(said, ask.choices)) is not None:
            return _chosen(ask, picked)
        if ask.parse is not None and (value := ask.parse(said)) is not None:
            return value
    return None


def _chosen(ask: Ask, option: str) -> Value:
    """A chosen option's value: a scale's button is its number, any other option its id."""
    number = ask.parse(option) if ask.parse is not None else None
    return number if isinstance(number, int) else option


def _label(ask: Ask, value: Value, language: str, fields: Mapping[str, str]) -> str | None:
    """The label of the option `value` stands for, in the customer's language; else None."""
    for option, label in ask.choices:
        if option == str(value):
            return label.render(language, **fields)
    return None


def advance(
    flow: Flow,
    run: Run,
    text: str | None,
    choice: str | None = None,
    *,
    language: str,
    now: datetime,
    fields: Mapping[str, str],
) -> Turn:
    """Feed one message to a run: typed `text` and/or the id of a tapped `choice` (a button)."""
    now = _aware(now)
    if run.status is not Status.ACTIVE or run.step is None:
        return Turn(run=run)
    ask = flow.step(run.step)
    if not isinstance(ask, Ask):
        raise ValueError(f"flow {flow.name}: run waits on {run.step!r}, which is not a question")
    value = _understood(ask, text, choice)
    if value is None:
        if run.retries >= flow.max_retries:
            ended = replace(run, step=None, status=Status.FINISHED, reminded_at=None)
            return Turn(
                run=ended,
                replies=(Said(flow.gave_up.render(language, **fields)),),
                effects=(FlowFinished(flow.name, completed=False),),
            )
        asked = _asked(ask, run.answers, language, fields)
        retry = f"{NOT_UNDERSTOOD.render(language)} {ask.retry.render(language, **fields)}"
        return Turn(
            run=replace(run, retries=run.retries + 1, asked_at=now, reminded_at=None),
            replies=(Said(f"{retry}\n{asked.text}", asked.choices),),
        )
    answers = {**run.answers, ask.key: value}
    kind = ask.score_kind or (TEXT if ask.parse is free_text else None)
    label = _label(ask, value, language, fields)
    answered = SurveyAnswered(flow.name, ask.key, value, kind, label)
    following = (ask.branch(answers) if ask.branch else None) or flow.following(ask.key)
    return _walk(
        flow,
        replace(run, answers=answers),
        following,
        language=language,
        now=now,
        fields=fields,
        effects=(answered,),
    )


def remind(
    flow: Flow,
    run: Run,
    *,
    now: datetime,
    after: timedelta,
    language: str,
    fields: Mapping[str, str],
) -> Turn | None:
    """The one reminder of the waiting question, once it has waited `after`; else None."""
    now = _aware(now)
    if run.status is not Status.ACTIVE or run.step is None or run.reminded:
        return None
    if now < run.asked_at + after:
        return None
    ask = flow.step(run.step)
    if not isinstance(ask, Ask):
        return None
    asked = _asked(ask, run.answers, language, fields)
    text = f"{flow.reminder.render(language, **fields)}\n{asked.text}"
    return Turn(run=replace(run, reminded_at=now), replies=(Said(text, asked.choices),))


def expire(flow: Flow, run: Run, *, now: datetime, after: timedelta) -> Turn | None:
    """End a run whose reminder has gone unanswered for `after`; None if not yet. Says nothing."""
    now = _aware(now)
    if run.status is not Status.ACTIVE or run.step is None or run.reminded_at is None:
        return None
    if now < run.reminded_at + after:
        return None
    ended = replace(run, step=None, status=Status.EXPIRED)
    return Turn(run=ended, effects=(FlowExpired(flow.name, run.step),))
