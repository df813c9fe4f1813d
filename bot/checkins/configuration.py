"""Saving what a business configures for check-ins: schedules, custom flows, contact rules.

Everything is checked before anything is written, so a bad definition saves nothing; a YAML
document (`kesher schedules apply`) is saved whole in one transaction or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from bot.checkins.catalog import CUSTOM
from bot.checkins.planning import plan_after_event
from bot.domain import Business, Customer, EventKind, InvalidInput, NotFound, ScheduleRecord
from bot.ports import UnitOfWork
from flows.contact import RulesError, parse_rules
from flows.custom import FlowDefinitionError, parse_flow
from flows.schedules import ScheduleError, parse_schedule

DOCUMENT_KEYS = frozenset({"rules", "flows", "schedules"})
RESERVED_EVENTS = frozenset(EventKind)
"""Kinds Kesher writes on the timeline itself; a business event may not pose as one."""


class DefinitionError(InvalidInput):
    """Every problem in what the business sent, each as 'path: what is wrong'."""

    code = "invalid_definition"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _plain(raw: object) -> Any:
    """JSON-safe: YAML reads timestamps and dates as objects; they are kept as ISO text."""

    def iso(value: object) -> str:
        if isinstance(value, datetime | date):
            return value.isoformat()
        raise TypeError(f"{type(value).__name__} is not JSON")

    return json.loads(json.dumps(raw, default=iso))


def _prefixed(prefix: str, problems: list[str]) -> list[str]:
    return [f"{prefix}{p}" if prefix else p for p in problems]


async def save_schedule(
    uow: UnitOfWork, business: Business, raw: object, *, now: datetime
) -> ScheduleRecord:
    custom = await uow.flows.names(business.id)
    try:
        schedule = parse_schedule(_plain(raw), custom_flows=custom)
    except ScheduleError as error:
        raise DefinitionError(error.problems) from error
    return await uow.schedules.save(
        business.id,
        name=schedule.name,
        flow=schedule.flow,
        definition=_plain(raw),
        active=schedule.active,
        priority=schedule.priority,
        now=now,
    )


async def save_flow(uow: UnitOfWork, business: Business, raw: object, *, now: datetime) -> str:
    try:
        flow = parse_flow(_plain(raw))
    except FlowDefinitionError as error:
        raise DefinitionError(error.problems) from error
    await uow.flows.save(business.id, flow.name.removeprefix(CUSTOM), _plain(raw), now=now)
    return flow.name


async def delete_flow(uow: UnitOfWork, business: Business, name: str) -> None:
    """Delete a custom flow that no schedule runs and no customer is still in the middle of."""
    flow = f"{CUSTOM}{name}"
    users = [r.name for r in await uow.schedules.list(business.id) if r.flow == flow]
    if users:
        raise InvalidInput(
            f"flow: {name} is used by the schedules {', '.join(users)};"
            " change or delete them first",
            code="flow_in_use",
        )
    if waiting := await uow.checkins.unfinished(business.id, flow=flow):
        raise InvalidInput(
            f"flow: {name} still has touches planned or waiting for an answer ({waiting});"
            " try again once they are over",
            code="flow_in_use",
        )
    if not await uow.flows.delete(business.id, name):
        raise NotFound(f"no flow named {name!r}", code="unknown_flow")


async def save_rules(uow: UnitOfWork, business: Business, raw: object) -> None:
    try:
        parse_rules(_plain(raw))
    except RulesError as error:
        raise DefinitionError(error.problems) from error
    await uow.businesses.set_contact_rules(business.id, _plain(raw))


def _check_document(document: object) -> tuple[Mapping[str, Any], list[str]]:
    """The whole document checked at once, every problem named by its path."""
    if not isinstance(document, Mapping):
        raise DefinitionError(["document: must be a mapping with rules, flows and schedules"])
    problems = [
        f"document: unknown key {key!r}; use rules, flows, schedules"
        for key in sorted(map(str, set(document) - DOCUMENT_KEYS))
    ]
    if "rules" in document:
        try:
            parse_rules(_plain(document["rules"]))
        except RulesError as error:
            problems += _prefixed("rules.", error.problems)
    names: set[str] = set()
    for index, raw in enumerate(_listed(document, "flows", problems)):
        try:
            name = parse_flow(_plain(raw)).name.removeprefix(CUSTOM)
        except FlowDefinitionError as error:
            problems += _prefixed(f"flows[{index}].", error.problems)
            continue
        _once(name, names, f"flows[{index}]", problems)
    scheduled: set[str] = set()
    for index, raw in enumerate(_listed(document, "schedules", problems)):
        try:
            schedule = parse_schedule(_plain(raw), custom_flows=frozenset(names))
        except ScheduleError as error:
            problems += _prefixed(f"schedules[{index}].", error.problems)
            continue
        _once(schedule.name, scheduled, f"schedules[{index}]", problems)
    return document, problems


def _once(name: str, seen: set[str], path: str, problems: list[str]) -> None:
    """A name given twice in one document: the second would silently replace the first."""
    if name in seen:
        problems.append(f"{path}.name: {name!r} is in the document twice")
    seen.add(name)


def _listed(document: Mapping[str, Any], key: str, problems: list[str]) -> list[object]:
    value = document.get(key, [])
    if not isinstance(value, list):
        problems.append(f"{key}: must be a list")
        return []
    return value


async def apply_document(
    uow: UnitOfWork, business: Business, document: object, *, now: datetime
) -> dict[str, int]:
    """Save a whole YAML document (rules, flows, schedules); nothing at all if any part is bad.

    Schedules and flows not named in the document are left as they are.
    """
    checked, problems = _check_document(document)
    if problems:
        raise DefinitionError(problems)
    if "rules" in checked:
        await save_rules(uow, business, checked["rules"])
    flows = checked.get("flows", [])
    for raw in flows:
        await save_flow(uow, business, raw, now=now)
    schedules = checked.get("schedules", [])
    for raw in schedules:
        await save_schedule(uow, business, raw, now=now)
    return {"flows": len(flows), "schedules": len(schedules)}


async def post_event(
    uow: UnitOfWork,
    business: Business,
    customer: Customer,
    *,
    kind: str,
    occurred_at: datetime,
    now: datetime,
    data: Mapping[str, Any],
) -> int:
    """Put a business event on the customer's timeline and plan the touches it starts."""
    event = await uow.events.add(
        business.id, customer.id, kind=kind, occurred_at=occurred_at, data={**data, "source": "api"}
    )
    return await plan_after_event(
        uow, business, customer, event_id=event.id, kind=kind, occurred_at=occurred_at, now=now
    )


async def remove_schedule(uow: UnitOfWork, business_id: int, name: str) -> bool:
    """Delete a schedule and the touches it planned and has not made yet (the touches it made
    stay on the record, with no schedule); False when there is no such schedule."""
    record = await uow.schedules.get(business_id, name)
    if record is None:
        return False
    await uow.checkins.drop_planned(record.id)
    await uow.schedules.delete(record.id)
    return True
