"""The sandbox channel's endpoints and its web chat page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from app.web.deps import SandboxBusiness, ServicesDep
from app.web.errors import ApiError
from app.web.text_json import TextJsonRoute
from bot.conversations.authors import AuthorKind, authors
from bot.domain import ChannelName, Direction, Message, Rate, WebhookRequest
from bot.inbound.pipeline import handle_inbound
from integrations.sandbox import MAX_TEXT

TRANSCRIPT = 1000

router = APIRouter(route_class=TextJsonRoute)
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
CUSTOMER_RATE = Rate(count=60, per=timedelta(minutes=1))
# Who the customer sees as a message's author: a schedule's touch is the bot's.
CUSTOMER_SEES: dict[AuthorKind, Literal["customer", "bot", "agent"]] = {
    "customer": "customer",
    "bot": "bot",
    "agent": "agent",
    "schedule": "bot",
}


class SandboxMessageIn(BaseModel):
    customer: str = Field(max_length=128, description="any id for the customer playing")
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    choice: str | None = Field(default=None, description="the id of a choice tapped")
    message_id: str | None = Field(
        default=None, max_length=128, description="optional client id; a repeat is stored once"
    )


class ChoiceOut(BaseModel):
    id: str
    label: str


class ReplyOut(BaseModel):
    text: str
    choices: list[ChoiceOut]


class SandboxReplies(BaseModel):
    replies: list[ReplyOut]
    customer_id: str
    message_id: int
    duplicate: bool


class SentMessage(ReplyOut):
    id: int
    direction: Literal["in", "out"] = Field(description="in: the customer's, out: to the customer")
    author: Literal["customer", "bot", "agent"]
    author_name: str | None = Field(
        description="the agent's display name; null for the customer, the bot, or an agent "
        "with no name (shown as the team)"
    )
    sent_at: str
    status: str


class SandboxTranscript(BaseModel):
    messages: list[SentMessage]


def _reply(message: Message) -> ReplyOut:
    return ReplyOut(
        text=message.text, choices=[ChoiceOut(id=c.id, label=c.label) for c in message.choices]
    )


@router.post(
    "/api/v1/{business}/sandbox/messages",
    response_model=SandboxReplies,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": SandboxMessageIn.model_json_schema()}},
        }
    },
    tags=["sandbox"],
)
async def post_message(
    request: Request, services: ServicesDep, business: SandboxBusiness
) -> SandboxReplies:
    """Play the customer: send one message, get the bot's replies."""
    channel = services.channels[ChannelName.SANDBOX]
    webhook = WebhookRequest(
        business=business.slug,
        url=str(request.url),
        headers=dict(request.headers),
        body=await request.body(),
        received_at=services.clock.now(),
    )
    (inbound,) = await channel.parse(webhook)
    limit_key = f"sandbox:{business.id}:{inbound.address}"
    if not await services.limiter.hit(limit_key, CUSTOMER_RATE):
        wait = await services.limiter.retry_after(limit_key, CUSTOMER_RATE)
        raise ApiError(
            429,
            "rate_limited",
            f"at most {CUSTOMER_RATE.count} messages a minute per customer",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    handled = await handle_inbound(business, inbound, services)
    replies = handled.replies
    if not replies and handled.message_id and not handled.duplicate:
        # A question for the knowledge base is answered by a job after the commit; the
        # embedded mode has run it by now, the distributed one's answer comes by GET.
        async with services.uow() as uow:
            replies = tuple(await uow.messages.replies_to(handled.message_id))
    return SandboxReplies(
        replies=[_reply(m) for m in replies],
        customer_id=handled.customer_id,
        message_id=handled.message_id,
        duplicate=handled.duplicate,
    )


@router.get(
    "/api/v1/{business}/sandbox/messages", response_model=SandboxTranscript, tags=["sandbox"]
)
async def sent_messages(
    services: ServicesDep,
    business: SandboxBusiness,
    customer: Annotated[str, Query(min_length=1, max_length=128)],
) -> SandboxTranscript:
    """One sandbox customer's chat, oldest first (the latest 1,000 messages): what they wrote,
    and what was sent to them, each with its author (the bot, or an agent by name)."""
    async with services.uow() as uow:
        identity = await uow.identities.find(business.id, ChannelName.SANDBOX, customer.strip())
        if identity is None:
            return SandboxTranscript(messages=[])
        chat = await uow.messages.transcript(identity.id, limit=TRANSCRIPT)
        written = await authors(uow, business.id, identity.customer_id, chat)
    return SandboxTranscript(
        messages=[
            SentMessage(
                id=m.id,
                direction="in" if m.direction == Direction.IN else "out",
                author=CUSTOMER_SEES[written[m.id].kind],
                author_name=written[m.id].name if written[m.id].kind == "agent" else None,
                text=m.text,
                choices=[ChoiceOut(id=c.id, label=c.label) for c in m.choices],
                sent_at=m.created_at.isoformat(),
                status=m.status.value,
            )
            for m in chat
        ]
    )


@router.get("/sandbox", response_class=HTMLResponse, include_in_schema=False)
async def page(
    request: Request,
    business: Annotated[str, Query(max_length=64)] = "demo",
    lang: Annotated[str, Query(pattern="^(he|en)$")] = "he",
) -> HTMLResponse:
    return templates.TemplateResponse(request, "sandbox.html", {"business": business, "lang": lang})
