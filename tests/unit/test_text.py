"""Language detection by script and the normal form answers are matched in."""

from __future__ import annotations

import pytest

from flows.text import Text, detect_language, normalise


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("שלום, מה נשמע?", "he"),
        ("Hello, how are you?", "en"),
        ("האפליקציה של Wolt לא עובדת", "he"),
        ("my order #4 from קפה לנדוור", "en"),
        ("שָׁלוֹם", "he"),
        ("👍 123", None),
        ("", None),
    ],
)
def test_language_is_told_by_the_letters_that_dominate(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_normal_form_drops_niqqud_case_punctuation_emoji_and_invisible_marks() -> None:
    assert normalise("  הָסֵר!!! 🙏\u200f ") == "הסר"
    assert normalise("STOP.") == "stop"
    assert normalise("Stop  it\u200b now") == "stop it now"


def test_final_letters_are_kept_as_they_are() -> None:
    assert normalise("ךםןףץ") == "ךםןףץ"


def test_a_text_renders_in_the_customers_language_with_its_fields() -> None:
    greeting = Text(he="שלום {name}", en="Hello {name}")
    assert greeting.render("he", name="דנה") == "שלום דנה"
    assert greeting.render("en", name="Dana") == "Hello Dana"
    assert greeting.render("fr", name="Dana") == "Hello Dana"
