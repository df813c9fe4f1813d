"""The console's flows page: the built-in flows with their questions, read-only, and the
business's own custom flows made, changed and deleted from a form builder.

The builder's form becomes the same definition a client sends to `PUT /api/v1/{b}/flows/{name}`
and is saved through the same service, so every problem comes back named by its path
(`questions[2].choices`) and is shown next to its field, with everything typed kept. Branching
rules are written through the API or YAML; the form keeps those it was given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.web.console.admins import Admin
from app.web.pages import SignedIn, context, form_fields, render, words
from bot.checkins.catalog import BUILT_IN, CUSTOM
from bot.checkins.configuration import DefinitionError, delete_flow, save_flow
from bot.domain import KesherError
from flows.custom import INTRO, MAX_QUESTIONS, THANKS_KEY, TYPES, FlowDefinitionError, parse_flow
from flows.engine import Say
from flows.outline import outline
from flows.schedules import FLOWS

router = APIRouter(prefix="/console", include_in_schema=False)

ROW = ("key", "type", "he", "en", "choices", "min", "max", "branch")
QUESTION_FIELDS = frozenset({"key", "type", "text", "choices", "branch"})
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_PATH = re.compile(r"^questions\[(\d+)\](?:\.(\w+))?")
_WHOLE = re.compile(r"^-?\d{1,3}$")
_ROW = re.compile(r"^q(\d+)")


def empty_row() -> dict[str, str]:
    return {field: "" for field in ROW} | {"type": "choice"}


@router.get("/flows", response_class=HTMLResponse)
async def flows(request: Request, signed: Admin, saved: str = "", deleted: str = "") -> Response:
    """The built-in flows' questions in the admin's language, and the custom flows."""
    return await _flows_page(
        request,
        signed,
        saved=saved if _NAME.match(saved) else "",
        deleted=deleted if _NAME.match(deleted) else "",
    )


async def _flows_page(request: Request, signed: SignedIn, **more: Any) -> HTMLResponse:
    business, language = signed.business, signed.agent.language
    fields = {"business": business.name}
    async with signed.services.uow() as uow:
        names = sorted(await uow.flows.names(business.id))
        definitions = {n: await uow.flows.get(business.id, n) for n in names}
        schedules = await uow.schedules.list(business.id)
    built_in = [(name, outline(BUILT_IN[name], language, fields=fields)) for name in FLOWS]
    custom = []
    for name in names:
        shown: dict[str, Any] = {
            "name": name,
            "used_by": [s.name for s in schedules if s.flow == f"{CUSTOM}{name}"],
        }
        try:
            flow = parse_flow(definitions[name])
        except FlowDefinitionError as broken:  # saved before a rule it now breaks
            shown["problems"] = broken.problems
        else:
            says = {
                s.key: s.text.render(language, **fields) for s in flow.steps if isinstance(s, Say)
            }
            shown |= {
                "questions": outline(flow, language, fields=fields),
                "intro": says.get(INTRO, ""),
                "thanks": says.get(THANKS_KEY, ""),
            }
        custom.append(shown)
    return render(
        request, "console/flows.html", context(signed, built_in=built_in, custom=custom, **more)
    )


@router.get("/flows/new", response_class=HTMLResponse)
async def new_flow(request: Request, signed: Admin) -> HTMLResponse:
    typed = {"name": "", **_texts(None, "intro"), **_texts(None, "thanks")}
    return _builder(request, signed, typed=typed, rows=[empty_row()])


@router.get("/flows/{name}/edit", response_class=HTMLResponse)
async def edit_flow(request: Request, signed: Admin, name: str) -> Response:
    async with signed.services.uow() as uow:
        definition = await uow.flows.get(signed.business.id, name)
    if definition is None:
        return await _flows_page(request, signed, error=f"no flow named {name!r}")
    typed, rows = typed_flow(definition)
    return _builder(request, signed, typed=typed | {"name": name}, rows=rows, editing=name)


def _builder(
    request: Request,
    signed: SignedIn,
    *,
    typed: dict[str, str],
    rows: list[dict[str, str]],
    editing: str = "",
    problems: list[str] | None = None,
    focus: int | None = None,
    part: bool = False,
) -> HTMLResponse:
    shown = placed(problems or [])
    return render(
        request,
        "console/flow_form.html" if part else "console/flow.html",
        context(
            signed,
            typed=typed,
            rows=rows,
            editing=editing,
            problems=shown,
            bad_rows={int(m.group(1)) for slot in shown if (m := _ROW.match(slot))},
            count=len(problems or []),
            types=TYPES,
            most=MAX_QUESTIONS,
            focus=focus,
        ),
    )


def typed_flow(definition: Mapping[str, Any]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """A saved definition as the builder shows it: each text's Hebrew and English, each
    question a row, choices one a line as `id | עברית | English`."""
    typed = {
        "name": str(definition.get("name", "")),
        **_texts(definition.get("intro"), "intro"),
        **_texts(definition.get("thanks"), "thanks"),
    }
    rows = []
    for question in definition.get("questions") or []:
        text = _texts(question.get("text"), "text")
        branch = question.get("branch")
        rows.append(
            {
                "key": str(question.get("key", "")),
                "type": str(question.get("type", "")),
                "he": text["text_he"],
                "en": text["text_en"],
                "choices": "\n".join(
                    " | ".join([str(c.get("id", "")), c.get("he", ""), c.get("en", "")])
                    for c in question.get("choices") or []
                ),
                "min": str(question.get("min", "")),
                "max": str(question.get("max", "")),
                "branch": json.dumps(branch, ensure_ascii=False) if branch else "",
            }
        )
    return typed, rows or [empty_row()]


def _texts(raw: object, prefix: str) -> dict[str, str]:
    if isinstance(raw, str):
        return {f"{prefix}_he": raw, f"{prefix}_en": raw}
    found = raw if isinstance(raw, Mapping) else {}
    return {f"{prefix}_{lang}": str(found.get(lang) or "") for lang in ("he", "en")}


def typed_form(form: Mapping[str, str]) -> tuple[dict[str, str], list[dict[str, str]]]:
    """What the builder's form holds, exactly as typed (line ends made plain)."""

    def field(name: str) -> str:
        return form.get(name, "").replace("\r\n", "\n")

    typed = {n: field(n) for n in ("name", "intro_he", "intro_en", "thanks_he", "thanks_en")}
    rows = [
        {f: field(f"q{i}_{f}") for f in ROW} for i in range(MAX_QUESTIONS) if f"q{i}_type" in form
    ]
    return typed, rows


def flow_from(typed: Mapping[str, str], rows: list[dict[str, str]]) -> dict[str, Any]:
    """The definition the builder describes, in the API/YAML shape. Empty fields are left
    out (a key defaults to q1, q2, …; a scale to 1–5), so the checks name what is missing."""
    definition: dict[str, Any] = {"name": typed["name"].strip()}
    for part in ("intro", "thanks"):
        if text := _bilingual(typed[f"{part}_he"], typed[f"{part}_en"]):
            definition[part] = text
    definition["questions"] = [_question(row) for row in rows]
    return definition


def _bilingual(he: str, en: str) -> dict[str, str]:
    return {lang: text.strip() for lang, text in (("he", he), ("en", en)) if text.strip()}


def _question(row: Mapping[str, str]) -> dict[str, Any]:
    question: dict[str, Any] = {}
    if key := row["key"].strip():
        question["key"] = key
    question |= {"type": row["type"], "text": _bilingual(row["he"], row["en"])}
    if row["type"] == "choice" and (choices := choices_from(row["choices"])):
        question["choices"] = choices
    if row["type"] == "scale":
        for bound in ("min", "max"):
            if value := row[bound].strip():
                question[bound] = int(value) if _WHOLE.match(value) else value
    if branch := row["branch"].strip():
        try:
            question["branch"] = json.loads(branch)
        except ValueError:
            question["branch"] = branch
    return question


def choices_from(text: str) -> list[dict[str, str]]:
    """One choice a line: `id | עברית | English`; `עברית | English` or a single label for
    both languages is numbered 1, 2, 3 … by its place."""
    found = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for number, line in enumerate(lines, start=1):
        parts = [p.strip() for p in line.split("|", 2)]
        if len(parts) == 3:
            option, he, en = parts
        elif len(parts) == 2:
            option, (he, en) = str(number), parts
        else:
            option, he, en = str(number), parts[0], parts[0]
        found.append({"id": option} | _bilingual(he, en))
    return found


def placed(problems: list[str]) -> dict[str, list[str]]:
    """Each problem under the field its path names: `name`, `intro`, `thanks`, `questions`,
    `q2.choices`, `q2.bounds` (a scale's min and max), `q2` (the question as a whole)."""
    found: dict[str, list[str]] = {}
    for problem in problems:
        if match := _PATH.match(problem):
            index, field = match.groups()
            if field in QUESTION_FIELDS:
                slot = f"q{index}.{field}"
            elif field is None and "min and max" in problem:
                slot = f"q{index}.bounds"
            else:
                slot = f"q{index}"
        else:
            slot = re.split(r"[.:\[]", problem, maxsplit=1)[0]
            slot = slot if slot in ("name", "intro", "thanks", "questions") else "flow"
        found.setdefault(slot, []).append(problem)
    return found


@router.post("/flows/form", response_class=HTMLResponse)
async def rows(request: Request, signed: Admin) -> HTMLResponse:
    """The builder again with a question added (`add`) or taken out (`remove`: its place);
    nothing is saved. htmx swaps it for the form on the page."""
    form = await form_fields(request)
    typed, found = typed_form(form)
    focus = None
    if "add" in form and len(found) < MAX_QUESTIONS:
        found.append(empty_row())
        focus = len(found) - 1
    remove = form.get("remove", "")
    if remove.isdecimal() and int(remove) < len(found) and len(found) > 1:
        del found[int(remove)]
    editing = form.get("editing", "")
    return _builder(
        request,
        signed,
        typed=typed | ({"name": editing} if editing else {}),
        rows=found,
        editing=editing if _NAME.match(editing) else "",
        focus=focus,
        part=True,
    )


@router.post("/flows/new", response_model=None)
async def create(request: Request, signed: Admin) -> Response:
    return await _save(request, signed, editing="")


@router.post("/flows/{name}/edit", response_model=None)
async def update(request: Request, signed: Admin, name: str) -> Response:
    return await _save(request, signed, editing=name)


async def _save(request: Request, signed: SignedIn, *, editing: str) -> Response:
    """Save through the same steps as `PUT /flows/{name}` (the name in the path wins when
    editing); a new flow may not take the name of one that exists."""
    typed, found = typed_form(await form_fields(request))
    if editing:
        typed["name"] = editing
    definition = flow_from(typed, found)
    name = definition["name"]
    services = signed.services
    try:
        async with services.uow() as uow:
            if not editing and name and await uow.flows.get(signed.business.id, name) is not None:
                t = words(signed.agent.language)
                raise DefinitionError([f"name: {t['flow_exists'].format(name=name)}"])
            await save_flow(uow, signed.business, definition, now=services.clock.now())
            await uow.commit()
    except DefinitionError as refused:
        return _builder(
            request,
            signed,
            typed=typed,
            rows=found or [empty_row()],
            editing=editing,
            problems=refused.problems,
        )
    return RedirectResponse(f"/console/flows?saved={name}#flow-{name}", status_code=303)


@router.post("/flows/{name}/delete", response_model=None)
async def delete(request: Request, signed: Admin, name: str) -> Response:
    """Delete once the box is ticked; refused while a schedule or a planned touch uses it."""
    form = await form_fields(request)
    try:
        if form.get("confirm") != "on":
            raise KesherError(
                words(signed.agent.language)["delete_flow_confirm"], code="not_confirmed"
            )
        async with signed.services.uow() as uow:
            await delete_flow(uow, signed.business, name)
            await uow.commit()
    except KesherError as refused:
        return await _flows_page(request, signed, error=refused.message)
    return RedirectResponse(f"/console/flows?deleted={name}", status_code=303)
