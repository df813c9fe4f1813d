"""The REST API for handoffs, their rules and canned replies, for businesses that work from
their own helpdesk."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, Field

from app.web.api.agents import MAX_ID, acting_agent
from app.web.deps import AdminBusiness, ServicesDep
from app.web.text_json import TextJsonRoute
from bot.domain import CannedReply, Handoff, InvalidInput, NotFound
from bot.handoffs import service as handoffs
from bot.jobs import AnnounceHandoff
from bot.outbound.replies import queue_sends
from flows.contact import RulesError
from flows.handoff import parse_handoff_rules

router = APIRouter(prefix="/api/v1/{business}", tags=["handoffs"], route_class=TextJsonRoute)

Text = Annotated[str, Field(min_length=1, max_length=4000)]
HandoffId = Annotated[int, Path(ge=1, le=MAX_ID)]


class HandoffOut(BaseModel):
    id: int
    customer_id: uuid.UUID
    state: str = Field(description="requested, waiting, assigned, active or resolved")
    trigger: str
    reason: str
    agent_id: int | None
    requested_at: datetime
    assigned_at: datetime | None
    first_reply_at: datetime | None
    sla_due_at: datetime
    resolved_at: datetime | None


def _out(handoff: Handoff) -> HandoffOut:
    return HandoffOut(
        id=handoff.id,
        customer_id=handoff.customer_id,
        state=handoff.state,
        trigger=handoff.trigger,
        reason=handoff.reason,
        agent_id=handoff.agent_id,
        requested_at=handoff.requested_at,
        assigned_at=handoff.assigned_at,
        first_reply_at=handoff.first_reply_at,
        sla_due_at=handoff.sla_due_at,
        resolved_at=handoff.resolved_at,
    )


class HandoffIn(BaseModel):
    customer: uuid.UUID = Field(description="the customer's id")
    reason: Annotated[str, Field(min_length=1, max_length=500)] = "requested by the business"


class AgentRef(BaseModel):
    agent: int = Field(ge=1, le=MAX_ID, description="the agent's id")


class ReplyIn(AgentRef):
    text: Text
    template: str | None = Field(
        None, description="outside WhatsApp's 24-hour window: the approved template kind to use"
    )
    key: Annotated[str, Field(max_length=64)] | None = Field(
        None, description="an idempotency key: the same key twice sends once"
    )


class NoteIn(AgentRef):
    text: Text


class CannedIn(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=80)]
    text: Text


@router.get("/handoffs", response_model=list[HandoffOut])
async def list_handoffs(
    services: ServicesDep,
    business: AdminBusiness,
    status: Annotated[str, Query(pattern="^(open|all)$")] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[HandoffOut]:
    """Open handoffs, oldest first; or all, newest first."""
    async with services.uow() as uow:
        found = await uow.handoffs.list(business.id, open_only=status == "open", limit=limit)
    return [_out(h) for h in found]


@router.post("/handoffs", response_model=HandoffOut, status_code=201)
async def open_handoff(
    services: ServicesDep, business: AdminBusiness, body: HandoffIn, response: Response
) -> HandoffOut:
    """Hand a customer to a person (200 with the open one if there already is one)."""
    async with services.uow() as uow:
        customer = await uow.customers.get(business.id, body.customer)
        if customer is None:
            raise NotFound(f"no customer {body.customer}", code="unknown_customer")
        handoff, _, outbox_ids = await handoffs.request_for(
            uow, business, customer, reason=body.reason, now=services.clock.now()
        )
        await uow.commit()
    await queue_sends(outbox_ids, services)
    if outbox_ids:
        await services.enqueue(AnnounceHandoff(business.id, handoff.id))
    else:
        response.status_code = 200
    return _out(handoff)


@router.get("/handoffs/{handoff_id}")
async def get_handoff(
    services: ServicesDep, business: AdminBusiness, handoff_id: HandoffId
) -> dict[str, Any]:
    """The handoff with its summary and the conversation so far."""
    async with services.uow() as uow:
        handoff = await uow.handoffs.get(business.id, handoff_id)
        if handoff is None:
            raise NotFound(f"no handoff {handoff_id}", code="handoff_not_found")
        summary = await handoffs.summary(uow, handoff)
        messages = await uow.messages.for_customer(handoff.customer_id, limit=100)
    return {
        **_out(handoff).model_dump(mode="json"),
        "summary": {
            "text": summary.text,
            "reasons": list(summary.reasons),
            "last_messages": list(summary.last_messages),
            "answers": list(summary.answers),
        },
        "messages": [
            {
                "direction": m.direction.value,
                "channel": m.channel.value,
                "text": m.text,
                "status": m.status.value,
                "at": m.created_at.isoformat(),
            }
            for m in messages
        ],
    }


@router.post("/handoffs/{handoff_id}/claim", response_model=HandoffOut)
async def claim_handoff(
    services: ServicesDep, business: AdminBusiness, handoff_id: HandoffId, body: AgentRef
) -> HandoffOut:
    now = services.clock.now()
    async with services.uow() as uow:
        agent = await acting_agent(uow, business.id, body.agent)
        handoff = await handoffs.claim(uow, business, handoff_id, agent, now=now)
        await uow.commit()
    return _out(handoff)


@router.post("/handoffs/{handoff_id}/transfer", response_model=HandoffOut)
async def transfer_handoff(
    services: ServicesDep, business: AdminBusiness, handoff_id: HandoffId, body: AgentRef
) -> HandoffOut:
    now = services.clock.now()
    async with services.uow() as uow:
        handoff = await handoffs.transfer(uow, business, handoff_id, body.agent, now=now)
        await uow.commit()
    return _out(handoff)


@router.post("/handoffs/{handoff_id}/reply", status_code=202)
async def reply_handoff(
    services: ServicesDep, business: AdminBusiness, handoff_id: HandoffId, body: ReplyIn
) -> dict[str, Any]:
    """Send the agent's reply on the customer's channel (queued; 202)."""
    now = services.clock.now()
    async with services.uow() as uow:
        agent = await acting_agent(uow, business.id, body.agent)
        message, outbox_ids = await handoffs.reply(
            uow,
            services,
            business,
            handoff_id,
            agent,
            body.text,
            now=now,
            template=body.template,
            key=body.key,
        )
        await uow.commit()
    await queue_sends(outbox_ids, services)
    return {"message_id": message.id, "status": message.status.value}


@router.post("/handoffs/{handoff_id}/notes", status_code=201)
async def note_handoff(
    services: ServicesDep, business: AdminBusiness, handoff_id: HandoffId, body: NoteIn
) -> dict[str, str]:
    now = services.clock.now()
    async with services.uow() as uow:
        agent = await acting_agent(uow, business.id, body.agent)
        await handoffs.note(uow, business, handoff_id, agent, body.text, now=now)
        await uow.commit()
    return {"status": "noted"}


@router.post("/handoffs/{handoff_id}/resolve", response_model=HandoffOut)
async def resolve_handoff(
    services: ServicesDep,
    business: AdminBusiness,
    handoff_id: HandoffId,
    body: Annotated[AgentRef | None, Body()] = None,
) -> HandoffOut:
    """Resolve: the conversation returns to the bot and a follow-up check-in is planned."""
    now = services.clock.now()
    async with services.uow() as uow:
        agent = await acting_agent(uow, business.id, body.agent) if body else None
        handoff = await handoffs.resolve(uow, business, handoff_id, agent=agent, now=now)
        await uow.commit()
    return _out(handoff)


@router.get("/handoff-rules")
async def get_handoff_rules(business: AdminBusiness) -> dict[str, Any]:
    return dict(business.handoff_rules)


@router.put("/handoff-rules")
async def put_handoff_rules(
    services: ServicesDep, business: AdminBusiness, rules: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """sla (e.g. 10m, counted in business hours), low_score (handoff|offer),
    follow_up_after (e.g. 3d, or null), capacity."""
    try:
        parse_handoff_rules(rules)
    except RulesError as error:
        raise InvalidInput("; ".join(error.problems), code="invalid_rules") from None
    async with services.uow() as uow:
        await uow.businesses.set_handoff_rules(business.id, rules)
        await uow.commit()
    return rules


@router.get("/canned-replies", response_model=list[CannedIn])
async def get_canned(business: AdminBusiness) -> list[CannedIn]:
    return [CannedIn(title=c.title, text=c.text) for c in business.canned_replies]


@router.put("/canned-replies", response_model=list[CannedIn])
async def put_canned(
    services: ServicesDep, business: AdminBusiness, replies: list[CannedIn]
) -> list[CannedIn]:
    """Replace the business's canned replies (at most 100)."""
    if len(replies) > 100:
        raise InvalidInput("at most 100 canned replies", code="too_many")
    async with services.uow() as uow:
        await uow.businesses.set_canned_replies(
            business.id, [CannedReply(title=r.title, text=r.text) for r in replies]
        )
        await uow.commit()
    return replies
