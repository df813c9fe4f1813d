"""What one message says on its face: asks for a person, wants to leave, reports a problem,
swears, shouts, sulks.

The words are in `lexicon`. Rules match on the folded normal form (`tone.fold`: no niqqud,
punctuation, emoji or case, final letters folded), with common typos mapped to their word and
Hebrew one-letter prefixes (ו ה ש ב כ ל מ) stripped from words the rules know, held-down
letters and missing spaces undone. Requests are read clause by clause (the normal form drops
the punctuation between them): a negator takes one back ("no need for an agent", "לא רוצה
לבטל") and a person only talked about ("the agent was great", "תודה לנציג") is not asked for.
Emoji, capitals and "!!!" are read from the raw text, since the normal form drops them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from flows.frustration.lexicon import (
    AGAIN,
    ALREADY,
    ANGRY_EMOJI,
    ASKING_AFTER,
    ASKING_BEFORE,
    ASKING_OPENERS,
    CANCEL_VERBS,
    CANCELLED,
    CANCELLING,
    DETERMINERS,
    FILLER,
    FUZZY,
    GREETINGS,
    HOW_NOT_ASKING,
    LEAVE_PHRASES,
    LEAVE_SHORT,
    LEAVING,
    LEAVING_WHO,
    LEFT,
    MENTIONED_AFTER,
    MENTIONED_BEFORE,
    NEGATED_SPAN,
    NEGATING,
    NEGATING_AUX,
    NEGATIVE,
    NEGATORS,
    NEVER_STRIPPED,
    NO_NEED,
    NOT_A_WAIT,
    PERSON_NOUNS,
    PERSON_PHRASES,
    PERSON_WORDS,
    POSITIVE,
    PREFIXES,
    PROBLEMS,
    REPEATED_ASKING,
    ROUTINE,
    SHORT_TIME,
    SPELLINGS,
    SWEARING,
    SWITCHING,
    THANKS,
    TIMES,
    TO_US,
    VOCABULARY,
    WAITING,
    WANTING,
    WHY,
)
from flows.frustration.tone import fold

_UNFOLD = str.maketrans("כמנפצ", "ךםןףץ")
_FINAL_AT_END = re.compile(r"(?<=[\u05d0-\u05ea])([כמנפצ])\b")
_PLAIN_QUESTION_WORDS = 12
_QUESTION_END = re.compile(r"(.*?)([\W_]*)", re.S)
_SENTENCES = re.compile(r"[.!?;؟\n]+")
_CLAUSES = re.compile(r"[.,;:!?\n…؟]+|\s[-–—]\s")
_SHOUT = re.compile(r"[!?！？]{3,}|(?:\?!|!\?){2,}")
_LATIN = re.compile(r"[A-Za-z]")
_UPPER_WORD = re.compile(r"\b[A-Z]{3,}\b")


@dataclass(frozen=True, slots=True)
class Cues:
    """What the rules found in one message."""

    wants_person: bool = False
    wants_to_leave: bool = False
    swearing: bool = False
    negative: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    """Something the business got wrong, as the customer reports it."""
    all_caps: bool = False
    shouting: str = ""
    angry_emoji: bool = False
    asked_before: bool = False
    again: bool = False
    plain_question: bool = False
    """A short question asking for information, with nothing above on its face."""

    @property
    def on_its_face(self) -> bool:
        """Anything that reads as a request or as frustration."""
        return (
            self.wants_person
            or self.wants_to_leave
            or self.swearing
            or bool(self.negative)
            or bool(self.problems)
            or self.all_caps
            or bool(self.shouting)
            or self.angry_emoji
            or self.asked_before
            or self.again
        )


def tokens(text: str) -> list[str]:
    """The folded words of a text with typos mapped and known Hebrew prefixes stripped."""
    words: list[str] = []
    for word in fold(text).split():
        if not _known(word):
            word = (
                _strip_prefix(word) or _fuzzy(word) or _unrepeated(word) or _unglued(word) or word
            )
        words.extend(SPELLINGS.get(word, word).split())
    return words


def clauses(text: str) -> list[list[str]]:
    """The `tokens` of each clause of a text, split at punctuation the normal form drops."""
    found = (tokens(part) for part in _CLAUSES.split(text))
    return [words for words in found if words]


def read(text: str) -> Cues:
    """The cues in one raw message."""
    parts = clauses(text)
    words = [word for part in parts for word in part]
    padded = f" {' '.join(words)} "
    wants_to_leave = any(_wants_to_leave(part) for part in parts) or (
        len(words) <= 2 and _any_phrase(padded, LEAVE_SHORT)
    )
    read_parts = [_words_of_note(part) for part in parts]
    negative = tuple(dict.fromkeys(phrase for found, _ in read_parts for phrase in found))
    problems = tuple(dict.fromkeys(phrase for _, found in read_parts for phrase in found))
    found = Cues(
        wants_person=any(_wants_person(part, alone=words) for part in parts),
        wants_to_leave=wants_to_leave,
        swearing=_any_phrase(padded, SWEARING) or any(w.startswith("fuck") for w in words),
        negative=negative,
        problems=problems,
        all_caps=_all_caps(text),
        shouting=_shouting(text),
        angry_emoji=any(ch in ANGRY_EMOJI for ch in text),
        asked_before=_any_phrase(padded, REPEATED_ASKING),
        again=_again(words),
    )
    if not found.on_its_face and _plain_question(text, words):
        return replace(found, plain_question=True)
    return found


def _known(word: str) -> bool:
    return word in VOCABULARY or word in SPELLINGS or word in NEVER_STRIPPED


def _any_phrase(padded: str, phrases: frozenset[str]) -> bool:
    return any(f" {phrase} " in padded for phrase in phrases)


def _phrase_at(words: list[str], i: int, phrases: frozenset[str]) -> int:
    """Length in words of the longest phrase of `phrases` starting at word i, or 0."""
    for n in (6, 5, 4, 3, 2, 1):
        if i + n <= len(words) and " ".join(words[i : i + n]) in phrases:
            return n
    return 0


def _matches(words: list[str], phrases: frozenset[str]) -> list[tuple[int, int]]:
    """(start, length) of every phrase of `phrases` in `words`, the longest at each start."""
    found = []
    for i in range(len(words)):
        n = _phrase_at(words, i, phrases)
        if n:
            found.append((i, n))
    return found


def _wants_person(words: list[str], *, alone: list[str]) -> bool:
    """One clause asks for a person: a phrase that asks on its own, unless taken back or
    only talked about, or a person word with a request around it or with little else in the
    whole message (`alone`)."""
    for i, n in _matches(words, PERSON_PHRASES):
        if _negated_request(words, i):
            continue
        if _asked(words, i, n) or not _mentioned(words, i, n):
            return True
    for i, n in _matches(words, PERSON_WORDS):
        if _negated_request(words, i):
            continue
        others = [w for w in alone if w not in FILLER and w not in ASKING_AFTER]
        if len(alone) - n <= 4 and " ".join(others) == " ".join(words[i : i + n]):
            return True  # "human", "a human please", "נציג בבקשה", "customer service?"
        if _asked(words, i, n):
            return True
    return False


def _asked(words: list[str], i: int, n: int) -> bool:
    """A request stands around the phrase at i: "want", "talk to", "please", "תעבירו"."""
    before = words[max(0, i - 3) : i]
    if any(w in ASKING_BEFORE for w in before) or any(
        " ".join(before[j : j + 2]) in ASKING_BEFORE for j in range(len(before) - 1)
    ):
        return True
    after = words[i + n : i + n + 2]
    return bool(after) and (after[0] in ASKING_AFTER or " ".join(after) in ASKING_AFTER)


def _mentioned(words: list[str], i: int, n: int) -> bool:
    """The person named at i is talked about ("the agent was", "תודה לנציג"), not asked for.

    Only a phrase that names a person without asking ("נציג", "real person"; not "transfer me",
    "לדבר עם מישהו") can be a mention."""
    phrase = words[i : i + n]
    if any(w in ASKING_BEFORE for w in phrase) or not any(w in PERSON_NOUNS for w in phrase):
        return False
    before = words[max(0, i - 3) : i]
    after = words[i + n : i + n + 3]
    return any(w in MENTIONED_BEFORE for w in before) or any(w in MENTIONED_AFTER for w in after)


def _negated_request(words: list[str], i: int) -> bool:
    """A negator takes back the request starting at i, over words that only fill the
    request out: "no need for a", "don't want to", "לא צריך", "אני לא רוצה"."""
    j = i - 1
    while j >= 0 and i - j <= 6:
        word = words[j]
        previous = words[j - 1] if j else ""
        if word in NEGATING or (word == "t" and previous in NEGATING_AUX):
            if word == "not" and previous == "can":
                return False  # "I can not get a human": a complaint
            if word == "אל" and j == i - 1 and words[i] in PERSON_NOUNS:
                return False  # "תעבירו אותי אל נציג": "to", not "don't"
            earlier = words[max(0, j - 3) : j]
            return not any(w in WHY for w in earlier)
        if " ".join(words[j : j + 2]) in NO_NEED:
            return True
        if word in FILLER or word in ASKING_BEFORE or word in NEGATED_SPAN or word in WANTING:
            j -= 1
            continue
        return False
    return False


def _wants_to_leave(words: list[str]) -> bool:
    """One clause asks to cancel or leave, unless a negator takes it back."""
    for i, n in _matches(words, LEAVE_PHRASES):
        if not _negated_request(words, i) and not _routine(words, i, i + n):
            return True
    for i, word in enumerate(words):
        asked = (word in CANCELLING and _cancels_something(words, i + 1)) or (
            word in CANCEL_VERBS and any(w in WANTING for w in words[max(0, i - 2) : i])
        )
        if asked and not _negated_request(words, i):
            return True
        if word in LEAVING and any(w in LEAVING_WHO for w in words[max(0, i - 2) : i]):
            rest = words[i + 1 :]
            if (not rest or (len(rest) <= 2 and rest[0] in LEFT)) and not _negated_request(
                words, i
            ):
                return True
    return False


def _routine(words: list[str], start: int, i: int) -> bool:
    """The leaving phrase from `start` to i is about an everyday thing, not the customer's tie
    to the business: cancelling a booking or an order ("how do I cancel a transfer", "אפשר
    לבטל את התור של 5"), unless an account, a plan or a subscription follows in the clause
    ("cancel my order and my account"); switching to this business ("switching to you")."""
    if words[start] in SWITCHING:
        return i < len(words) and words[i] in TO_US
    while i < len(words) and words[i] in DETERMINERS:
        i += 1
    if i >= len(words) or words[i] not in ROUTINE:
        return False
    return not any(_phrase_at(words, j, CANCELLED) for j in range(i + 1, len(words)))


def _cancels_something(words: list[str], i: int) -> bool:
    """A subscription, account or contract follows at i, after "my", "the", "את"."""
    while i < len(words) and words[i] in DETERMINERS:
        i += 1
    return _phrase_at(words, i, CANCELLED) > 0


def _plain_question(text: str, words: list[str]) -> bool:
    """A message that is one short question asking for information ("what time do you
    close?", "היי, כמה עולה המנוי?"): no "why", no negation, opened by a question word after
    any greeting, ending in the only question mark."""
    if not words or len(words) > _PLAIN_QUESTION_WORDS:
        return False
    rest = words[1:] if words[0] in GREETINGS else words
    if not rest or rest[0] not in ASKING_OPENERS:
        return False
    padded = f" {' '.join(rest)} "
    if _any_phrase(padded, HOW_NOT_ASKING) or _any_phrase(padded, WHY):
        return False
    if any(w in NEGATORS for w in rest):
        return False
    ended = _QUESTION_END.fullmatch(text.strip())
    if ended is None:
        return False
    body, tail = ended.groups()
    if "?" not in tail and "؟" not in tail:
        return False
    sentences = [part for part in _SENTENCES.split(body) if part.strip()]
    if sentences and all(w in GREETINGS for w in tokens(sentences[0])):
        sentences = sentences[1:]
    return len(sentences) == 1


def _negated(words: list[str], i: int) -> bool:
    before = words[max(0, i - 3) : i]
    return any(w in NEGATORS for w in before)


def _words_of_note(words: list[str]) -> tuple[list[str], list[str]]:
    """The negative words and the reported problems in one clause, each phrase read once."""
    negative: list[str] = []
    problems: list[str] = []
    i = 0
    while i < len(words):
        for phrases, found in ((PROBLEMS, problems), (NEGATIVE, negative)):
            n = _phrase_at(words, i, phrases)
            # Phrases of two words or more carry their own negation ("not working", "לא עובד").
            if n and (n > 1 or not _negated(words, i)):
                found.append(_shown(words[i : i + n]))
                break
        else:
            n = _phrase_at(words, i, POSITIVE)
            if n and _negated(words, i):
                negative.append(_shown(words[max(0, i - 1) : i + n]))
            else:
                n = 0
        i += n or 1
    wait = _measured_wait(words)
    if wait:
        problems.append(wait)
    return negative, problems


def _measured_wait(words: list[str]) -> str:
    """ "waiting 3 weeks", "been 2 days", "מחכה כבר שעה": the words from the wait to its length."""
    for i, word in enumerate(words):
        if word not in WAITING:
            continue
        # "been" only right before the time ("it's been two weeks", not "been a great week"),
        # "already" right next to it ("3 weeks already", "כבר שבוע").
        if word == "been":
            span = range(i + 1, i + 3)
        elif word in ALREADY:
            span = range(max(0, i - 2), i + 3)
        else:
            span = range(max(0, i - 4), i + 6)
        for j in span:
            if j < len(words) and _a_length_of_time(words, j):
                return _shown(words[min(i, j) : max(i, j) + 1])
    return ""


def _shown(words: list[str]) -> str:
    """Words of the normal form as a reason shows them: Hebrew final letters put back."""
    return _FINAL_AT_END.sub(lambda m: m[1].translate(_UNFOLD), " ".join(words))


def _a_length_of_time(words: list[str], j: int) -> bool:
    if not (words[j] in TIMES or SHORT_TIME.fullmatch(words[j])):
        return False
    around = words[max(0, j - 2) : j] + words[j + 1 : j + 2]
    return not any(w in NOT_A_WAIT for w in around)


def _all_caps(text: str) -> bool:
    letters = _LATIN.findall(text)
    if len(letters) < 8:
        return False
    upper = sum(1 for ch in letters if ch.isupper())
    return upper / len(letters) >= 0.7 and len(_UPPER_WORD.findall(text)) >= 2


def _shouting(text: str) -> str:
    match = _SHOUT.search(text)
    if not match:
        return ""
    return "!!!" if "!" in match.group() or "！" in match.group() else "???"


def _again(words: list[str]) -> bool:
    for i, word in enumerate(words):
        if word in AGAIN and not any(w in THANKS for w in words[max(0, i - 2) : i]):
            return True
    return False


def _strip_prefix(word: str) -> str | None:
    for k in (1, 2, 3):
        if len(word) - k < 2 or word[k - 1] not in PREFIXES:
            return None
        if word[k:] in VOCABULARY or word[k:] in SPELLINGS:
            return word[k:]
    return None


def _unrepeated(word: str) -> str | None:
    """A known word typed with a letter held down: "נציגגג", "pleeease", "תבטלוו"."""
    for shorter in (re.sub(r"(.)\1{2,}", r"\1", word), re.sub(r"(.)\1+", r"\1", word)):
        if shorter != word and len(shorter) >= 4:
            if _known(shorter):
                return shorter
            stripped = _strip_prefix(shorter)
            if stripped:
                return stripped
    return None


MAX_GLUED = 30


def _unglued(word: str) -> str | None:
    """Two known words typed without the space: "רוצהלבטל", "תעבירולי"."""
    shortest = 3 if _LATIN.match(word) else 2
    # Longer than two words can be: each split would cost a copy of the word.
    if not 2 * shortest + 2 <= len(word) <= MAX_GLUED:
        return None
    for k in range(shortest, len(word) - shortest + 1):
        head, tail = word[:k], word[k:]
        if _known(head) and (_known(tail) or _strip_prefix(tail)):
            return f"{head} {_strip_prefix(tail) or tail}"
    return None


def _fuzzy(word: str) -> str | None:
    if len(word) < 7:
        return None
    for target in FUZZY:
        if abs(len(target) - len(word)) <= 2 and word[0] == target[0]:
            limit = 2 if len(target) >= 10 else 1
            if _distance(word, target, limit) <= limit:
                return target
    return None


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (adjacent swaps count one), cut off above `limit`."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]
