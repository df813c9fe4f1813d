"""A language model's services: a second opinion on a message, a handoff's summary, names for feedback themes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.domain import (
    Opinion,
    ThemeName,
)


class SecondOpinion(Protocol):
    """An optional language model asked about messages the offline detector is unsure of."""

    async def review(self, text: str, *, language: str | None) -> Opinion | None:
        """The model's opinion, or None when it failed or took too long (keep the offline verdict)."""
        ...


class Summarizer(Protocol):
    """An optional language model that sums up a handed-off conversation for the agent."""

    async def summarize(self, lines: Sequence[str], *, language: str) -> str | None:
        """A few sentences on the customer's issue, or None when it failed or took too long."""
        ...


class ThemeNamer(Protocol):
    """An optional language model that names a feedback theme from what customers wrote."""

    async def name(self, quotes: Sequence[str], *, word: str, language: str) -> ThemeName | None:
        """A short label and a sentence of summary, or None when it failed or took too long."""
        ...
