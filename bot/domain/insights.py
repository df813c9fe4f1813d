"""What the core learns from messages: a language model's opinion, feedback themes, remarks and a customer's signals."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Opinion:
    """A language model's second opinion on one message."""

    score: float
    wants_person: bool
    reason: str
    topic: str


@dataclass(frozen=True, slots=True)
class AgentTally:
    """One agent's count of something in one week of several (`week` indexes them), and the
    sum that goes with it: seconds waited, or follow-up answers that said solved. `agent_id`
    None counts what no agent held."""

    agent_id: int | None
    week: int
    count: int
    total: float


@dataclass(frozen=True, slots=True)
class ThemeName:
    """What a language model calls a feedback theme."""

    label: str
    summary: str


@dataclass(frozen=True, slots=True)
class Remark:
    """Something a customer wrote in words: a free-text answer ('answer'), a message to the
    feedback channel ('feedback') or a message found frustrated ('complaint')."""

    customer_id: uuid.UUID
    text: str
    at: datetime
    source: str


@dataclass(frozen=True, slots=True)
class CustomerSignals:
    """What a customer's health is judged from: scores, complaints, handoffs and silence."""

    customer_id: uuid.UUID
    name: str | None
    language: str
    opted_out: bool
    nps: tuple[tuple[datetime, int], ...] = ()
    csat: tuple[tuple[datetime, int], ...] = ()
    complaints: tuple[datetime, ...] = ()
    handoffs: tuple[datetime, ...] = ()
    unanswered: int = 0
    last_contact: datetime | None = None
