"""Language models: the bundled sentence encoder, and an optional chat model's second opinion
on a message, a handoff's summary and names for feedback themes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.domain import KnowledgeEntry, Opinion, ThemeName, WrittenAnswer

# A sentence's meaning as a unit-length vector: the cosine of two is their dot product.
Embedding = tuple[float, ...]


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


class Encoder(Protocol):
    """The bundled multilingual sentence encoder (offline, in the package): texts of similar
    meaning, in Hebrew or English, get nearby vectors."""

    async def embed(self, texts: Sequence[str], *, query: bool = False) -> list[Embedding]:
        """One unit-length vector per text, in order. `query` marks short questions to be
        matched against stored passages (e5's "query:" and "passage:" prefixes)."""
        ...


class AnswerWriter(Protocol):
    """An optional language model that answers a customer's question in its own words, from
    the knowledge base's entries it is given and nothing else."""

    async def write(
        self, question: str, entries: Sequence[KnowledgeEntry], *, language: str
    ) -> WrittenAnswer | None:
        """The answer and the ids of the entries it rests on (none: the entries do not answer
        it), or None when the model failed or took too long."""
        ...
