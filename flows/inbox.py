"""Where a conversation stands in the team's queue, and how a turn or an agent moves it.

A conversation is outside the queue (None) until a turn needs a person; then it is `open`.
Agents set it `pending` (waiting on the customer), `snoozed` (until a time) or `resolved`. A
customer writing to a pending, snoozed or resolved conversation reopens it; a turn the bot
answered completely (a survey answer the flow handled, a consent confirmation, a command)
leaves it as it was; an automatic answer from the knowledge base resolves it, unless a person
still owes the customer an answer or the customer came back after an earlier automatic
answer. Pure: times are passed in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from flows.outcome import AnsweredFromKnowledge, Outcome


class Status(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class Turn(StrEnum):
    """What one customer turn amounts to for the queue."""

    NEEDS_PERSON = "needs_person"
    COMPLETE = "complete"
    ANSWERED = "answered"


@dataclass(frozen=True, slots=True)
class Standing:
    """A conversation's place: its status (None: not in the queue), and whether the bot
    resolved it with an automatic answer the customer has not come back after."""

    status: Status | None = None
    auto_answered: bool = False
    snoozed_until: datetime | None = None


class StatusError(ValueError):
    """A change an agent may not make: an unknown status, a snooze without a time to come,
    labels that cannot be read."""


def after_turn(standing: Standing, turn: Turn) -> Standing:
    """Where a customer's turn leaves the conversation."""
    if turn is Turn.NEEDS_PERSON:
        return Standing(Status.OPEN)
    if turn is Turn.ANSWERED:
        if standing.auto_answered or standing.status is Status.OPEN:
            return Standing(Status.OPEN)
        return Standing(Status.RESOLVED, auto_answered=True)
    if standing.status in (Status.PENDING, Status.SNOOZED):
        # Someone was waiting on the customer, or set it aside until they wrote.
        return Standing(Status.OPEN)
    return standing


def set_by_agent(status: str, *, now: datetime, until: datetime | None = None) -> Standing:
    """An agent's move: any status, a snooze only until a time still to come."""
    try:
        chosen = Status(status)
    except ValueError:
        raise StatusError(
            f"status: {status!r} is not one of {', '.join(s.value for s in Status)}"
        ) from None
    if chosen is Status.SNOOZED:
        if until is None or until <= now:
            raise StatusError("snoozed_until: a snooze needs a time in the future")
        return Standing(chosen, snoozed_until=until)
    return Standing(chosen)


def ahead_words(ahead: int, language: str) -> str:
    """How many conversations wait before this one, with the language's plural."""
    if language == "he":
        if ahead == 0:
            return "הפנייה שלכם הבאה בתור"
        if ahead == 1:
            return "יש לפניכם פנייה אחת"
        if ahead == 2:
            return "יש לפניכם שתי פניות"
        return f"יש לפניכם {ahead} פניות"
    if ahead == 0:
        return "yours is next"
    if ahead == 1:
        return "1 conversation is ahead of yours"
    return f"{ahead} conversations are ahead of yours"


def turn_of(outcome: Outcome, *, otherwise: Turn = Turn.COMPLETE) -> Turn:
    """What a turn the bot handled means for the queue: an automatic answer from the
    knowledge base, else `otherwise` (complete, for a survey answer or a command)."""
    if any(isinstance(effect, AnsweredFromKnowledge) for effect in outcome.effects):
        return Turn.ANSWERED
    return otherwise


MAX_LABELS = 10
_LABEL = re.compile(r"^[\w-]{1,32}$")


def parse_labels(text: str) -> tuple[str, ...]:
    """Labels as an agent types them, comma or space separated: lower-case words of letters
    (any script), digits, '-' or '_', at most 32 characters, at most 10, each once."""
    labels: list[str] = []
    for raw in re.split(r"[,\s]+", text):
        label = raw.strip().casefold().lstrip("#")
        if not label:
            continue
        if not _LABEL.match(label):
            raise StatusError(f"labels: {raw!r} must be up to 32 letters, digits, '-' or '_'")
        if label not in labels:
            labels.append(label)
    if len(labels) > MAX_LABELS:
        raise StatusError(f"labels: at most {MAX_LABELS}")
    return tuple(labels)
