"""Answer parsers: a reply typed or tapped, read as a number, yes/no, a choice, a mood or text.

Every parser takes the customer's raw text and returns a JSON-safe value, or None when the
text is not an answer to the question (the engine then asks again). Matching is done on the
normal form (`flows.text.normalise`) with Hebrew final letters folded, so niqqud,
punctuation, emoji and case never matter.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

from flows.text import Text, normalise

Value = str | int
Parser = Callable[[str], Value | None]
Choices = tuple[tuple[str, Text], ...]

_FINALS = str.maketrans("ךםןףץ", "כמנפצ")
_NUMBER = re.compile(r"(?<![\d.,])\d+(?!\d|[.,]\d)")
_DECIMAL_OR_NEGATIVE = re.compile(r"\d[.,]\d|(?<![\w])-\s*\d")
# On folded text, where מתוך is spelled מתוכ.
_OUT_OF = re.compile(r"^(.+?)\s+(?:out of|of|מתוכ)\s+(\S+)$")


def fold(text: str) -> str:
    """The matching form: `normalise` with final letters folded (ם and מ are one letter)."""
    return normalise(text).translate(_FINALS)


def _folded(words: dict[str, int]) -> dict[str, int]:
    return {fold(word): value for word, value in words.items()}


NUMBER_WORDS = _folded(
    {
        "zero": 0,
        "one": 1,
        "two": 2,
        "three": 3,
        "four": 4,
        "five": 5,
        "six": 6,
        "seven": 7,
        "eight": 8,
        "nine": 9,
        "ten": 10,
        "אפס": 0,
        "אחת": 1,
        "אחד": 1,
        "שתיים": 2,
        "שתים": 2,
        "שניים": 2,
        "שנים": 2,
        "שלוש": 3,
        "שלושה": 3,
        "ארבע": 4,
        "ארבעה": 4,
        "חמש": 5,
        "חמישה": 5,
        "חמשה": 5,
        "שש": 6,
        "שישה": 6,
        "ששה": 6,
        "שבע": 7,
        "שבעה": 7,
        "שמונה": 8,
        "תשע": 9,
        "תשעה": 9,
        "עשר": 10,
        "עשרה": 10,
    }
)


def _number_in(text: str) -> int | None:
    """The one whole number a short text states, in digits or as a word; None if none or many."""
    raw = unicodedata.normalize("NFKC", text)
    if _DECIMAL_OR_NEGATIVE.search(raw):
        return None
    found = [int(digits) for digits in _NUMBER.findall(raw)]
    found += [NUMBER_WORDS[word] for word in fold(raw).split() if word in NUMBER_WORDS]
    return found[0] if len(set(found)) == 1 else None


def number(text: str) -> int | None:
    """A whole number: '9', 'nine', 'תשע', 'I'd give 9', '9/10', 'תשע מתוך עשר'."""
    words = fold(text)
    if (pair := _OUT_OF.match(words)) and _number_in(pair.group(2)) is not None:
        return _number_in(pair.group(1))
    if "/" in text:
        text = text.split("/", 1)[0]
    return _number_in(text)


def scale(low: int, high: int) -> Parser:
    """A number from `low` to `high` inclusive; anything outside is not an answer."""

    def parse(text: str) -> int | None:
        value = number(text)
        return value if value is not None and low <= value <= high else None

    return parse


def scale_choices(low: int, high: int) -> Choices:
    """A scale's buttons: one per number, its id and label the number itself."""
    return tuple((str(n), Text(he=str(n), en=str(n))) for n in range(low, high + 1))


def _phrases(*phrases: str) -> frozenset[str]:
    return frozenset(fold(phrase) or phrase for phrase in phrases)


YES = _phrases(
    "yes",
    "y",
    "yep",
    "yup",
    "yeah",
    "yea",
    "ya",
    "sure",
    "ok",
    "okay",
    "of course",
    "please",
    "yes please",
    "absolutely",
    "definitely",
    "i would",
    "i do",
    "👍",
    "כן",
    "כן בבקשה",
    "כן תודה",
    "בטח",
    "בטח שכן",
    "ברור",
    "אשמח",
    "בהחלט",
    "סבבה",
    "יאללה",
    "אוקיי",
    "אוקי",
    "בבקשה",
)
NO = _phrases(
    "no",
    "n",
    "nope",
    "nah",
    "no thanks",
    "no thank you",
    "not now",
    "no need",
    "not really",
    "👎",
    "לא",
    "לא תודה",
    "לא צריך",
    "אין צורך",
    "לא עכשיו",
    "ממש לא",
    "לא ממש",
    "לא בינתיים",
)
# The first word alone decides ("yes, please call", "לא, הכל טוב") unless it starts a hedge.
_YES_FIRST = _phrases("yes", "yep", "yeah", "sure", "כן", "בטח", "ברור")
_NO_FIRST = _phrases("no", "nope", "nah", "לא")
_UNSURE = _phrases(
    "not sure", "no idea", "i don t know", "dont know", "לא יודע", "לא יודעת", "לא בטוח", "לא בטוחה"
)


def yes_no(text: str) -> str | None:
    """'yes' or 'no' in either language; None for anything hedged or unclear."""
    words = fold(text) or text.strip()
    if words in YES:
        return "yes"
    if words in NO:
        return "no"
    if any(words == hedge or words.startswith(hedge + " ") for hedge in _UNSURE):
        return None
    first = words.split(" ", 1)[0]
    if first in _YES_FIRST:
        return "yes"
    if first in _NO_FIRST:
        return "no"
    return None


def choice(text: str, choices: Sequence[tuple[str, Text]]) -> str | None:
    """The id of the option a text names: its id, its number ('2') unless the options are
    numbers themselves (a scale), or its label in either language."""
    words = fold(text)
    if not words:
        return None
    for option_id, label in choices:
        if words in (fold(option_id), fold(label.he), fold(label.en)):
            return option_id
    numbered = any(option_id.isdigit() for option_id, _ in choices)  # a scale's own numbers
    if words.isdigit() and not numbered and 1 <= int(words) <= len(choices):
        return choices[int(words) - 1][0]
    return None


GREAT = _phrases(
    "great",
    "excellent",
    "amazing",
    "awesome",
    "perfect",
    "wonderful",
    "fantastic",
    "superb",
    "very good",
    "really good",
    "all good",
    "love it",
    "good",
    "מצוין",
    "מצויין",
    "מעולה",
    "מדהים",
    "מושלם",
    "נהדר",
    "אחלה",
    "סבבה",
    "פצצה",
    "טוב מאוד",
    "ממש טוב",
    "הכל טוב",
    "טוב",
    "כיף",
    "מרוצה",
)
OKAY = _phrases(
    "okay",
    "ok",
    "fine",
    "alright",
    "all right",
    "so so",
    "not bad",
    "meh",
    "average",
    "could be better",
    "בסדר",
    "סביר",
    "ככה ככה",
    "לא רע",
    "בסדר גמור",
    "יכול להיות יותר טוב",
)
PROBLEM = _phrases(
    "problem",
    "a problem",
    "there s a problem",
    "there is a problem",
    "i have a problem",
    "issue",
    "issues",
    "bad",
    "not good",
    "not great",
    "not so good",
    "not ok",
    "not okay",
    "not fine",
    "terrible",
    "awful",
    "horrible",
    "unhappy",
    "disappointed",
    "בעיה",
    "בעייה",
    "יש בעיה",
    "יש לי בעיה",
    "תקלה",
    "יש תקלה",
    "לא טוב",
    "לא משהו",
    "לא בסדר",
    "לא מרוצה",
    "לא ממש טוב",
    "לא כל כך טוב",
    "רע",
    "גרוע",
    "נורא",
    "מאוכזב",
    "מאוכזבת",
)
_MOODS = (("problem", PROBLEM), ("okay", OKAY), ("great", GREAT))


def _holds(words: list[str], phrase: str) -> bool:
    size = len(phrase.split())
    return any(" ".join(words[i : i + size]) == phrase for i in range(len(words) - size + 1))


def mood(text: str) -> str | None:
    """'great', 'okay' or 'problem' for how things are going; the longest phrase found wins."""
    words = fold(text).split()
    best: tuple[int, str] | None = None
    for name, phrases in _MOODS:
        for phrase in phrases:
            size = len(phrase.split())
            if (best is None or size > best[0]) and _holds(words, phrase):
                best = (size, name)
    return best[1] if best else None


def free_text(text: str) -> str | None:
    """Anything with something in it, as written (trimmed)."""
    stripped = text.strip()
    return stripped or None
