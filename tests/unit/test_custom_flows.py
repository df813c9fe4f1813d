"""Custom flows from plain data: checked with path-pointing errors, then run with their branches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from flows.custom import FlowDefinitionError, parse_flow
from flows.engine import Flow, Turn, advance, start
from flows.outcome import FlowFinished, SurveyAnswered

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
FIELDS = {"business": "Café"}


def _definition() -> dict[str, Any]:
    return {
        "name": "after-visit",
        "intro": {
            "he": "שלוש שאלות קצרות מ־{business}",
            "en": "Three quick questions from {business}",
        },
        "questions": [
            {
                "key": "liked",
                "type": "choice",
                "text": {"he": "מה הכי אהבתם?", "en": "What did you like most?"},
                "choices": [
                    {"id": "food", "he": "האוכל", "en": "The food"},
                    {"id": "staff", "he": "הצוות", "en": "The staff"},
                ],
            },
            {
                "key": "back",
                "type": "yes_no",
                "text": {"he": "תחזרו אלינו?", "en": "Will you come back?"},
                "branch": [{"if": {"back": "no"}, "goto": "why"}],
            },
            {
                "key": "score",
                "type": "scale",
                "min": 1,
                "max": 5,
                "text": "1-5?",
                "branch": [{"if": {"score": {"min": 4}}, "goto": "end"}],
            },
            {"key": "why", "type": "text", "text": {"he": "למה?", "en": "Why?"}},
        ],
        "thanks": {"he": "תודה!", "en": "Thanks!"},
    }


def _walk(flow: Flow, answers: list[str], language: str = "en") -> list[Turn]:
    turns = [start(flow, language=language, now=NOW, fields=FIELDS)]
    for answer in answers:
        turns.append(
            advance(flow, turns[-1].run, answer, language=language, now=NOW, fields=FIELDS)
        )
    return turns


def _problems(definition: object) -> list[str]:
    with pytest.raises(FlowDefinitionError) as error:
        parse_flow(definition)
    return error.value.problems


def test_a_custom_flow_is_named_for_schedules_and_opens_with_its_intro_and_first_question() -> None:
    flow = parse_flow(_definition())
    (opening,) = _walk(flow, [], "he")

    assert flow.name == "custom:after-visit"
    assert [r.text for r in opening.replies] == ["שלוש שאלות קצרות מ־Café", "מה הכי אהבתם?"]
    assert opening.replies[1].choices == (("food", "האוכל"), ("staff", "הצוות"))


def test_a_no_branches_forward_to_the_question_it_names() -> None:
    *_, why, done = _walk(parse_flow(_definition()), ["The staff", "no", "too noisy"])

    assert why.replies[-1].text == "Why?"
    assert done.run.answers == {"liked": "staff", "back": "no", "why": "too noisy"}
    assert done.effects[-1] == FlowFinished("custom:after-visit")
    assert [r.text for r in done.replies] == ["Thanks!"]


def test_a_range_branch_to_end_skips_the_rest_but_still_thanks() -> None:
    turns = _walk(parse_flow(_definition()), ["1", "כן", "5"], "he")

    assert turns[-1].effects == (
        SurveyAnswered("custom:after-visit", "score", 5, label="5"),
        FlowFinished("custom:after-visit"),
    )
    assert [r.text for r in turns[-1].replies] == ["תודה!"]


def test_without_a_matching_rule_the_next_question_follows() -> None:
    *_, after_score = _walk(parse_flow(_definition()), ["food", "yes", "2"])

    assert after_score.run.step == "why"


def test_a_text_given_once_serves_both_languages_and_a_yes_no_gets_buttons() -> None:
    flow = parse_flow({"name": "one", "questions": [{"type": "yes_no", "text": "OK?"}]})
    (opening,) = _walk(flow, [], "he")

    assert opening.replies[0].text == "OK?"
    assert opening.replies[0].choices == (("yes", "כן"), ("no", "לא"))
    assert flow.steps[0].key == "q1"


def test_yaml_booleans_are_read_as_yes_and_no_in_branches() -> None:
    definition = {
        "name": "yaml",
        "questions": [
            {"type": "yes_no", "text": "a?", "branch": [{"if": {"q1": False}, "goto": "q3"}]},
            {"type": "text", "text": "b?"},
            {"type": "text", "text": "c?"},
        ],
    }

    assert _walk(parse_flow(definition), ["no"])[-1].run.step == "q3"


def test_every_problem_is_reported_with_its_path() -> None:
    problems = _problems(
        {
            "name": "Bad Name",
            "colour": "blue",
            "questions": [
                {"type": "choice", "text": {"he": "?"}, "choices": [{"id": "a", "en": "A"}]},
                {"type": "scale", "min": 5, "max": 2, "text": {"en": "Rate {product}"}},
                {"type": "multiple", "text": {"fr": "Bonjour"}},
                {"key": "q1", "type": "text", "text": "again", "choices": []},
            ],
        }
    )

    assert problems == [
        "flow: unknown keys colour",
        "name: 1 to 63 lowercase letters, digits, '-' or '_'",
        "questions[0].choices: must be a list of 2 to 10 choices",
        "questions[1].text.en: unknown field {product}; only {business} is filled in",
        "questions[1]: min and max must be whole numbers with 0 ≤ min < max ≤ 10",
        "questions[2].type: must be one of choice, scale, yes_no, text",
        "questions[2].text: unknown languages fr; use he and en",
        "questions[2].text: needs he or en",
        "questions[3].choices: only a choice question has choices",
        "questions[3].key: q1 is used twice",
    ]


def test_branch_mistakes_name_the_rule_and_the_field() -> None:
    definition = _definition()
    definition["questions"][1]["branch"] = [
        {"if": {"back": "maybe"}, "goto": "why"},
        {"if": {"score": 3}, "goto": "why"},
        {"if": {"back": "yes"}, "goto": "liked"},
        {"if": {"back": "yes"}, "goto": "nowhere"},
        {"when": {"back": "yes"}},
    ]
    definition["questions"][3]["branch"] = [{"if": {"why": "because"}, "goto": "end"}]

    assert _problems(definition) == [
        "questions[1].branch[0].if.back: 'maybe' is not an answer to back (yes, no)",
        "questions[1].branch[1].if.score: must be this question or an earlier one",
        "questions[1].branch[2].goto: liked: must be a later question or end (no going back)",
        "questions[1].branch[3].goto: nowhere: unknown question",
        "questions[1].branch[4]: must be {if: {question: answer}, goto: question}",
        "questions[3].branch[0].if.why: cannot branch on a free-text answer",
    ]


def test_a_question_every_branch_skips_is_unreachable() -> None:
    definition = {
        "name": "skips",
        "questions": [
            {
                "type": "yes_no",
                "text": "a?",
                "branch": [
                    {"if": {"q1": "yes"}, "goto": "q3"},
                    {"if": {"q1": "no"}, "goto": "end"},
                ],
            },
            {"type": "text", "text": "never asked"},
            {"type": "text", "text": "c?"},
        ],
    }

    assert _problems(definition) == [
        "questions[1]: unreachable; every branch before it skips over it"
    ]


def test_a_scale_covered_by_ranges_also_leaves_the_next_question_unreachable() -> None:
    definition = {
        "name": "ranges",
        "questions": [
            {
                "type": "scale",
                "min": 1,
                "max": 5,
                "text": "?",
                "branch": [
                    {"if": {"q1": {"max": 2}}, "goto": "q3"},
                    {"if": {"q1": [3, 4, 5]}, "goto": "end"},
                ],
            },
            {"type": "text", "text": "never asked"},
            {"type": "text", "text": "c?"},
        ],
    }

    assert _problems(definition) == [
        "questions[1]: unreachable; every branch before it skips over it"
    ]


@pytest.mark.parametrize(
    ("definition", "problem"),
    [
        ([], "flow: must be a mapping with name and questions"),
        ({"name": "x", "questions": []}, "questions: must be a list of 1 to 20 questions"),
        (
            {"name": "x", "questions": ["what?"]},
            "questions[0]: must be a mapping with type and text",
        ),
        (
            {"name": "x", "questions": [{"type": "text", "text": "Hi {"}]},
            "questions[0].text.he: braces must enclose a field such as {business}; write {{ and }} for braces",
        ),
    ],
)
def test_malformed_definitions_get_one_clear_problem(definition: object, problem: str) -> None:
    assert problem in _problems(definition)
