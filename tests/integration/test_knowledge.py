"""Customers' questions answered from the business's knowledge base, on both backends: an
automatic answer from the bundled encoder's match, the ordinary reply when nothing matches, a
language model's grounded answer (and no answer when it rests on no entry), and a thumbs-down
listed as a candidate for a new entry."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.bootstrap import Runtime
from bot.domain import Business, ConversationStatus
from tests.integration.conftest import running, settled

HOURS = {
    "kind": "fact",
    "question_he": "שעות פתיחה",
    "answer_he": "ראשון עד חמישי 09:00-18:00, שישי 08:00-13:00",
    "question_en": "Opening hours",
    "answer_en": "Sunday to Thursday 9:00-18:00, Friday 8:00-13:00",
}
PARKING = {
    "kind": "fact",
    "question_he": "חניה",
    "answer_he": "יש חניה חינם מאחורי הבניין, הכניסה מרחוב הרצל",
    "question_en": "Parking",
    "answer_en": "Free parking behind the building, the entrance is from Herzl street",
}
CAKE = {
    "kind": "question",
    "question_he": "אפשר להזמין עוגה?",
    "answer_he": "כן, עוגות בהזמנה 48 שעות מראש בטלפון 03-1234567",
    "question_en": "Can I order a cake?",
    "answer_en": "Yes, cakes are made to order 48 hours ahead: call 03-1234567",
}


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _entries(client: httpx.AsyncClient, shop: Business, key: str) -> list[int]:
    ids = []
    for entry in (HOURS, PARKING, CAKE):
        made = await client.post(f"/api/v1/{shop.slug}/knowledge", json=entry, headers=_auth(key))
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    return ids


async def _ask(
    client: httpx.AsyncClient, runtime: Runtime, shop: Business, who: str, **body: Any
) -> dict[str, Any]:
    said = await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages", json={"customer": who, **body}
    )
    assert said.status_code == 200, said.text
    await settled(runtime)
    answer: dict[str, Any] = said.json()
    return answer


async def _transcript(client: httpx.AsyncClient, shop: Business, who: str) -> list[dict[str, Any]]:
    got = await client.get(f"/api/v1/{shop.slug}/sandbox/messages", params={"customer": who})
    messages: list[dict[str, Any]] = got.json()["messages"]
    return [m for m in messages if m["direction"] == "out"]


async def _candidates(client: httpx.AsyncClient, shop: Business, key: str) -> list[dict[str, Any]]:
    got = await client.get(f"/api/v1/{shop.slug}/knowledge/candidates", headers=_auth(key))
    assert got.status_code == 200, got.text
    listed: list[dict[str, Any]] = got.json()
    return listed


async def test_a_question_is_answered_from_the_knowledge_base_with_a_person_offered(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    hours, _, _ = await _entries(client, shop, key)

    said = await _ask(client, runtime, shop, "dana", text="What time do you open on Friday?")

    (reply,) = await _transcript(client, shop, "dana")
    if runtime.settings.embedded:  # the job ran in place, before the POST was answered
        assert [r["text"] for r in said["replies"]] == [reply["text"]]
    assert reply["text"].startswith("🤖 Automatic answer:")
    assert "Friday 8:00-13:00" in reply["text"] and 'Write "agent"' in reply["text"]
    assert [c["id"] for c in reply["choices"]] == ["kb:person", "kb:unhelpful"]
    timeline = await client.get(
        f"/api/v1/{shop.slug}/customers/{said['customer_id']}/timeline", headers=_auth(key)
    )
    (event,) = [i for i in timeline.json()["items"] if i.get("kind") == "answered_from_knowledge"]
    assert event["data"]["entries"] == [hours]
    assert await _candidates(client, shop, key) == []


async def test_a_hebrew_question_is_answered_in_hebrew(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _entries(client, shop, key)

    await _ask(client, runtime, shop, "noa", text="אפשר להזמין עוגה ליום הולדת?")

    (reply,) = await _transcript(client, shop, "noa")
    assert reply["text"].startswith("🤖 תשובה אוטומטית:")
    assert "48 שעות מראש" in reply["text"] and "נציג" in reply["text"]


async def test_a_question_no_entry_answers_gets_the_ordinary_reply_and_is_a_candidate(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _entries(client, shop, key)

    await _ask(client, runtime, shop, "avi", text="Do you sell gift cards for birthdays?")

    (reply,) = await _transcript(client, shop, "avi")
    assert "Thanks for writing to Café Kesher" in reply["text"]
    assert "Automatic" not in reply["text"]
    (candidate,) = await _candidates(client, shop, key)
    assert candidate["text"] == "Do you sell gift cards for birthdays?"
    assert candidate["reason"] == "unanswered"
    url = f"/api/v1/{shop.slug}/knowledge/candidates/{candidate['message_id']}"
    assert (await client.delete(url, headers=_auth(key))).status_code == 204
    assert await _candidates(client, shop, key) == []
    again = await client.delete(f"{url}0", headers=_auth(key))
    assert again.status_code == 404 and again.json()["error"]["code"] == "unknown_candidate"


async def _standing(runtime: Runtime, shop: Business, customer_id: str) -> tuple[Any, bool]:
    """The customer's conversation's place in the team's queue: its status and whether the
    bot answered it."""
    async with runtime.services.uow() as uow:
        (message, *_) = await uow.messages.for_customer(uuid.UUID(customer_id), limit=1)
        conversation = await uow.conversations.get(message.conversation_id)
    return conversation.status, conversation.auto_answered


async def test_an_answered_question_stays_out_of_the_queue_until_the_customer_comes_back(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _entries(client, shop, key)

    said = await _ask(client, runtime, shop, "gal", text="What time do you open on Friday?")
    assert await _standing(runtime, shop, said["customer_id"]) == (
        ConversationStatus.RESOLVED,
        True,
    )

    await _ask(client, runtime, shop, "gal", text="And can I bring my dog inside?")
    assert await _standing(runtime, shop, said["customer_id"]) == (ConversationStatus.OPEN, False)
    replies = [m["text"] for m in await _transcript(client, shop, "gal")]
    assert "Automatic" not in replies[-1] and "person from the team" in replies[-1]


async def test_a_question_no_entry_answers_waits_in_the_queue(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _entries(client, shop, key)

    said = await _ask(client, runtime, shop, "yael", text="האם יש לכם כרטיסי מתנה?")

    assert await _standing(runtime, shop, said["customer_id"]) == (ConversationStatus.OPEN, False)
    (reply,) = await _transcript(client, shop, "yael")
    assert "מהצוות" in reply["text"] and "אוטומטית" not in reply["text"]


async def test_a_business_without_entries_answers_at_once_as_before(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business

    said = await _ask(client, runtime, shop, "gil", text="What time do you open on Friday?")

    (reply,) = said["replies"]
    assert "Thanks for writing to Café Kesher" in reply["text"]
    assert await _candidates(client, shop, key) == []


async def test_a_thumbs_down_is_a_candidate_and_the_question_goes_to_a_person(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    hours, _, _ = await _entries(client, shop, key)
    await _ask(client, runtime, shop, "rina", text="When are you open on Friday?")

    tapped = await _ask(client, runtime, shop, "rina", choice="kb:unhelpful")

    (candidate,) = await _candidates(client, shop, key)
    assert candidate["text"] == "When are you open on Friday?"
    assert candidate["reason"] == "unhelpful" and candidate["entries"] == [hours]
    handoffs = await client.get(f"/api/v1/{shop.slug}/handoffs", headers=_auth(key))
    (handoff,) = handoffs.json()
    assert handoff["customer_id"] == tapped["customer_id"]
    assert handoff["reason"] == "an automatic answer did not help"


async def test_asking_for_a_person_in_one_tap_hands_the_conversation_over(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _entries(client, shop, key)
    await _ask(client, runtime, shop, "tal", text="Is there parking near you?")
    (answer,) = await _transcript(client, shop, "tal")
    assert "Free parking behind the building" in answer["text"]

    await _ask(client, runtime, shop, "tal", choice="kb:person")

    handoffs = await client.get(f"/api/v1/{shop.slug}/handoffs", headers=_auth(key))
    (handoff,) = handoffs.json()
    assert handoff["reason"] == "asked for a person after an automatic answer"
    assert await _candidates(client, shop, key) == []


async def test_writing_agent_after_an_automatic_answer_reaches_a_person_on_any_channel(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _entries(client, shop, key)
    await _ask(client, runtime, shop, "shir", text="אפשר להזמין עוגה?")

    await _ask(client, runtime, shop, "shir", text="נציג")

    handoffs = await client.get(f"/api/v1/{shop.slug}/handoffs", headers=_auth(key))
    (handoff,) = handoffs.json()
    assert handoff["trigger"] == "request"
    assert len(await _transcript(client, shop, "shir")) == 2  # the answer, then the handoff's


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def with_model(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest, tmp_path, fake_ollama, monkeypatch
) -> AsyncIterator[Runtime]:
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    async for built in running(request, tmp_path, llm_model="ollama:kesher-test"):
        yield built


class TestWithALanguageModel:
    """KESHER_LLM_MODEL set, the fake Ollama server behind it."""

    @pytest.fixture
    async def runtime(self, with_model: Runtime) -> Runtime:
        return with_model

    async def test_the_language_model_composes_an_answer_grounded_in_the_matched_entry(
        self,
        client: httpx.AsyncClient,
        runtime: Runtime,
        business: tuple[Business, str],
        fake_ollama: Any,
    ) -> None:
        shop, key = business
        hours, _, _ = await _entries(client, shop, key)
        fake_ollama.answer = {
            "answer": "On Friday we are open from 8 until 13.",
            "entries": [hours],
        }

        await _ask(client, runtime, shop, "dor", text="What time do you open on Friday?")

        (reply,) = await _transcript(client, shop, "dor")
        assert reply["text"].startswith(
            "🤖 Automatic answer:\nOn Friday we are open from 8 until 13."
        )
        (call,) = [c for c in fake_ollama.calls if "AnswerFromEntries" in str(c.get("tools"))]
        assert f"[{hours}]" in call["messages"][0]["content"]
        assert "Friday 8:00-13:00" in call["messages"][0]["content"]
        assert call["messages"][-1]["content"] == "What time do you open on Friday?"

    async def test_an_answer_the_language_model_rests_on_no_entry_is_not_sent(
        self,
        client: httpx.AsyncClient,
        runtime: Runtime,
        business: tuple[Business, str],
        fake_ollama: Any,
    ) -> None:
        shop, key = business
        await _entries(client, shop, key)
        fake_ollama.answer = {
            "answer": "We open at 7 on Fridays, and we have valet parking.",
            "entries": [],
        }

        await _ask(client, runtime, shop, "lior", text="What time do you open on Friday?")

        (reply,) = await _transcript(client, shop, "lior")
        assert "valet" not in reply["text"] and "Automatic" not in reply["text"]
        assert "Thanks for writing to Café Kesher" in reply["text"]
        (candidate,) = await _candidates(client, shop, key)
        assert candidate["reason"] == "unanswered"

    async def test_when_the_language_model_fails_the_entrys_own_answer_is_sent(
        self,
        client: httpx.AsyncClient,
        runtime: Runtime,
        business: tuple[Business, str],
        fake_ollama: Any,
    ) -> None:
        shop, key = business
        await _entries(client, shop, key)
        fake_ollama.answer = {"answer": 42}  # no usable tool call

        await _ask(client, runtime, shop, "omer", text="What time do you open on Friday?")

        (reply,) = await _transcript(client, shop, "omer")
        assert reply["text"].startswith("🤖 Automatic answer:\nSunday to Thursday 9:00-18:00")
