"""The handoff state machine, assignment, the SLA in business hours and what the customer hears."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from flows.contact import ContactRules, RulesError, parse_rules
from flows.handoff import (
    OPEN,
    Action,
    AgentLoad,
    LowScore,
    State,
    TransitionError,
    expected_answer,
    is_low_score,
    move,
    parse_handoff_rules,
    pick_agent,
    sla_due,
)

ISRAEL = ZoneInfo("Asia/Jerusalem")
RULES = ContactRules()
TEN = timedelta(minutes=10)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=ISRAEL)  # type: ignore[misc]


def test_a_handoff_walks_requested_waiting_assigned_active_resolved() -> None:
    state = State.REQUESTED
    for action, expected in [
        (Action.QUEUE, State.WAITING),
        (Action.ASSIGN, State.ASSIGNED),
        (Action.REPLY, State.ACTIVE),
        (Action.REPLY, State.ACTIVE),
        (Action.RESOLVE, State.RESOLVED),
    ]:
        state = move(state, action)
        assert state is expected


def test_a_transfer_gives_an_active_handoff_to_another_agent_as_assigned() -> None:
    assert move(State.ACTIVE, Action.TRANSFER) is State.ASSIGNED


def test_an_agent_going_offline_puts_their_handoff_back_in_the_queue() -> None:
    assert move(State.ACTIVE, Action.UNASSIGN) is State.WAITING
    assert move(State.ASSIGNED, Action.UNASSIGN) is State.WAITING


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (State.RESOLVED, Action.RESOLVE),
        (State.RESOLVED, Action.REPLY),
        (State.WAITING, Action.REPLY),
        (State.WAITING, Action.UNASSIGN),
        (State.ASSIGNED, Action.QUEUE),
    ],
)
def test_moves_the_state_does_not_allow_are_refused(state: State, action: Action) -> None:
    with pytest.raises(TransitionError, match=state.value):
        move(state, action)


def test_every_open_state_can_be_resolved_and_resolved_is_not_open() -> None:
    assert all(move(s, Action.RESOLVE) is State.RESOLVED for s in OPEN)
    assert State.RESOLVED not in OPEN


def test_round_robin_goes_to_the_next_online_agent_under_capacity() -> None:
    agents = [
        AgentLoad(id=1, online=True, capacity=2, holding=0),
        AgentLoad(id=2, online=False, capacity=2, holding=0),
        AgentLoad(id=3, online=True, capacity=2, holding=2),
        AgentLoad(id=4, online=True, capacity=2, holding=1),
    ]
    assert pick_agent(agents, after=None) == 1
    assert pick_agent(agents, after=1) == 4
    assert pick_agent(agents, after=4) == 1


def test_nobody_is_picked_when_every_agent_is_offline_or_full() -> None:
    agents = [
        AgentLoad(id=1, online=False, capacity=5, holding=0),
        AgentLoad(id=2, online=True, capacity=1, holding=1),
    ]
    assert pick_agent(agents, after=None) is None
    assert pick_agent([], after=3) is None


def test_the_sla_inside_business_hours_is_ten_minutes_later() -> None:
    # Sunday 10:00 in Israel.
    due = sla_due(local(2026, 12, 6, 10, 0), sla=TEN, rules=RULES, timezone="Asia/Jerusalem")
    assert due == local(2026, 12, 6, 10, 10).astimezone(UTC)


def test_the_sla_of_a_request_on_shabbat_starts_when_the_week_opens() -> None:
    # Saturday 15:00: closed; Sunday opens 09:00.
    due = sla_due(local(2026, 12, 5, 15, 0), sla=TEN, rules=RULES, timezone="Asia/Jerusalem")
    assert due == local(2026, 12, 6, 9, 10).astimezone(UTC)


def test_the_sla_carries_over_the_close_of_the_day() -> None:
    # Thursday 19:55: five minutes today, five more at Friday's opening.
    due = sla_due(local(2026, 12, 3, 19, 55), sla=TEN, rules=RULES, timezone="Asia/Jerusalem")
    assert due == local(2026, 12, 4, 9, 5).astimezone(UTC)


def test_rules_closed_for_weeks_still_give_a_due_time_and_an_acknowledgement() -> None:
    """A handoff is never lost to rules that leave no business time (all of it closed)."""
    closed = ContactRules(
        closed_dates=frozenset(date(2027, 1, 1) + timedelta(d) for d in range(90))
    )
    asked = local(2027, 1, 3, 10, 0)

    due = sla_due(asked, sla=TEN, rules=closed, timezone="Asia/Jerusalem")
    text = expected_answer(
        asked, language="he", business="Café", sla=TEN, rules=closed, timezone="Asia/Jerusalem"
    )

    assert due == (asked + TEN).astimezone(UTC)
    assert text.startswith("קיבלנו.") and "10 דקות" in text


def test_the_acknowledgement_in_business_hours_names_the_usual_wait() -> None:
    text = expected_answer(
        local(2026, 12, 6, 10, 0),
        language="en",
        business="Café",
        sla=TEN,
        rules=RULES,
        timezone="Asia/Jerusalem",
    )
    assert text == (
        "Got it. A person from the Café team will answer you here soon, usually within 10 minutes."
    )


def test_the_acknowledgement_on_friday_evening_says_the_team_is_back_on_sunday() -> None:
    text = expected_answer(
        local(2026, 12, 4, 18, 0),
        language="he",
        business="קפה",
        sla=TEN,
        rules=RULES,
        timezone="Asia/Jerusalem",
    )
    assert "ביום ראשון ב־09:00" in text and "קפה" in text


def test_the_acknowledgement_at_night_says_tomorrow_in_the_customers_own_time() -> None:
    text = expected_answer(
        local(2026, 12, 6, 22, 0),
        language="en",
        business="Café",
        sla=TEN,
        rules=parse_rules({"hours": {"sat": "09:00-20:00"}}),
        timezone="Asia/Jerusalem",
        shown_in="Europe/London",
    )
    # Monday 09:00 in Israel is 07:00 in London.
    assert "back tomorrow at 07:00" in text


def test_nps_detractors_and_csat_of_two_or_less_are_low_scores() -> None:
    assert is_low_score("nps", 6) and not is_low_score("nps", 7)
    assert is_low_score("csat", 2) and not is_low_score("csat", 3)
    assert not is_low_score("checkin", 0)


def test_handoff_rules_read_from_settings_with_every_problem_named() -> None:
    rules = parse_handoff_rules({"sla": "15m", "low_score": "offer", "follow_up_after": None})
    assert rules.sla == timedelta(minutes=15)
    assert rules.low_score is LowScore.OFFER
    assert rules.follow_up_after is None
    with pytest.raises(RulesError) as error:
        parse_handoff_rules({"sla": "soon", "low_score": "maybe", "capacity": 0, "x": 1})
    assert len(error.value.problems) == 4
