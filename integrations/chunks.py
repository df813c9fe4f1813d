"""Long text cut into messages a provider accepts, at paragraphs, lines or words.

Limits are counted in UTF-16 code units, as Telegram and Twilio count them: an emoji outside
the Basic Multilingual Plane is two.
"""

from __future__ import annotations

from bot.domain import SendFailed


def split_text(text: str, *, limit: int) -> list[str]:
    """Text cut into messages of at most `limit` UTF-16 units, at paragraphs, lines or words."""
    if not text.strip():
        raise SendFailed("an empty message cannot be sent", retryable=False)
    parts: list[str] = []
    rest = text.strip()
    while _units(rest) > limit:
        end = _fitting(rest, limit)
        window = rest[:end]
        cut = next(
            (found for mark in ("\n\n", "\n", " ") if (found := window.rfind(mark)) > end // 2),
            end,
        )
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    parts.append(rest)
    return [p for p in parts if p]


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fitting(text: str, limit: int) -> int:
    """The longest prefix length (in characters) that fits in `limit` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)
