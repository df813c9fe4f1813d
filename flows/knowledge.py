"""Answers from a business's knowledge base: how near a customer's question is to each entry,
whether the nearest is near enough to answer with, and the words of an automatic answer.

Two signals are added up. The semantic one is the cosine between the question's vector and the
entry's (e5: a query against passages), rescaled from the band where e5's cosines live (it
rarely gives two sentences less than 0.7) to 0..1. The lexical one is the share of the
question's content words (idf-weighted, Hebrew prefixes stripped) that the entry contains. With
no vectors (the encoder off) the lexical signal is the score. Vectors and texts are passed in;
nothing here does I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from flows.outcome import AnsweredFromKnowledge, Outcome, RequestHandoff, Said
from flows.text import Text, normalise

Vector = tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry as the matcher sees it: its texts (a question or a fact's title, and its
    answer, in whichever languages it has) and their vectors as passages."""

    id: int
    texts: tuple[str, ...]
    vectors: tuple[Vector, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    entry_id: int
    score: float
    semantic: float | None
    lexical: float


@dataclass(frozen=True, slots=True)
class Weights:
    """How the two signals add up, and the score at which an answer is sent.

    `low`..`high`: the band of e5 cosines rescaled to 0..1. `semantic`: the semantic signal's
    share of the score when there are vectors (the rest is lexical). `answer`: the shipped
    threshold (chosen on the benchmark's tuning half, see docs/benchmarks.md). `margin`: how
    far the best must be ahead of the next entry when both are above the threshold; `context`:
    how near an entry must be to be handed to the language model beside the best.
    """

    low: float = 0.78
    high: float = 0.90
    semantic: float = 0.7
    answer: float = 0.55
    lexical_answer: float = 0.6
    margin: float = 0.0
    context: float = 0.1


SHIPPED = Weights()

# Words that say nothing of what is asked: function words, and the asking itself.
_STOP = frozenset(
    """
    a an the is are was were be been am do does did can could would should will shall may
    might must i you we they he she it me us my your our their his her its this that these
    those there here what when where which who whom whose why how to of in on at by for with
    from about as into and or but if so not no yes please thanks thank hi hello hey any some
    have has had get got there's what's it's i'm im you're do you
    אני אתה את אתם אתן אנחנו הוא היא הם הן זה זאת זו אלה יש אין של על עם את אם או גם
    כי מה מתי איפה איך למה כמה האם אפשר רוצה רוצים רציתי לשאול שאלה תודה שלום היי בבקשה
    לי לך לכם לנו שלכם שלך שלי הזה הזאת עוד כבר רק כל מי אצלכם אתכם אותי אותו פה כאן
    """.split()  # noqa: SIM905 (a word list reads best as words)
)
_HEBREW_PREFIXES = "ושהבלמכ"
_WORD = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    """The content words of a text, normalised: Hebrew one- or two-letter prefixes (ו, ה, ב,
    ל, מ, ש, כ) taken off longer words, an English plural's s dropped, function words left out."""
    found = []
    for word in _WORD.findall(normalise(text)):
        stem = _stem(word)
        if stem and stem not in _STOP and word not in _STOP:
            found.append(stem)
    return found


def _stem(word: str) -> str:
    if word.isdigit():
        return word
    if "\u05d0" <= word[0] <= "\u05ea":
        for _ in range(2):
            if len(word) > 3 and word[0] in _HEBREW_PREFIXES:
                word = word[1:]
        return word
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def rank(
    question: str,
    entries: Sequence[Entry],
    *,
    vector: Vector | None = None,
    weights: Weights = SHIPPED,
) -> list[Match]:
    """Every entry scored against the question, best first."""
    asked = set(tokens(question))
    bags = [set(t for text in e.texts for t in tokens(text)) for e in entries]
    idf = _idf(bags)
    matches = []
    for entry, bag in zip(entries, bags, strict=True):
        lexical = _overlap(asked, bag, idf)
        semantic = (
            _rescale(max(_dot(vector, v) for v in entry.vectors), weights)
            if vector is not None and entry.vectors
            else None
        )
        score = (
            lexical
            if semantic is None
            else weights.semantic * semantic + (1 - weights.semantic) * lexical
        )
        matches.append(
            Match(
                entry.id,
                round(score, 4),
                None if semantic is None else round(semantic, 4),
                round(lexical, 4),
            )
        )
    return sorted(matches, key=lambda m: (-m.score, m.entry_id))


def chosen(matches: Sequence[Match], *, weights: Weights = SHIPPED) -> list[Match]:
    """The entries to answer with, best first: none when the best is below the threshold (the
    lexical one when no entry had vectors) or too close to a different entry; else the best
    and the entries within `context` of it."""
    if not matches:
        return []
    best = matches[0]
    threshold = weights.answer if best.semantic is not None else weights.lexical_answer
    if best.score < threshold:
        return []
    if len(matches) > 1 and best.score - matches[1].score < weights.margin:
        return []
    return [m for m in matches if m.score >= max(threshold, best.score - weights.context)]


def _idf(bags: Sequence[set[str]]) -> dict[str, float]:
    count: dict[str, int] = {}
    for bag in bags:
        for token in bag:
            count[token] = count.get(token, 0) + 1
    n = len(bags)
    return {t: math.log(1 + (n + 1) / (c + 0.5)) for t, c in count.items()}


def _overlap(asked: set[str], bag: set[str], idf: dict[str, float]) -> float:
    """The idf-weighted share of the question's words found in the entry (a word no entry has
    weighs as the rarest)."""
    if not asked:
        return 0.0
    rarest = max(idf.values(), default=1.0)
    total = sum(idf.get(t, rarest) for t in asked)
    found = sum(idf[t] for t in asked if t in bag)
    return found / total


def _dot(a: Vector, b: Vector) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _rescale(cosine: float, weights: Weights) -> float:
    return min(1.0, max(0.0, (cosine - weights.low) / (weights.high - weights.low)))


# The automatic answer's words, the person it offers, and the customer's reactions to it.
AUTOMATIC = Text(
    he="🤖 תשובה אוטומטית:\n{answer}\n\nלא מה שחיפשתם? כתבו „נציג” ונעביר את השאלה לאדם מהצוות.",
    en='🤖 Automatic answer:\n{answer}\n\nNot what you were looking for? Write "agent" and a person from the team will get your question.',
)
PERSON = "kb:person"
UNHELPFUL = "kb:unhelpful"
PERSON_LABEL = Text(he="👤 לדבר עם נציג", en="👤 Talk to a person")
UNHELPFUL_LABEL = Text(he="👎 לא עזר", en="👎 Not helpful")
UNHELPFUL_WORDS = frozenset(
    {
        "לא עזר",
        "זה לא עזר",
        "לא עוזר",
        "לא עזרת",
        "תשובה לא טובה",
        "not helpful",
        "unhelpful",
        "didnt help",
        "did not help",
        "that didnt help",
        "not what i asked",
        "wrong answer",
        "👎",
    }
)


class Reaction(StrEnum):
    """What a customer said of an automatic answer."""

    PERSON = "person"
    UNHELPFUL = "unhelpful"


def automatic_answer(
    answer: str, entries: Sequence[int], *, language: str, buttons: bool
) -> Outcome:
    """The reply that says it is automatic and offers a person (a button where the channel has
    buttons, the word everywhere), and the effect naming the entries it came from."""
    choices = (
        (
            (PERSON, PERSON_LABEL.render(language)),
            (UNHELPFUL, UNHELPFUL_LABEL.render(language)),
        )
        if buttons
        else ()
    )
    said = Said(AUTOMATIC.render(language, answer=answer.strip()), choices=choices)
    return Outcome(replies=(said,), effects=(AnsweredFromKnowledge(tuple(entries)),))


def reaction_of(text: str | None, *, choice: str | None = None) -> Reaction | None:
    """A tap on the automatic answer's buttons, or "not helpful" in words (asking for a person
    in words is the frustration detector's to hear, as anywhere)."""
    if choice == PERSON:
        return Reaction.PERSON
    if choice == UNHELPFUL:
        return Reaction.UNHELPFUL
    if text and (
        text.strip() == "👎"
        or normalise(text.replace("'", "").replace("\u2019", "")) in UNHELPFUL_WORDS
    ):
        return Reaction.UNHELPFUL
    return None


def after_reaction(reaction: Reaction) -> Outcome:
    """Either reaction gives the question to a person (a handoff, whose acknowledgement answers)."""
    reason = (
        "asked for a person after an automatic answer"
        if reaction is Reaction.PERSON
        else "an automatic answer did not help"
    )
    return Outcome(effects=(RequestHandoff(reason),))
