"""A conversation's place in the team's queue: what a customer's turn and an agent's move do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.inbox import Standing, Status, StatusError, Turn, after_turn, set_by_agent, turn_of
from flows.outcome import AnsweredFromKnowledge, Outcome, SurveyAnswered

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
OUTSIDE = Standing()


@pytest.mark.parametrize(
    "before",
    [
        OUTSIDE,
        Standing(Status.PENDING),
        Standing(Status.SNOOZED, snoozed_until=NOW),
        Standing(Status.RESOLVED),
        Standing(Status.RESOLVED, auto_answered=True),
    ],
)
def test_a_message_that_needs_a_person_opens_the_conversation_from_anywhere(
    before: Standing,
) -> None:
    assert after_turn(before, Turn.NEEDS_PERSON) == Standing(Status.OPEN)


def test_a_survey_answer_the_flow_handled_leaves_the_conversation_out_of_the_queue() -> None:
    assert after_turn(OUTSIDE, Turn.COMPLETE) == OUTSIDE
    assert after_turn(Standing(Status.RESOLVED), Turn.COMPLETE) == Standing(Status.RESOLVED)


@pytest.mark.parametrize("waiting", [Status.PENDING, Status.SNOOZED])
def test_any_word_from_the_customer_reopens_what_waited_on_them(waiting: Status) -> None:
    assert after_turn(Standing(waiting), Turn.COMPLETE) == Standing(Status.OPEN)


def test_an_automatic_answer_resolves_and_coming_back_after_it_reopens() -> None:
    answered = after_turn(OUTSIDE, Turn.ANSWERED)

    assert answered == Standing(Status.RESOLVED, auto_answered=True)
    assert after_turn(answered, Turn.ANSWERED) == Standing(Status.OPEN)
    assert after_turn(answered, Turn.NEEDS_PERSON) == Standing(Status.OPEN)


def test_an_automatic_answer_does_not_close_what_a_person_still_owes() -> None:
    assert after_turn(Standing(Status.OPEN), Turn.ANSWERED) == Standing(Status.OPEN)


def test_a_turn_with_the_knowledge_base_s_effect_counts_as_answered() -> None:
    answered = Outcome(effects=(AnsweredFromKnowledge((3, 7)),))
    survey = Outcome(effects=(SurveyAnswered("nps", "score", 9, "nps"),))

    assert turn_of(answered) is Turn.ANSWERED
    assert turn_of(survey) is Turn.COMPLETE
    assert turn_of(survey, otherwise=Turn.NEEDS_PERSON) is Turn.NEEDS_PERSON


def test_an_agent_snoozes_only_until_a_time_to_come() -> None:
    until = NOW + timedelta(hours=2)

    assert set_by_agent("snoozed", now=NOW, until=until) == Standing(
        Status.SNOOZED, snoozed_until=until
    )
    with pytest.raises(StatusError, match="snoozed_until"):
        set_by_agent("snoozed", now=NOW, until=NOW)
    with pytest.raises(StatusError, match="status"):
        set_by_agent("closed", now=NOW)
    assert set_by_agent("resolved", now=NOW, until=until) == Standing(Status.RESOLVED)
