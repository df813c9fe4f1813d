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


Effect = FeedbackReceived


@dataclass(frozen=True, slots=True)
class Outcome:
    replies: tuple[Said, ...] = ()
    effects: tuple[Effect, ...] = field(default_factory=tuple)
