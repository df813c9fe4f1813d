"""The flow engine: re-asking, giving up politely, one reminder then expiry, runs as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from flows.checkin import CHECKIN
from flows.engine import END, Ask, Flow, Run, Say, Status, Turn, advance, expire, remind, start
from flows.nps import NPS
from flows.outcome import FlowExpired, FlowFinished, Outcome, Said, SurveyAnswered
from flows.text import Text

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
FIELDS = {"business": "Café"}


def _start(flow: Flow, language: str = "en") -> Turn:
    return start(flow, language=language, now=NOW, fields=FIELDS)


def _say(flow: Flow, run: Run, text: str | None, language: str = "en") -> Turn:
    return advance(flow, run, text, language=language, now=NOW, fields=FIELDS)


def test_a_turn_is_an_outcome_the_pipeline_already_knows() -> None:
    turn = _start(NPS)

    assert isinstance(turn, Outcome)
    assert turn.run.step == "score"
    assert turn.run.status is Status.ACTIVE
    assert turn.effects == ()


def test_an_invalid_answer_is_asked_again_twice_and_then_the_run_ends_politely() -> None:
    run = _start(NPS).run

    first = _say(NPS, run, "banana")
    assert first.run.retries == 1
    assert first.replies[0].text.startswith("Sorry, I didn't catch that. Please answer with")
    assert "recommend Café" in first.replies[0].text
    assert first.effects == ()

    second = _say(NPS, first.run, "11")
    assert second.run.retries == 2
    assert second.run.status is Status.ACTIVE

    third = _say(NPS, second.run, "eleven")
    assert third.run.status is Status.FINISHED
    assert third.run.step is None
    assert third.replies == (
        Said("No problem, thanks for your time! You can always write to us here."),
    )
    assert third.effects == (FlowFinished("nps", completed=False),)


def test_giving_up_keeps_the_answers_already_given_in_hebrew_too() -> None:
    run = _start(CHECKIN, "he").run
    run = advance(CHECKIN, run, "יש בעיה", language="he", now=NOW, fields=FIELDS).run
    run = advance(CHECKIN, run, "המשלוח איחר", language="he", now=NOW, fields=FIELDS).run
    for _ in range(2):
        run = advance(CHECKIN, run, "אולי", language="he", now=NOW, fields=FIELDS).run

    ended = advance(CHECKIN, run, "אממ", language="he", now=NOW, fields=FIELDS)

    assert ended.run.answers == {"mood": "problem", "what": "המשלוח איחר"}
    assert ended.replies[0].text.startswith("אין בעיה, תודה על הזמן")
    assert ended.effects == (FlowFinished("checkin", completed=False),)


def test_a_valid_answer_after_a_retry_resets_the_count_for_the_next_question() -> None:
    run = _say(NPS, _start(NPS).run, "dunno").run
    turn = _say(NPS, run, "8")

    assert turn.run.retries == 0
    assert turn.run.step == "why"


def test_a_message_without_text_counts_as_not_understood() -> None:
    turn = _say(NPS, _start(NPS).run, None)

    assert turn.run.retries == 1


def test_a_tapped_button_is_taken_by_its_id() -> None:
    run = _start(CHECKIN).run

    turn = advance(CHECKIN, run, None, "great", language="en", now=NOW, fields=FIELDS)

    assert turn.effects[0] == SurveyAnswered("checkin", "mood", "great", "checkin", "Great 😀")


def test_the_one_reminder_comes_after_the_delay_and_only_once() -> None:
    run = _start(NPS).run
    later = NOW + timedelta(hours=24)

    assert (
        remind(
            NPS,
            run,
            now=later - timedelta(seconds=1),
            after=timedelta(hours=24),
            language="en",
            fields=FIELDS,
        )
        is None
    )
    reminder = remind(NPS, run, now=later, after=timedelta(hours=24), language="en", fields=FIELDS)

    assert reminder is not None
    assert reminder.run.reminded
    assert reminder.run.reminded_at == later
    assert reminder.replies[0].text.startswith("Just a quick reminder 🙂\nHow likely")
    assert (
        remind(
            NPS,
            reminder.run,
            now=later + timedelta(days=3),
            after=timedelta(hours=24),
            language="en",
            fields=FIELDS,
        )
        is None
    )


def test_a_reminder_left_unanswered_expires_the_run_without_a_word() -> None:
    run = _start(NPS).run
    reminded = remind(
        NPS,
        run,
        now=NOW + timedelta(hours=24),
        after=timedelta(hours=24),
        language="he",
        fields=FIELDS,
    )
    assert reminded is not None
    assert reminded.replies[0].text.startswith("רק מזכירים")

    assert expire(NPS, run, now=NOW + timedelta(days=30), after=timedelta(hours=24)) is None
    assert (
        expire(NPS, reminded.run, now=NOW + timedelta(hours=47), after=timedelta(hours=24)) is None
    )
    expired = expire(NPS, reminded.run, now=NOW + timedelta(hours=48), after=timedelta(hours=24))

    assert expired is not None
    assert expired.run.status is Status.EXPIRED
    assert expired.run.step is None
    assert expired.replies == ()
    assert expired.effects == (FlowExpired("nps", "score"),)


def test_an_answer_after_the_reminder_carries_on_and_the_next_question_may_be_reminded_again() -> (
    None
):
    run = _start(NPS).run
    reminded = remind(
        NPS,
        run,
        now=NOW + timedelta(hours=24),
        after=timedelta(hours=24),
        language="en",
        fields=FIELDS,
    )
    assert reminded is not None

    answered = advance(
        NPS, reminded.run, "10", language="en", now=NOW + timedelta(hours=25), fields=FIELDS
    )

    assert answered.run.step == "why"
    assert not answered.run.reminded
    assert answered.run.asked_at == NOW + timedelta(hours=25)


def test_a_finished_run_ignores_further_messages_reminders_and_expiry() -> None:
    run = _say(CHECKIN, _start(CHECKIN).run, "great").run
    assert run.status is Status.FINISHED

    assert _say(CHECKIN, run, "hello?") == Turn(run=run)
    assert (
        remind(
            CHECKIN,
            run,
            now=NOW + timedelta(days=9),
            after=timedelta(hours=1),
            language="en",
            fields=FIELDS,
        )
        is None
    )
    assert expire(CHECKIN, run, now=NOW + timedelta(days=9), after=timedelta(hours=1)) is None


def test_a_run_survives_a_trip_through_json() -> None:
    run = _say(NPS, _start(NPS).run, "7").run
    reminded = remind(
        NPS,
        run,
        now=NOW + timedelta(days=1),
        after=timedelta(hours=1),
        language="en",
        fields=FIELDS,
    )
    assert reminded is not None

    stored = json.loads(json.dumps(reminded.run.as_dict()))

    assert Run.from_dict(stored) == reminded.run


def test_a_stored_run_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError, match="not a flow run"):
        Run.from_dict({"flow": "nps"})
    with pytest.raises(ValueError):
        Run.from_dict({**_start(NPS).run.as_dict(), "started_at": "2026-01-01T10:00:00"})


def test_time_must_come_with_its_timezone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        start(NPS, language="en", now=datetime(2026, 1, 1), fields=FIELDS)


def test_say_steps_run_on_their_way_to_the_next_question() -> None:
    flow = Flow(
        "hello",
        steps=(
            Say("hi", Text(he="שלום מ־{business}", en="Hello from {business}")),
            Ask("name", Text(he="איך קוראים לך?", en="Your name?"), parse=str.strip),
            Say("bye", Text(he="ביי", en="Bye"), goto=END),
            Say("never", Text(he="לא", en="Never")),
        ),
    )

    opened = _start(flow)
    closed = _say(flow, opened.run, "Dana")

    assert [r.text for r in opened.replies] == ["Hello from Café", "Your name?"]
    assert [r.text for r in closed.replies] == ["Bye"]
    assert closed.effects[-1] == FlowFinished("hello")


def test_a_flow_with_a_step_that_goes_nowhere_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown steps nowhere"):
        Flow("broken", steps=(Say("a", Text(he="א", en="a"), goto="nowhere"),))
