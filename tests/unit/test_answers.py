"""Answer parsers: numbers, yes/no, choices and moods in Hebrew and English, typed any which way."""

from __future__ import annotations

import pytest

from flows.answers import choice, free_text, mood, number, scale, yes_no
from flows.text import Text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("9", 9),
        ("nine", 9),
        ("Nine!", 9),
        ("תשע", 9),
        ("תשעה", 9),
        ("תֵּשַׁע", 9),
        ("עשר", 10),
        ("עשרה", 10),
        ("אפס", 0),
        ("zero", 0),
        ("I'd give it a 9", 9),
        ("9/10", 9),
        ("ten out of ten", 10),
        ("תשע מתוך עשר", 9),
        ("８", 8),
    ],
)
def test_a_number_is_read_in_digits_or_words_in_both_languages(text: str, value: int) -> None:
    assert number(text) == value


@pytest.mark.parametrize(
    "text", ["", "great", "7.5", "-1", "between 6 and 8", "1-5", "שבע או שמונה"]
)
def test_no_number_or_more_than_one_is_not_a_number(text: str) -> None:
    assert number(text) is None


def test_a_scale_takes_only_numbers_inside_its_range() -> None:
    nps, csat = scale(0, 10), scale(1, 5)

    assert nps("0") == 0
    assert nps("עשר") == 10
    assert nps("11") is None
    assert csat("5") == 5
    assert csat("zero") is None
    assert csat("שש") is None


@pytest.mark.parametrize(
    "text", ["yes", "Yes!", "yep", "yeah", "sure", "כן", "כֵּן", "בטח", "כן, בבקשה", "👍"]
)
def test_yes_in_either_language(text: str) -> None:
    assert yes_no(text) == "yes"


@pytest.mark.parametrize("text", ["no", "No.", "nope", "no thanks", "לא", "לא תודה", "לא, הכל טוב"])
def test_no_in_either_language(text: str) -> None:
    assert yes_no(text) == "no"


@pytest.mark.parametrize("text", ["maybe", "לא יודע", "not sure", "", "what?"])
def test_a_hedge_is_neither_yes_nor_no(text: str) -> None:
    assert yes_no(text) is None


CHOICES = (
    ("food", Text(he="אוכל", en="Food")),
    ("staff", Text(he="צוות", en="Staff 👋")),
    ("price", Text(he="מחיר", en="Price")),
)


@pytest.mark.parametrize(
    ("text", "picked"),
    [
        ("food", "food"),
        ("2", "staff"),
        ("3.", "price"),
        ("Staff", "staff"),
        ("staff!", "staff"),
        ("צוות", "staff"),
        ("מְחִיר", "price"),
        ("מחיר?", "price"),
    ],
)
def test_a_choice_is_found_by_id_number_or_label_typed_by_hand(text: str, picked: str) -> None:
    assert choice(text, CHOICES) == picked


@pytest.mark.parametrize("text", ["4", "0", "drinks", ""])
def test_an_option_that_is_not_offered_is_no_choice(text: str) -> None:
    assert choice(text, CHOICES) is None


def test_final_letters_do_not_matter_when_a_label_is_typed() -> None:
    assert choice("שלומ", (("peace", Text(he="שלום", en="Peace")),)) == "peace"


@pytest.mark.parametrize(
    ("text", "feeling"),
    [
        ("great", "great"),
        ("Excellent!", "great"),
        ("מצוין", "great"),
        ("הכל מצוין!", "great"),
        ("סבבה", "great"),
        ("okay", "okay"),
        ("fine I guess", "okay"),
        ("בסדר", "okay"),
        ("not bad", "okay"),
        ("לא רע", "okay"),
        ("there's a problem", "problem"),
        ("בעיה", "problem"),
        ("יש לי בעיה עם ההזמנה", "problem"),
        ("not good", "problem"),
        ("לא טוב", "problem"),
        ("everything is great except there is a problem with delivery", "problem"),
    ],
)
def test_how_things_are_going_is_read_from_words(text: str, feeling: str) -> None:
    assert mood(text) == feeling


def test_words_that_say_nothing_about_how_things_are_going_are_no_mood() -> None:
    assert mood("hmm") is None
    assert mood("") is None


def test_free_text_is_anything_but_blank() -> None:
    assert free_text("  the coffee was cold ") == "the coffee was cold"
    assert free_text("   ") is None
