"""The encoder's opinion in the worker, on both backends: a message the fast detector was unsure
of is scored again with its encoder vector; a handoff the blend calls for opens, one it does not
back closes with a note unless a person has touched it.

The encoder here is mostly a fake that points each text's vector along (or against) the shipped
head's weights, so the blend's verdict is known; the shipped detector does the rest. The last
test runs the real encoder through the real queue (taskiq on Redis on the second backend), as
does `kesher detect` end to end (tests/e2e/test_cli.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.bootstrap import Runtime
from bot.detection.shipped import default_detector, shipped_second_tone
from bot.domain import Business, ConversationMode, Event, EventKind, Handoff, Message, Opinion
from bot.handoffs import service as handoffs
from bot.handoffs.agents import create_agent
from bot.inbound.second_opinion import review_message
from bot.jobs import Job, ReviewMessage
from bot.ports import Embedding
from tests.integration.conftest import running, settled
from tests.integration.world import InPlaceQueue, SettableClock, World, make_world

SUNDAY_TEN = datetime(2026, 12, 6, 10, 0, tzinfo=ZoneInfo("Asia/Jerusalem"))
# A fast score in the balanced band, below the fast cut-off: no handoff until the encoder speaks.
UNSURE_CALM = "still waiting for my refund"
# A fast score in the band, above the fast cut-off: handed off at once, on the rules and tone.
UNSURE_HANDED_OFF = "this is the second time I write about it"


class PointedEncoder:
    """Vectors along the head's weights for `angry` texts, against them for the rest."""

    def __init__(self, angry: set[str]) -> None:
        weights = shipped_second_tone().head.weights
        norm = math.sqrt(sum(w * w for w in weights))
        self.along = tuple(w / norm for w in weights)
        self.angry = angry
        self.texts: list[str] = []

    async def embed(self, texts: Sequence[str], *, query: bool = False) -> list[Embedding]:
        self.texts += texts
        return [
            self.along if text in self.angry else tuple(-x for x in self.along) for text in texts
        ]


class HeldQueue(InPlaceQueue):
    """Runs what the world's queue runs, and keeps the reviews for the test to run."""

    def __init__(self) -> None:
        super().__init__()
        self.reviews: list[ReviewMessage] = []

    async def enqueue(self, job: Job) -> None:
        if isinstance(job, ReviewMessage):
            self.reviews.append(job)
            return
        await super().enqueue(job)


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def world(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    clock = SettableClock(SUNDAY_TEN)
    async for runtime in running(request, tmp_path, clock=clock):
        base = await make_world(runtime, clock)
        queue = HeldQueue()
        services = dataclasses.replace(base.services, queue=queue)
        queue.services = services
        yield dataclasses.replace(base, services=services, queue=queue)


async def _review(world: World, encoder: PointedEncoder) -> None:
    """Run the reviews the pipeline queued, as a worker would, with `encoder`."""
    services = dataclasses.replace(world.services, encoder=encoder)
    queue = world.queue
    assert isinstance(queue, HeldQueue)
    reviews, queue.reviews = queue.reviews, []
    for job in reviews:
        await review_message(job.business_id, job.message_id, services)


async def _state(world: World, address: str) -> tuple[Message, list[Handoff], list[Event]]:
    customer = await world.customer_id(address)
    async with world.services.uow() as uow:
        found = await uow.handoffs.list(world.business.id, open_only=False, customer_id=customer)
        messages = await uow.messages.for_customer(customer, limit=20)
        events = await uow.events.for_customer(customer, limit=50)
    (inbound,) = [m for m in messages if m.direction.value == "in"]
    return inbound, list(found), list(events)


def test_the_chosen_messages_sit_in_the_band_either_side_of_the_fast_cut_off() -> None:
    detector = default_detector()
    calm, handed_off = detector.assess(UNSURE_CALM), detector.assess(UNSURE_HANDED_OFF)

    assert calm.uncertain and not calm.handoff, calm
    assert handed_off.uncertain and handed_off.handoff, handed_off


async def test_an_unsure_message_the_encoder_finds_frustrated_is_handed_off(world: World) -> None:
    await world.say("+972500000001", UNSURE_CALM)
    _, before, _ = await _state(world, "+972500000001")
    assert before == []

    await _review(world, PointedEncoder(angry={UNSURE_CALM}))

    inbound, after, events = await _state(world, "+972500000001")
    (handoff,) = after
    assert handoff.open and handoff.trigger == "detector"
    assert handoff.details["message_id"] == inbound.id
    assert inbound.frustration_reasons[-1] == "encoder 1.00"
    detected = [e for e in events if e.kind == EventKind.FRUSTRATION_DETECTED]
    assert [e.data["source"] for e in detected] == ["encoder"]
    assert any("team will answer" in text for text, _ in world.phone.to("+972500000001"))


async def test_a_handoff_the_encoder_does_not_back_closes_with_a_note(world: World) -> None:
    await world.say("+972500000002", UNSURE_HANDED_OFF)
    _, (opened,), _ = await _state(world, "+972500000002")
    assert opened.open

    await _review(world, PointedEncoder(angry=set()))

    inbound, (closed,), events = await _state(world, "+972500000002")
    assert not closed.open and closed.state == "resolved"
    (note,) = [e for e in events if e.kind == EventKind.NOTE]
    assert note.data["handoff_id"] == closed.id
    assert note.data["text"].startswith("ההעברה לנציג בוטלה")  # the business writes Hebrew
    (resolved,) = [e for e in events if e.kind == EventKind.HANDOFF_RESOLVED]
    assert resolved.data["withdrawn"] is True
    async with world.services.uow() as uow:
        conversation = await uow.conversations.get(inbound.conversation_id)
        follow_ups = await uow.checkins.list(world.business.id, status=None, limit=10, offset=0)
    assert conversation.mode is ConversationMode.BOT
    assert follow_ups == []  # nothing was solved: no "did we solve it?"
    assert inbound.frustration_reasons[-1] == "encoder 0.00"


async def test_a_handoff_an_agent_has_claimed_stays_open_whatever_the_encoder_says(
    world: World,
) -> None:
    await world.say("+972500000003", UNSURE_HANDED_OFF)
    _, (opened,), _ = await _state(world, "+972500000003")
    world.clock.at = SUNDAY_TEN.replace(minute=1)
    async with world.services.uow() as uow:
        agent = await create_agent(
            uow,
            world.business,
            email="dana@clinic.test",
            name="Dana",
            password="correct horse battery",
            passwords=world.services.passwords,
            now=world.clock.now(),
        )
        await handoffs.claim(uow, world.business, opened.id, agent, now=world.clock.now())
        await uow.commit()

    await _review(world, PointedEncoder(angry=set()))

    _, (kept,), events = await _state(world, "+972500000003")
    assert kept.open and kept.agent_id == agent.id
    assert not [e for e in events if e.kind == EventKind.NOTE]


class CountingModel:
    """A language model's second opinion that finds everyone frustrated, and counts."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def review(self, text: str, *, language: str | None) -> Opinion | None:
        self.asked.append(text)
        return Opinion(score=0.95, wants_person=False, reason="upset", topic="order")


async def test_the_language_model_is_asked_only_what_the_encoder_left_uncertain(
    world: World,
) -> None:
    model = CountingModel()
    world.services = dataclasses.replace(world.services, second_opinion=model)
    await world.say("+972500000005", UNSURE_CALM)

    await _review(world, PointedEncoder(angry=set()))  # the blend is sure: calm

    assert model.asked == []
    _, handoffs_now, _ = await _state(world, "+972500000005")
    assert handoffs_now == []


async def test_without_the_encoder_the_language_model_gives_the_second_opinion(
    world: World,
) -> None:
    model = CountingModel()
    world.services = dataclasses.replace(world.services, second_opinion=model, encoder=None)
    await world.say("+972500000006", UNSURE_CALM)
    queue = world.queue
    assert isinstance(queue, HeldQueue)

    for job in queue.reviews:
        await review_message(job.business_id, job.message_id, world.services)

    assert model.asked == [UNSURE_CALM]
    inbound, (handoff,), _ = await _state(world, "+972500000006")
    assert handoff.open
    assert inbound.frustration_reasons[-1] == "second opinion 0.95: upset"


async def test_a_sure_message_is_not_sent_to_the_encoder(world: World) -> None:
    encoder = PointedEncoder(angry=set())

    await world.say("+972500000004", "thank you so much, all good!")
    await _review(world, encoder)

    assert encoder.texts == []


async def test_through_the_queue_the_real_encoder_hands_off_within_seconds(
    runtime: Runtime, client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    started = asyncio.get_running_loop().time()
    response = await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages", json={"customer": "noa", "text": UNSURE_CALM}
    )
    assert response.status_code == 200
    await settled(runtime)
    elapsed = asyncio.get_running_loop().time() - started

    items = (
        await client.get(
            f"/api/v1/{shop.slug}/customers/{response.json()['customer_id']}/timeline",
            headers={"Authorization": f"Bearer {key}"},
        )
    ).json()["items"]
    (inbound,) = [i for i in items if i["type"] == "message" and i["direction"] == "in"]
    assert inbound["reasons"][-1].startswith("encoder ")
    (detected,) = [i for i in items if i["type"] == "event" and i["kind"] == "frustration_detected"]
    assert detected["data"]["source"] == "encoder"
    assert [i for i in items if i["type"] == "event" and i["kind"] == "handoff_requested"]
    assert elapsed < 10
