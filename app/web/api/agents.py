"""The REST API for the agents who answer handoffs: made, changed, online or not, disabled,
deleted, and a password reset by an admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from app.web.deps import Actor, AdminBusiness, ServicesDep
from app.web.text_json import TextJsonRoute
from bot.domain import Agent, AgentRole, InvalidInput, NotFound
from bot.handoffs import service as handoffs
from bot.handoffs.agents import change_agent, create_agent
from bot.handoffs.offboarding import (
    delete_agent,
    disable_agent,
    enable_agent,
    reset_agent_password,
)
from bot.ports import UnitOfWork

router = APIRouter(prefix="/api/v1/{business}", tags=["handoffs"], route_class=TextJsonRoute)


# Ids are integer columns: a larger number is no row, and the database would refuse to compare it.
MAX_ID = 2**31 - 1
AgentId = Annotated[int, Path(ge=1, le=MAX_ID)]


class AgentOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    language: str
    capacity: int
    online: bool
    disabled: bool


def _agent_out(agent: Agent) -> AgentOut:
    return AgentOut(
        id=agent.id,
        email=agent.email,
        name=agent.name,
        role=agent.role.value,
        language=agent.language,
        capacity=agent.capacity,
        online=agent.online,
        disabled=not agent.active,
    )


class AgentIn(BaseModel):
    email: Annotated[str, Field(max_length=254)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    password: Annotated[str, Field(min_length=1, max_length=200)]
    role: AgentRole = AgentRole.AGENT
    language: str | None = Field(None, pattern="^(he|en)$")
    capacity: int = Field(5, ge=1, le=100)


class StatusIn(BaseModel):
    online: bool


class AgentChange(BaseModel):
    capacity: int | None = Field(None, ge=1, le=100, description="handoffs held at once")
    role: AgentRole | None = Field(None, description="the last admin cannot become an agent")
    disabled: bool | None = Field(
        None,
        description="true: signed out at once and no sign-in; their handoffs go to colleagues"
        " or the queue, their conversations back to the queue. false: may sign in again",
    )


class PasswordIn(BaseModel):
    password: Annotated[str, Field(min_length=1, max_length=200)]


async def agent_in_business(uow: UnitOfWork, business_id: int, agent_id: int) -> Agent:
    agent = await uow.agents.get(agent_id)
    if agent is None or agent.business_id != business_id:
        raise NotFound(f"no agent {agent_id}", code="agent_not_found")
    return agent


async def acting_agent(uow: UnitOfWork, business_id: int, agent_id: int) -> Agent:
    """The agent a handoff action is done as: one of the business's, and not disabled."""
    agent = await agent_in_business(uow, business_id, agent_id)
    if not agent.active:
        raise InvalidInput(f"agent {agent_id} is disabled", code="agent_disabled")
    return agent


@router.get("/agents", response_model=list[AgentOut])
async def list_agents(services: ServicesDep, business: AdminBusiness) -> list[AgentOut]:
    async with services.uow() as uow:
        return [_agent_out(a) for a in await uow.agents.list(business.id)]


@router.post("/agents", response_model=AgentOut, status_code=201)
async def add_agent(services: ServicesDep, business: AdminBusiness, body: AgentIn) -> AgentOut:
    now = services.clock.now()
    async with services.uow() as uow:
        agent = await create_agent(
            uow,
            business,
            email=body.email,
            name=body.name,
            password=body.password,
            role=body.role,
            language=body.language,
            capacity=body.capacity,
            passwords=services.passwords,
            now=now,
        )
        await uow.commit()
    return _agent_out(agent)


@router.patch("/agents/{agent_id}", response_model=AgentOut)
async def change(
    services: ServicesDep,
    business: AdminBusiness,
    agent_id: AgentId,
    body: AgentChange,
    actor: Actor,
) -> AgentOut:
    """Change an agent's capacity or role, or disable or enable them; what is left out stays
    as it is."""
    now = services.clock.now()
    async with services.uow() as uow:
        agent = await agent_in_business(uow, business.id, agent_id)
        if body.capacity is not None or body.role is not None:
            agent = await change_agent(
                uow, business, agent_id, capacity=body.capacity, role=body.role
            )
        if body.disabled:
            agent = await disable_agent(uow, business, agent_id, actor=actor, now=now)
        elif body.disabled is False:
            agent = await enable_agent(uow, business, agent_id, actor=actor, now=now)
        await uow.commit()
    return _agent_out(agent)


@router.delete("/agents/{agent_id}", status_code=204)
async def remove(
    services: ServicesDep, business: AdminBusiness, agent_id: AgentId, actor: Actor
) -> Response:
    """Delete an agent: signed out, their handoffs and conversations handed on; their name
    stays on the messages and notes they wrote, their email is free for a new login."""
    async with services.uow() as uow:
        await delete_agent(uow, business, agent_id, actor=actor, now=services.clock.now())
        await uow.commit()
    return Response(status_code=204)


@router.post("/agents/{agent_id}/password", response_model=AgentOut)
async def reset(
    services: ServicesDep,
    business: AdminBusiness,
    agent_id: AgentId,
    body: PasswordIn,
    actor: Actor,
) -> AgentOut:
    """Set a new password for the agent (at least 10 characters); they are signed out
    everywhere and sign in with it."""
    async with services.uow() as uow:
        agent = await reset_agent_password(
            uow,
            business,
            agent_id,
            body.password,
            actor=actor,
            now=services.clock.now(),
            passwords=services.passwords,
        )
        await uow.commit()
    return _agent_out(agent)


@router.put("/agents/{agent_id}/status", response_model=AgentOut)
async def agent_status(
    services: ServicesDep, business: AdminBusiness, agent_id: AgentId, body: StatusIn
) -> AgentOut:
    """Online agents get new handoffs; going offline hands theirs to others or the queue."""
    now = services.clock.now()
    async with services.uow() as uow:
        agent = await agent_in_business(uow, business.id, agent_id)
        await handoffs.set_online(uow, business, agent, body.online, now=now)
        await uow.commit()
        updated = await agent_in_business(uow, business.id, agent_id)
    return _agent_out(updated)
