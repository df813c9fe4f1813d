"""The REST API for a business's custom flows of questions, which its schedules run as
`custom:<name>`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from app.web.api.schedules import Definition
from app.web.deps import AdminBusiness, ServicesDep
from app.web.errors import ApiError
from app.web.text_json import TextJsonRoute
from bot.checkins import catalog
from bot.checkins.configuration import delete_flow, save_flow

router = APIRouter(prefix="/api/v1/{business}", tags=["check-ins"], route_class=TextJsonRoute)


class FlowOut(BaseModel):
    name: str
    flow: str = Field(description="what a schedule's `flow` says to run it: custom:<name>")
    definition: dict[str, Any]


@router.get("/flows", response_model=list[FlowOut])
async def list_flows(services: ServicesDep, business: AdminBusiness) -> list[FlowOut]:
    async with services.uow() as uow:
        names = sorted(await uow.flows.names(business.id))
        return [
            FlowOut(name=n, flow=f"{catalog.CUSTOM}{n}", definition=dict(d))
            for n in names
            if (d := await uow.flows.get(business.id, n)) is not None
        ]


@router.get("/flows/{name}", response_model=FlowOut)
async def get_flow(services: ServicesDep, business: AdminBusiness, name: str) -> FlowOut:
    async with services.uow() as uow:
        definition = await uow.flows.get(business.id, name)
    if definition is None:
        raise ApiError(404, "unknown_flow", f"no flow named {name!r}")
    return FlowOut(name=name, flow=f"{catalog.CUSTOM}{name}", definition=dict(definition))


@router.put("/flows/{name}", response_model=FlowOut)
async def put_flow(
    services: ServicesDep, business: AdminBusiness, name: str, definition: Definition
) -> FlowOut:
    """Create or replace a custom flow of questions (the name in the path wins)."""
    body = {**definition, "name": name}
    async with services.uow() as uow:
        flow = await save_flow(uow, business, body, now=services.clock.now())
        await uow.commit()
    return FlowOut(name=name, flow=flow, definition=body)


@router.delete("/flows/{name}", status_code=204)
async def remove_flow(services: ServicesDep, business: AdminBusiness, name: str) -> Response:
    """Delete a custom flow; refused (400 flow_in_use) while a schedule or a touch uses it."""
    async with services.uow() as uow:
        await delete_flow(uow, business, name)
        await uow.commit()
    return Response(status_code=204)
