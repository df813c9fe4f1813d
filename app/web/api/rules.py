"""The REST API for the contact rules: when Kesher may reach out, and how often."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from app.web.api.schedules import Definition
from app.web.deps import AdminBusiness, ServicesDep
from app.web.text_json import TextJsonRoute
from bot.checkins.configuration import save_rules

router = APIRouter(prefix="/api/v1/{business}", tags=["check-ins"], route_class=TextJsonRoute)


class RulesOut(BaseModel):
    rules: dict[str, Any]


@router.get("/rules", response_model=RulesOut)
async def get_rules(business: AdminBusiness) -> RulesOut:
    """The business's contact rules as saved; keys left out keep the defaults."""
    return RulesOut(rules=dict(business.contact_rules))


@router.put("/rules", response_model=RulesOut)
async def put_rules(services: ServicesDep, business: AdminBusiness, rules: Definition) -> RulesOut:
    async with services.uow() as uow:
        await save_rules(uow, business, rules)
        await uow.commit()
    return RulesOut(rules=rules)
