"""Customer-facing wording in Hebrew and English, and the normal form answers are matched in."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_HEBREW_LETTER = re.compile(r"[\u05d0-\u05ea]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_NIQQUD = re.compile(r"[\u0591-\u05c7]")
_NOT_WORD = re.compile(r"[^\w\s]+")


@dataclass(frozen=True, slots=True)
class Text:
    """One sentence in both languages; `{name}` style fields are filled by `render`."""

    he: str
    en: str

    def render(self, language: str, **fields: str) -> str:
        template = self.he if language == "he" else self.en
        return template.format(**fields) if fields else template


def detect_language(text: str) -> str | None:
    """'he' when Hebrew letters are at least as many as Latin ones, 'en' for Latin, else None."""
    hebrew = len(_HEBREW_LETTER.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    if hebrew == 0 and latin == 0:
        return None
    return "he" if hebrew >= latin else "en"


def normalise(text: str) -> str:
    """Case-folded, without niqqud, punctuation, emoji or zero-width marks; single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = _NIQQUD.sub("", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = _NOT_WORD.sub(" ", text.casefold())
    return " ".join(text.split())
