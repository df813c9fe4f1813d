"""The feedback flow: every message goes to a person's queue, and the reply says only what
will happen (when the team answers, how many wait before, or when the team is back)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from flows.feedback import Availability, receive
from flows.outcome import FeedbackReceived, Said

ISRAEL = ZoneInfo("Asia/Jerusalem")
SUNDAY_TEN = datetime(2026, 12, 6, 10, 0, tzinfo=ISRAEL)
FRIDAY_NOON = datetime(2026, 12, 11, 12, 0, tzinfo=ISRAEL)
NEXT_SUNDAY_NINE = datetime(2026, 12, 13, 9, 0, tzinfo=ISRAEL)


def _open_now(ahead: int, hours: str = "Sun–Thu 09:00–18:00") -> Availability:
    return Availability(hours=hours, opens=SUNDAY_TEN, ahead=ahead, timezone="Asia/Jerusalem")


def test_the_first_message_greets_and_says_when_a_person_answers_and_who_is_ahead() -> None:
    outcome = receive(
        "What time do you open on Friday?",
        language="en",
        business="Café",
        customer_name="Dana",
        first=True,
        availability=_open_now(3),
        now=SUNDAY_TEN,
    )

    assert outcome.replies == (
        Said(
            "Hi Dana! Thanks for writing to Café. A person from the team will answer you here "
            "during opening hours (Sun–Thu 09:00–18:00). We're open now, and 3 conversations "
            "are ahead of yours."
        ),
    )
    assert outcome.effects == (FeedbackReceived("What time do you open on Friday?"),)
    assert "if needed" not in outcome.replies[0].text


@pytest.mark.parametrize(
    ("ahead", "english", "hebrew"),
    [
        (0, "yours is next", "הפנייה שלכם הבאה בתור"),
        (1, "1 conversation is ahead of yours", "יש לפניכם פנייה אחת"),
        (2, "2 conversations are ahead of yours", "יש לפניכם שתי פניות"),
        (11, "11 conversations are ahead of yours", "יש לפניכם 11 פניות"),
    ],
)
def test_the_queue_is_told_with_each_language_s_plural(
    ahead: int, english: str, hebrew: str
) -> None:
    def said(language: str) -> str:
        return (
            receive(
                "hi",
                language=language,
                business="קפה",
                customer_name=None,
                first=True,
                availability=_open_now(ahead),
                now=SUNDAY_TEN,
            )
            .replies[0]
            .text
        )

    assert english in said("en")
    assert hebrew in said("he")


def test_out_of_hours_the_reply_says_when_the_team_is_back_in_hebrew() -> None:
    closed = Availability(
        hours="א׳–ה׳ 09:00-18:00", opens=NEXT_SUNDAY_NINE, ahead=5, timezone="Asia/Jerusalem"
    )
    outcome = receive(
        "אפשר להזמין עוגה?",
        language="he",
        business="קפה",
        customer_name=None,
        first=True,
        availability=closed,
        now=FRIDAY_NOON,
    )

    text = outcome.replies[0].text
    assert text == (
        "שלום! תודה שכתבתם ל־קפה. מישהו מהצוות יענה לכם כאן בשעות הפעילות "
        "(א׳–ה׳ 09:00-18:00). הצוות חוזר ביום ראשון ב־09:00."
    )
    assert "פניות" not in text


@pytest.mark.parametrize(
    ("language", "online"),
    [
        ("he", "מישהו מהצוות מחובר עכשיו, ויש לפניכם 5 פניות."),
        ("en", "Someone from the team is online now, and 5 conversations are ahead of yours."),
    ],
)
def test_out_of_hours_an_agent_online_is_said_instead_of_when_the_team_is_back(
    language: str, online: str
) -> None:
    staffed = Availability(
        hours="Sun–Thu 09:00–18:00",
        opens=NEXT_SUNDAY_NINE,
        ahead=5,
        timezone="Asia/Jerusalem",
        online=True,
    )
    outcome = receive(
        "Can I order a cake?",
        language=language,
        business="Café",
        customer_name=None,
        first=True,
        availability=staffed,
        now=FRIDAY_NOON,
    )

    text = outcome.replies[0].text
    assert text.endswith(online)
    assert "09:00." not in text


def test_coming_back_to_a_resolved_conversation_is_told_again_without_a_greeting() -> None:
    outcome = receive(
        "one more thing",
        language="en",
        business="Café",
        customer_name="Dana",
        first=False,
        availability=_open_now(0),
        now=SUNDAY_TEN,
    )

    assert outcome.replies[0].text.startswith("Thanks for writing again. A person from the team")


def test_a_message_added_to_a_conversation_already_waiting_gets_a_short_thanks() -> None:
    outcome = receive(
        "ועוד דבר", language="he", business="קפה", customer_name=None, first=False, queued=False
    )

    assert [r.text for r in outcome.replies] == ["תודה, רשמנו 🙏"]
    assert outcome.effects == (FeedbackReceived("ועוד דבר"),)


def test_a_message_without_text_is_queued_for_a_person_and_not_logged_as_feedback() -> None:
    outcome = receive(
        None,
        language="en",
        business="Café",
        customer_name=None,
        first=True,
        availability=_open_now(0),
        now=SUNDAY_TEN,
    )

    assert outcome.replies[0].text.startswith("Got it, thanks. I can only read text, but a person")
    assert "during opening hours" in outcome.replies[0].text
    assert outcome.effects == ()
