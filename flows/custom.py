"""Custom flows: a business's own questions, from plain data (the API's JSON or a YAML file).

`parse_flow` checks a definition and names the exact path of every problem, or returns a
`Flow` named `custom:<name>`. The format, in YAML:

    name: after-visit
    intro: {he: "שלוש שאלות קצרות מ־{business}", en: "Three quick questions from {business}"}
    questions:
      - key: liked                      # optional, q1, q2, ... by default
        type: choice                    # choice | scale | yes_no | text
        text: {he: "מה אהבתם?", en: "What did you like?"}
        choices: [{id: food, he: "אוכל", en: "Food"}, {id: staff, he: "צוות", en: "Staff"}]
      - key: back
        type: yes_no
        text: {he: "תחזרו?", en: "Will you come back?"}
        branch: [{if: {back: "no"}, goto: why}, {if: {liked: food}, goto: end}]
      - {key: score, type: scale, min: 1, max: 5, text: "1-5?"}
      - {key: why, type: text, text: {he: "למה?", en: "Why?"}}
    thanks: {he: "תודה!", en: "Thanks!"}   # optional

A text is one string for both languages or `{he, en}` (one may be missing); the only field
it may use is `{business}`. A branch is checked after its question is answered: the first
rule whose every condition holds sends the customer forward to `goto` (a later question, or
`end` for the thanks); otherwise the next question follows. A condition is a value, a list
of values (any of them) or, for a scale, `{min, max}`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flows.answers import Choices, Parser, Value, free_text, scale, scale_choices, yes_no
from flows.engine import END, PICK_ONE, Answers, Ask, Branch, Flow, Say, Step
from flows.text import Text

TYPES = ("choice", "scale", "yes_no", "text")
FIELDS = frozenset({"business"})
MAX_QUESTIONS = 20
MAX_CHOICES = 10
MAX_TEXT = 1000
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
_TOP = frozenset({"name", "intro", "questions", "thanks"})
_QUESTION = frozenset({"key", "type", "text", "choices", "min", "max", "branch"})
INTRO = "_intro"
THANKS_KEY = "_thanks"

THANKS = Text(he="תודה רבה על התשובות!", en="Thank you for your answers!")
YES = Text(he="כן", en="Yes")
NO = Text(he="לא", en="No")
YES_OR_NO = Text(he="אפשר לענות כן או לא.", en="Please answer yes or no.")
IN_WORDS = Text(he="אפשר לכתוב לנו במילים?", en="Could you tell us in a few words?")


class FlowDefinitionError(ValueError):
    """Every problem in one definition, each as 'path: what is wrong'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Condition:
    """An answer that is one of `values`, or a number from `low` to `high`."""

    question: str
    values: frozenset[Value] = frozenset()
    low: int | None = None
    high: int | None = None

    def holds(self, answers: Answers) -> bool:
        value = answers.get(self.question)
        if value is None:
            return False
        if self.low is None and self.high is None:
            return value in self.values
        if not isinstance(value, int):
            return False
        return (self.low is None or self.low <= value) and (self.high is None or value <= self.high)


@dataclass(frozen=True, slots=True)
class Rule:
    conditions: tuple[Condition, ...]
    goto: str

    def holds(self, answers: Answers) -> bool:
        return all(condition.holds(answers) for condition in self.conditions)


@dataclass(frozen=True, slots=True)
class _Question:
    key: str
    type: str
    text: Text
    choices: Choices = ()
    low: int = 1
    high: int = 5

    def domain(self) -> tuple[Value, ...]:
        if self.type == "choice":
            return tuple(option for option, _ in self.choices)
        if self.type == "yes_no":
            return ("yes", "no")
        if self.type == "scale":
            return tuple(range(self.low, self.high + 1))
        return ()


def _text(raw: object, path: str, problems: list[str], *, required: bool = True) -> Text | None:
    if raw is None and not required:
        return None
    if isinstance(raw, str):
        raw = {"he": raw, "en": raw}
    if not isinstance(raw, Mapping):
        problems.append(f"{path}: must be a text, or a mapping with he and en")
        return None
    unknown = sorted(str(k) for k in set(raw) - {"he", "en"})
    if unknown:
        problems.append(f"{path}: unknown languages {', '.join(unknown)}; use he and en")
    texts: dict[str, str] = {}
    for language in ("he", "en"):
        value = raw.get(language)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{path}.{language}: must be non-empty text")
        elif len(value) > MAX_TEXT:
            problems.append(f"{path}.{language}: at most {MAX_TEXT} characters")
        elif problem := _fields_problem(value):
            problems.append(f"{path}.{language}: {problem}")
        else:
            texts[language] = value.strip()
    if not texts:
        if not any(problem.startswith(f"{path}.") for problem in problems):
            problems.append(f"{path}: needs he or en")
        return None
    return Text(he=texts.get("he", texts.get("en", "")), en=texts.get("en", texts.get("he", "")))


def _fields_problem(value: str) -> str | None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError:
        return "braces must enclose a field such as {business}; write {{ and }} for braces"
    unknown = sorted(names - FIELDS)
    if unknown:
        return f"unknown field {{{unknown[0]}}}; only {{business}} is filled in"
    return None


def _choices(raw: object, path: str, problems: list[str]) -> Choices:
    if not isinstance(raw, list) or not 2 <= len(raw) <= MAX_CHOICES:
        problems.append(f"{path}: must be a list of 2 to {MAX_CHOICES} choices")
        return ()
    found: list[tuple[str, Text]] = []
    for index, item in enumerate(raw):
        where = f"{path}[{index}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: must be a mapping with id, he and en")
            continue
        option = item.get("id")
        if isinstance(option, int) and not isinstance(option, bool):
            option = str(option)
        if not isinstance(option, str) or (not _KEY.match(option) and not option.isdigit()):
            problems.append(f"{where}.id: must be a short word of letters, digits, '-' or '_'")
            continue
        if any(option == seen for seen, _ in found):
            problems.append(f"{where}.id: {option} is used twice")
            continue
        label = _text({k: v for k, v in item.items() if k != "id"}, where, problems)
        if label is not None:
            found.append((option, label))
    return tuple(found)


def _bounds(raw: Mapping[str, object], path: str, problems: list[str]) -> tuple[int, int]:
    low, high = raw.get("min", 1), raw.get("max", 5)
    if (
        not isinstance(low, int)
        or not isinstance(high, int)
        or isinstance(low, bool)
        or isinstance(high, bool)
        or not 0 <= low < high <= 10
    ):
        problems.append(f"{path}: min and max must be whole numbers with 0 ≤ min < max ≤ 10")
        return 1, 5
    return low, high


def _question(raw: object, index: int, problems: list[str]) -> _Question | None:
    path = f"questions[{index}]"
    if not isinstance(raw, Mapping):
        problems.append(f"{path}: must be a mapping with type and text")
        return None
    unknown = sorted(str(k) for k in set(raw) - _QUESTION)
    if unknown:
        problems.append(f"{path}: unknown keys {', '.join(unknown)}")
    key = raw.get("key", f"q{index + 1}")
    if not isinstance(key, str) or not _KEY.match(key) or key == END:
        problems.append(
            f"{path}.key: must start with a letter, then letters, digits, '-' or '_' (not {END})"
        )
        key = f"q{index + 1}"
    kind = raw.get("type")
    if kind not in TYPES:
        problems.append(f"{path}.type: must be one of {', '.join(TYPES)}")
        kind = "text"
    text = _text(raw.get("text"), f"{path}.text", problems)
    choices: Choices = ()
    if kind == "choice":
        choices = _choices(raw.get("choices"), f"{path}.choices", problems)
    elif "choices" in raw:
        problems.append(f"{path}.choices: only a choice question has choices")
    low, high = 1, 5
    if kind == "scale":
        low, high = _bounds(raw, path, problems)
    elif "min" in raw or "max" in raw:
        problems.append(f"{path}: only a scale question has min and max")
    return _Question(str(key), str(kind), text or Text(he="", en=""), choices, low, high)


def _value(raw: object, question: _Question) -> Value | None:
    if question.type == "yes_no" and isinstance(raw, bool):
        return "yes" if raw else "no"
    if question.type == "choice" and isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None
    return raw if raw in question.domain() else None


def _condition(raw: object, question: _Question, path: str, problems: list[str]) -> Condition:
    if question.type == "text":
        problems.append(f"{path}: cannot branch on a free-text answer")
        return Condition(question.key)
    if question.type == "scale" and isinstance(raw, Mapping):
        low, high = raw.get("min"), raw.get("max")
        if (
            set(raw) - {"min", "max"}
            or (low is None and high is None)
            or not all(
                b is None or (isinstance(b, int) and not isinstance(b, bool)) for b in (low, high)
            )
        ):
            problems.append(f"{path}: a range is {{min: N, max: N}} with whole numbers")
            return Condition(question.key)
        return Condition(
            question.key,
            low=low if isinstance(low, int) else None,
            high=high if isinstance(high, int) else None,
        )
    wanted = raw if isinstance(raw, list) else [raw]
    values: set[Value] = set()
    for item in wanted:
        value = _value(item, question)
        if value is None:
            allowed = ", ".join(str(v) for v in question.domain())
            problems.append(f"{path}: {item!r} is not an answer to {question.key} ({allowed})")
        else:
            values.add(value)
    return Condition(question.key, values=frozenset(values))


def _rules(
    raw: object, index: int, questions: Sequence[_Question], problems: list[str]
) -> tuple[Rule, ...]:
    path = f"questions[{index}].branch"
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(f"{path}: must be a list of {{if: {{question: answer}}, goto: question}}")
        return ()
    earlier = {q.key: q for q in questions[: index + 1]}
    later = [q.key for q in questions[index + 1 :]]
    rules: list[Rule] = []
    for number, item in enumerate(raw):
        where = f"{path}[{number}]"
        if not isinstance(item, Mapping) or set(item) != {"if", "goto"}:
            problems.append(f"{where}: must be {{if: {{question: answer}}, goto: question}}")
            continue
        goto = item["goto"]
        if goto != END and goto not in later:
            known = any(goto == q.key for q in questions)
            why = "must be a later question or end (no going back)" if known else "unknown question"
            problems.append(f"{where}.goto: {goto}: {why}")
        conditions = item["if"]
        if not isinstance(conditions, Mapping) or not conditions:
            problems.append(f"{where}.if: must map question keys to answers")
            continue
        checked: list[Condition] = []
        for key, wanted in conditions.items():
            if key not in earlier:
                problems.append(f"{where}.if.{key}: must be this question or an earlier one")
                continue
            checked.append(_condition(wanted, earlier[key], f"{where}.if.{key}", problems))
        rules.append(Rule(tuple(checked), str(goto)))
    return tuple(rules)


def _falls_through(question: _Question, rules: Sequence[Rule]) -> bool:
    """Whether some answer to `question` matches none of its own rules (so the next follows)."""
    domain = question.domain()
    if not domain:
        return True
    covered: set[Value] = set()
    for rule in rules:
        if all(condition.question == question.key for condition in rule.conditions):
            covered |= {v for v in domain if rule.holds({question.key: v})}
    return len(covered) < len(domain)


def _unreachable(questions: Sequence[_Question], rules: Sequence[tuple[Rule, ...]]) -> list[int]:
    keys = [q.key for q in questions]
    reached = {0}
    for index in range(len(questions)):
        if index not in reached:
            continue
        targets = {keys.index(rule.goto) for rule in rules[index] if rule.goto in keys}
        if _falls_through(questions[index], rules[index]) and index + 1 < len(questions):
            targets.add(index + 1)
        reached |= targets
    return [index for index in range(len(questions)) if index not in reached]


def _branch(rules: tuple[Rule, ...]) -> Branch | None:
    if not rules:
        return None

    def branch(answers: Answers) -> str | None:
        for rule in rules:
            if rule.holds(answers):
                return THANKS_KEY if rule.goto == END else rule.goto
        return None

    return branch


def _ask(question: _Question, rules: tuple[Rule, ...]) -> Ask:
    parse: Parser | None
    retry = PICK_ONE
    choices = question.choices
    if question.type == "scale":
        parse = scale(question.low, question.high)
        choices = scale_choices(question.low, question.high)
        retry = Text(
            he=f"אפשר לענות במספר מ־{question.low} עד {question.high}.",
            en=f"Please answer with a number from {question.low} to {question.high}.",
        )
    elif question.type == "yes_no":
        parse, retry, choices = yes_no, YES_OR_NO, (("yes", YES), ("no", NO))
    elif question.type == "text":
        parse, retry = free_text, IN_WORDS
    else:
        parse = None
    return Ask(
        question.key,
        question.text,
        parse=parse,
        choices=choices,
        branch=_branch(rules),
        retry=retry,
    )


def parse_flow(raw: object) -> Flow:
    """A checked custom flow, or FlowDefinitionError naming every problem by its path."""
    if not isinstance(raw, Mapping):
        raise FlowDefinitionError(["flow: must be a mapping with name and questions"])
    problems: list[str] = []
    unknown = sorted(str(k) for k in set(raw) - _TOP)
    if unknown:
        problems.append(f"flow: unknown keys {', '.join(unknown)}")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append("name: 1 to 63 lowercase letters, digits, '-' or '_'")
    intro = _text(raw.get("intro"), "intro", problems, required=False)
    thanks = _text(raw.get("thanks"), "thanks", problems, required=False) or THANKS
    listed = raw.get("questions")
    if not isinstance(listed, list) or not 1 <= len(listed) <= MAX_QUESTIONS:
        problems.append(f"questions: must be a list of 1 to {MAX_QUESTIONS} questions")
        raise FlowDefinitionError(problems)
    found = [_question(item, index, problems) for index, item in enumerate(listed)]
    questions = [q for q in found if q is not None]
    if len(questions) < len(found):
        raise FlowDefinitionError(problems)
    seen: set[str] = set()
    for index, question in enumerate(questions):
        if question.key in seen:
            problems.append(f"questions[{index}].key: {question.key} is used twice")
        seen.add(question.key)
    rules = [
        _rules(
            item.get("branch") if isinstance(item, Mapping) else None, index, questions, problems
        )
        for index, item in enumerate(listed)
    ]
    if not problems:
        for index in _unreachable(questions, rules):
            problems.append(
                f"questions[{index}]: unreachable; every branch before it skips over it"
            )
    if problems:
        raise FlowDefinitionError(problems)
    steps: list[Step] = [Say(INTRO, intro)] if intro else []
    steps += [_ask(question, rule) for question, rule in zip(questions, rules, strict=True)]
    steps.append(Say(THANKS_KEY, thanks))
    return Flow(f"custom:{name}", steps=tuple(steps))
