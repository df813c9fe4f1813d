"""The flows a check-in can run (built-in and the business's own), the kind of message each
sends, and the contact rules every touch is held to.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from bot.domain import (
    Business,
    Customer,
    InvalidInput,
    OutboxKind,
)
from bot.ports import UnitOfWork
from flows.checkin import CHECKIN
from flows.contact import (
    ContactRules,
)
from flows.contact import parse_rules as _parse_rules
from flows.csat import CSAT
from flows.custom import parse_flow
from flows.engine import Flow
from flows.follow_up import FOLLOW_UP, OFFER
from flows.nps import NPS

TICK = timedelta(minutes=1)
BUILT_IN: Mapping[str, Flow] = {flow.name: flow for flow in (CHECKIN, NPS, CSAT, FOLLOW_UP, OFFER)}
KINDS = {
    CHECKIN.name: OutboxKind.CHECKIN,
    NPS.name: OutboxKind.NPS,
    CSAT.name: OutboxKind.CSAT,
    FOLLOW_UP.name: OutboxKind.FOLLOW_UP,
    OFFER.name: OutboxKind.FOLLOW_UP,
}
# Service touches ("did we solve it?" after a handoff, the offer of a person after a low
# score) finish a conversation the customer started: quiet hours, consent and open handoffs
# apply, the frequency cap and rests do not.
SERVICE_FLOWS = frozenset({FOLLOW_UP.name, OFFER.name})
CUSTOM = "custom:"


def contact_rules(business: Business) -> ContactRules:
    """The business's stored rules; they were checked when saved."""
    return _parse_rules(business.contact_rules)


async def flow_named(uow: UnitOfWork, business_id: int, name: str) -> Flow:
    if name in BUILT_IN:
        return BUILT_IN[name]
    definition = await uow.flows.get(business_id, name.removeprefix(CUSTOM))
    if not name.startswith(CUSTOM) or definition is None:
        raise InvalidInput(f"flow: no flow named {name!r}")
    return parse_flow(definition)


def flow_fields(business: Business, customer: Customer) -> dict[str, str]:
    return {"business": business.name, "name": customer.name or ""}
