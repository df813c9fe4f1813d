"""Feedback themes: remarks grouped by the words they share, checked against hand-worked groups."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from flows.themes import group, quoted, reads_as_complaint, stop_words

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)  # a Sunday
STOP = stop_words(["the", "was", "is", "too", "and", "a", "של", "לא", "היה", "מדי", "אבל", "עם"])
ANNA, BEN, DANA = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


@dataclass(frozen=True)
class Said:
    customer_id: uuid.UUID
    text: str
    at: datetime
    source: str = "answer"


def _remarks(*texts: tuple[uuid.UUID, str, int]) -> list[Said]:
    """(customer, text, days ago), newest first as storage gives them."""
    return sorted(
        (Said(c, t, NOW - timedelta(days=d)) for c, t, d in texts), key=lambda r: r.at, reverse=True
    )


def test_remarks_group_by_their_most_shared_word_largest_first() -> None:
    remarks = _remarks(
        (ANNA, "המחיר גבוה מדי", 1),
        (BEN, "המנוי יקר והמחיר עלה", 2),
        (DANA, "מחיר לא הוגן", 3),
        (ANNA, "השירות היה איטי", 4),
        (BEN, "שירות מעולה אבל איטי", 5),
        (DANA, "The delivery was late again", 6),
        (ANNA, "late delivery, third time!!", 7),
        (BEN, "הכל טוב", 8),
    )
    found = group(remarks, stop_words=STOP)
    # Hand-worked: "מחיר" is in 3 remarks (המחיר, והמחיר fold to it because מחיר is written),
    # then "delivery" and "late" tie at 2 (alphabetical: delivery), then "איטי" and "שירות" at 2.
    assert [(t.word, t.count) for t in found.themes] == [("מחיר", 3), ("delivery", 2), ("איטי", 2)]
    assert found.themes[1].words == ("late",)
    assert found.themes[2].words == ("שירות",)
    assert found.total == 8 and found.unthemed == 1
    assert found.themes[0].customers == 3


def test_a_prefix_is_only_taken_off_when_the_word_without_it_is_written() -> None:
    apart = _remarks((ANNA, "המחיר", 1), (BEN, "במחיר", 2))
    assert group(apart, stop_words=STOP).themes == ()
    joined = _remarks((ANNA, "המחיר", 1), (BEN, "במחיר", 2), (DANA, "מחיר", 3))
    assert [(t.word, t.count) for t in group(joined, stop_words=STOP).themes] == [("מחיר", 3)]
    # Two letters left are never a word of their own: הבן does not become בן's "ן".
    short = _remarks((ANNA, "הבן שלי", 1), (BEN, "בן", 2))
    assert group(short, stop_words=STOP).themes == ()


def test_niqqud_case_and_plurals_fold_together() -> None:
    remarks = _remarks(
        (ANNA, "PRICES are high", 1),
        (BEN, "the price went up", 2),
        (DANA, "מְחִיר גבוה", 3),
        (ANNA, "מחיר גבוה", 4),
    )
    found = group(remarks, stop_words=STOP)
    assert {(t.word, t.count) for t in found.themes} == {("price", 2), ("גבוה", 2)}


def test_a_word_in_fewer_remarks_than_least_opens_no_theme() -> None:
    remarks = _remarks((ANNA, "parking", 1), (BEN, "music", 2))
    found = group(remarks, stop_words=STOP)
    assert found.themes == () and found.unthemed == 2
    assert group([], stop_words=STOP).themes == ()


def test_at_most_most_themes_and_each_remark_in_one() -> None:
    remarks = _remarks(*((ANNA, f"word{i} common{i % 3}", i) for i in range(12)))
    found = group(remarks, stop_words=STOP, most=2)
    assert len(found.themes) == 2
    seen = [id(r) for t in found.themes for r in t.remarks]
    assert len(seen) == len(set(seen))


def test_quotes_are_the_newest_distinct_remarks_and_weeks_start_on_sunday() -> None:
    remarks = _remarks(
        (ANNA, "Late delivery", 0),
        (BEN, "late   DELIVERY", 1),
        (DANA, "delivery came late, cold food", 8),
        (ANNA, "delivery late", 9),
    )
    theme = group(remarks, stop_words=STOP).themes[0]
    assert [q.text for q in theme.quotes(2)] == ["Late delivery", "delivery came late, cold food"]
    # NOW is Sunday 29/11 14:00 in Jerusalem: 0 days ago is that week, 1 day ago (Saturday)
    # the week before, 8 and 9 days ago the one before that.
    assert theme.weeks("Asia/Jerusalem") == {
        date(2026, 11, 15): 2,
        date(2026, 11, 22): 1,
        date(2026, 11, 29): 1,
    }


def test_quoted_cuts_long_remarks_and_keeps_hebrew_and_emoji() -> None:
    assert quoted("  שלום\n עולם 😡 ") == "שלום עולם 😡"
    long = quoted("א" * 500)
    assert len(long) == 280 and long.endswith("…")


COMPLAINTS = (
    "Where is my delivery?? I want a real person NOW!!!",
    "המשלוח הגיע באיחור",
    "late delivery, cold food",
    "why is my order late again??",
    "why hasn't anyone answered me?",
    "למה אף אחד לא עונה לי?",
    "the app keeps crashing, can you fix it?",
    "השירות שלכם גרוע",
    "I want to cancel my subscription",
    "זו כבר פעם שלישית שאני כותבת!!! שום דבר לא עובד 😡😡",
)
QUESTIONS = (
    "עוד שאלה: אפשר לשנות כתובת משלוח?",
    "One more question: can I change the delivery address?",
    "One more thing - can I still change the delivery address?",
    "Do you ship to Eilat?",
    "אתם שולחים לאילת?",
    "can I order again next week?",
    "אפשר להזמין שוב בשבוע הבא?",
    "I want to talk to a real person",
    "אני רוצה לדבר עם נציג",
)


@pytest.mark.parametrize("text", COMPLAINTS)
def test_a_message_that_reads_as_a_complaint_is_quoted_as_one(text: str) -> None:
    assert reads_as_complaint(text)


@pytest.mark.parametrize("text", QUESTIONS)
def test_a_neutral_question_or_a_bare_request_is_not_quoted_as_a_complaint(text: str) -> None:
    assert not reads_as_complaint(text)
