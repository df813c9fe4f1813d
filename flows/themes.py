"""Feedback themes: what customers write about, grouped offline by the words they share.

Frequent-term clustering (after Beil, Ester and Xu, 2002): every remark becomes a set of
content words; the word found in the most remarks not yet grouped opens a theme holding those
remarks, and so on while a word still gathers `least` remarks. A theme is named by its word and
explained by the words that come with it. Deterministic,
Hebrew and English alike, no model: the same remarks always give the same themes.

Hebrew glues prefixes to words (ו, ה, ב, ל, מ, ש, כ: "והמחיר", "במחיר"). A word is folded to a
shorter form without them only when that form, three letters or more, is itself written
somewhere in the remarks: "השירות" joins "שירות", while "המחיר" and "במחיר" stay apart until
someone writes "מחיר". A known limit: two unrelated words can meet this way ("מכתב", "כתב").
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from flows.frustration import cues, lexicon
from flows.insights import week_of
from flows.text import normalise

COURTESY = (
    "hi",
    "hello",
    "hey",
    "thanks",
    "thank",
    "thx",
    "please",
    "ok",
    "okay",
    "yes",
    "no",
    "bye",
    "שלום",
    "היי",
    "הי",
    "תודה",
    "רבה",
    "בבקשה",
    "אוקיי",
    "אוקי",
    "כן",
    "ביי",
)
"""Greetings and thanks: said in most messages to the feedback channel, never a theme."""
_PREFIXES = frozenset("והבלמשכ")
_HEBREW_WORD = re.compile(r"^[\u05d0-\u05ea]+$")
_STEM_MIN = 3
_QUOTE_MAX = 280
_ASKS = re.compile(r"[?\u061f]")


class Remark(Protocol):
    """One thing a customer wrote: a free-text answer, a feedback message or a complaint."""

    @property
    def customer_id(self) -> uuid.UUID: ...
    @property
    def text(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def source(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Theme:
    word: str
    """The word every remark of the theme has (lower case, without niqqud or prefixes)."""
    words: tuple[str, ...]
    """Other words these remarks share most."""
    remarks: tuple[Remark, ...]
    """Newest first."""

    @property
    def count(self) -> int:
        return len(self.remarks)

    @property
    def customers(self) -> int:
        return len({r.customer_id for r in self.remarks})

    def weeks(self, timezone: str) -> dict[date, int]:
        counted = Counter(week_of(r.at, timezone) for r in self.remarks)
        return dict(sorted(counted.items()))

    def quotes(self, most: int = 3) -> tuple[Remark, ...]:
        """The newest remarks with different words."""
        seen: set[str] = set()
        picked: list[Remark] = []
        for remark in self.remarks:
            folded = normalise(remark.text)
            if folded not in seen:
                seen.add(folded)
                picked.append(remark)
            if len(picked) == most:
                break
        return tuple(picked)


def reads_as_complaint(text: str) -> bool:
    """Whether a message the detector found frustrated is quoted as a complaint.

    It is when something on its face is frustrated or wrong (negative words, a problem,
    swearing, shouting, angry emoji, having asked before, wanting to leave), when it asks
    "why" or "why not", or when it is a statement the tone model and the conversation found
    frustrated. A question with none of that on its face ("one more question: can I change
    the delivery address?"), or a bare request for a person, is not: the customer asked, they
    did not complain.
    """
    found = cues.read(text)
    if (
        found.wants_to_leave
        or found.swearing
        or found.negative
        or found.problems
        or found.all_caps
        or found.shouting
        or found.angry_emoji
        or found.asked_before
    ):
        return True
    if found.wants_person or found.plain_question:
        return False
    if _ASKS.search(text) is None:
        return True
    words = cues.tokens(text)
    padded = f" {' '.join(words)} "
    challenges = any(f" {phrase} " in padded for phrase in lexicon.WHY)
    return challenges or any(word in lexicon.NEGATORS for word in words)


def quoted(text: str) -> str:
    """A remark cut to a readable length."""
    text = " ".join(text.split())
    return text if len(text) <= _QUOTE_MAX else text[: _QUOTE_MAX - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class Themes:
    themes: tuple[Theme, ...]
    total: int
    """Remarks looked at."""

    @property
    def unthemed(self) -> int:
        return self.total - sum(t.count for t in self.themes)


def _words(text: str) -> list[str]:
    return [w for w in normalise(text).split() if not w.isdigit() and len(w) > 1]


def _stems(vocabulary: set[str]) -> dict[str, str]:
    """Each written word → its shortest form without Hebrew prefixes that is also written."""
    stems = {}
    for word in vocabulary:
        stem = word
        if _HEBREW_WORD.match(word):
            for cut in (1, 2):
                rest = word[cut:]
                if len(rest) < _STEM_MIN or not set(word[:cut]) <= _PREFIXES:
                    break
                if rest in vocabulary:
                    stem = rest
        elif word.endswith("s") and word[:-1] in vocabulary:
            stem = word[:-1]
        stems[word] = stem
    return stems


def group(
    remarks: Iterable[Remark],
    *,
    stop_words: frozenset[str],
    least: int = 2,
    most: int = 8,
    related: int = 3,
) -> Themes:
    """Group remarks into at most `most` themes of at least `least` remarks each, largest first.

    `stop_words` are compared in `normalise`d form. Remarks are assumed newest first.
    """
    found = [r for r in remarks if r.text.strip()]
    written = [[w for w in _words(r.text) if w not in stop_words] for r in found]
    stems = _stems({w for words in written for w in words})
    terms = [{stems[w] for w in words} for words in written]
    frequency = Counter(t for ts in terms for t in ts)
    free = set(range(len(found)))
    themes: list[Theme] = []
    while free and len(themes) < most:
        best: str | None = None
        gathered: list[int] = []
        for term in sorted(frequency, key=lambda t: (-frequency[t], t)):
            if frequency[term] <= len(gathered):
                break
            holding = [i for i in sorted(free) if term in terms[i]]
            if len(holding) > len(gathered):
                best, gathered = term, holding
        if best is None or len(gathered) < least:
            break
        free.difference_update(gathered)
        companions = Counter(t for i in gathered for t in terms[i] if t != best)
        themes.append(
            Theme(
                word=best,
                words=tuple(
                    t
                    for t, n in sorted(companions.items(), key=lambda c: (-c[1], c[0]))[:related]
                    if n > 1
                ),
                remarks=tuple(found[i] for i in gathered),
            )
        )
    return Themes(tuple(themes), total=len(found))


def stop_words(words: Sequence[str]) -> frozenset[str]:
    """A stop-word list in the form `group` compares words in."""
    return frozenset(normalise(w) for w in words if normalise(w))
