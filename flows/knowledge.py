"""Answers from a business's knowledge base: how near a customer's question is to each entry,
whether the nearest is near enough to answer with, and the words of an automatic answer.

Two signals are added up. The semantic one is how far the entry's cosine with the question
(e5: a query against passages) stands above the question's typical cosine with this business's
entries (their median, drawn towards a fixed baseline when there are few): e5 gives every pair
of sentences a cosine of 0.75 or more, and how high depends on the question, so it is the lead
over the rest that tells. The lexical one is the share of the question's content words
(idf-weighted, Hebrew prefixes stripped) that the entry contains. With no vectors (the encoder
off) the lexical signal is the score. An answer is sent when the best entry's score, plus its
lead over the next, reaches the threshold. Vectors and texts are passed in; nothing here does
I/O.
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
    """How the signals add up, and the confidence at which an answer is sent.

    `baseline`, `prior`: the cosine a question typically has with an unrelated entry, and how
    many entries' worth of weight it has against the business's own median. `spread`: the lead
    over that baseline that counts as a full semantic match. `semantic`: the semantic signal's
    share of the score when there are vectors (the rest is lexical). `lead`: how much the best
    entry's lead over the next adds to its confidence. `answer` (with vectors) and
    `lexical_answer` (without): the shipped thresholds, chosen on the benchmark's tuning split
    (docs/benchmarks.md). `context`: how near an entry must be to the best to be handed to the
    language model beside it.
    """

    baseline: float = 0.80
    prior: float = 4.0
    spread: float = 0.12
    semantic: float = 0.7
    lead: float = 1.0
    answer: float = 0.58
    lexical_answer: float = 0.86
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
_ENGLISH_ENDINGS = ("ing", "ion", "ed", "es", "s")
_WORD = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    """The content words of a text, normalised, function words left out (also behind a Hebrew
    prefix: "ואני")."""
    return [
        word
        for word in _WORD.findall(normalise(text))
        if word not in _STOP and not (_is_hebrew(word) and word[1:] in _STOP)
    ]


def forms(word: str) -> frozenset[str]:
    """The forms a word is matched in: itself, without its Hebrew prefix (ו, ה, ב, ל, מ, ש, כ;
    two behind ו or ש) while three letters are left, or without an English ending ("booking",
    "book")."""
    found = {word}
    if _is_hebrew(word):
        if len(word) > 3 and word[0] in _HEBREW_PREFIXES:
            found.add(word[1:])
            # A second prefix only behind "and" or "that": ובשישי, שבחנות (not הכתובת).
            if len(word) > 4 and word[0] in "וש" and word[1] in _HEBREW_PREFIXES:
                found.add(word[2:])
    elif not word.isdigit():
        for ending in _ENGLISH_ENDINGS:
            if word.endswith(ending) and len(word) - len(ending) >= 3:
                found.add(word[: -len(ending)])
    return frozenset(found)


def _is_hebrew(word: str) -> bool:
    return "\u05d0" <= word[0] <= "\u05ea"


def rank(
    question: str,
    entries: Sequence[Entry],
    *,
    vector: Vector | None = None,
    weights: Weights = SHIPPED,
) -> list[Match]:
    """Every entry scored against the question, best first."""
    asked = [forms(word) for word in dict.fromkeys(tokens(question))]
    bags = [{f for text in e.texts for word in tokens(text) for f in forms(word)} for e in entries]
    idf = _idf(asked, bags)
    cosines = (
        [max((_dot(vector, v) for v in e.vectors), default=None) for e in entries]
        if vector is not None
        else [None] * len(entries)
    )
    base = _baseline([c for c in cosines if c is not None], weights)
    matches = []
    for entry, bag, cosine in zip(entries, bags, cosines, strict=True):
        lexical = _overlap(asked, bag, idf)
        if cosine is None:
            semantic, score = None, lexical
        else:
            semantic = min(1.0, max(0.0, (cosine - base) / weights.spread))
            score = weights.semantic * semantic + (1 - weights.semantic) * lexical
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
    """The entries to answer with, best first: none when the best one's confidence (its score
    plus its weighted lead over the next) is below the threshold (the lexical one when no entry
    had vectors); else the best and the entries within `context` of it."""
    if not matches:
        return []
    best = matches[0]
    threshold = weights.answer if best.semantic is not None else weights.lexical_answer
    lead = best.score - matches[1].score if len(matches) > 1 else best.score
    if best.score + weights.lead * lead < threshold:
        return []
    return [m for m in matches if m.score >= best.score - weights.context]


def _baseline(cosines: Sequence[float], weights: Weights) -> float:
    """The question's typical cosine with the entries: their median, drawn towards the fixed
    baseline by `prior` entries' worth (a business with two entries has no median to speak of)."""
    if not cosines:
        return weights.baseline
    ordered = sorted(cosines)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    n = len(ordered)
    return (n * median + weights.prior * weights.baseline) / (n + weights.prior)


def _idf(asked: Sequence[frozenset[str]], bags: Sequence[set[str]]) -> list[float]:
    """Each question word's weight: rarer among the entries, heavier (one no entry has, the
    heaviest)."""
    n = len(bags)
    return [math.log(1 + (n + 1) / (sum(1 for bag in bags if word & bag) + 0.5)) for word in asked]


def _overlap(asked: Sequence[frozenset[str]], bag: set[str], idf: Sequence[float]) -> float:
    """The idf-weighted share of the question's words found in the entry."""
    total = sum(idf)
    if not total:
        return 0.0
    return sum(w for word, w in zip(asked, idf, strict=True) if word & bag) / total


def _dot(a: Vector, b: Vector) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


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
