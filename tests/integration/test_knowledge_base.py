"""Keeping the knowledge base: the REST API and the console page (SQLite only: shapes and
pages), vectors computed when an entry is saved and again only when its words change, and a
question whose job was lost answered by the scheduler's minute."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import httpx

from app.bootstrap import Runtime
from bot.domain import Business, ChannelName, Inbound, KnowledgeQuestion, QuestionStatus
from bot.inbound.pipeline import handle_inbound
from bot.jobs import Job
from bot.knowledge import answering
from bot.knowledge.entries import EntryKind, EntryTexts, add_entry, change_entry
from bot.ports import Embedding
from tests.integration.conftest import SQLITE_ONLY, settled
from tests.integration.test_console import _admin
from tests.integration.test_inbox import _hidden

pytestmark = SQLITE_ONLY

PARKING = {"kind": "fact", "question_en": "Parking", "answer_en": "Free, behind the building."}


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_entries_are_added_read_changed_and_deleted_through_the_api(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    url = f"/api/v1/{shop.slug}/knowledge"

    made = await client.post(url, json=PARKING, headers=_auth(key))
    assert made.status_code == 201, made.text
    entry = made.json()
    assert entry["encoded"] is True and entry["question_en"] == "Parking"
    changed = await client.put(
        f"{url}/{entry['id']}",
        json={**PARKING, "question_he": "  חניה  ", "answer_he": "חינם, מאחורי הבניין."},
        headers=_auth(key),
    )
    assert changed.status_code == 200 and changed.json()["question_he"] == "חניה"
    assert [e["id"] for e in (await client.get(url, headers=_auth(key))).json()] == [entry["id"]]
    gone = await client.delete(f"{url}/{entry['id']}", headers=_auth(key))
    assert gone.status_code == 204
    again = await client.get(f"{url}/{entry['id']}", headers=_auth(key))
    assert again.status_code == 404 and again.json()["error"]["code"] == "unknown_entry"


async def test_an_entry_without_a_whole_question_and_answer_is_refused_clearly(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    url = f"/api/v1/{shop.slug}/knowledge"

    empty = await client.post(url, json={}, headers=_auth(key))
    half = await client.post(url, json={"question_he": "חניה?"}, headers=_auth(key))
    long = await client.post(
        url, json={"question_en": "x" * 301, "answer_en": "y"}, headers=_auth(key)
    )

    assert empty.status_code == 400 and empty.json()["error"]["code"] == "invalid_entry"
    assert half.status_code == 400 and "go together" in half.json()["error"]["message"]
    assert long.status_code == 422


class CountingEncoder:
    """Counts what it is asked to encode; every text gets the same vector."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def embed(self, texts: Sequence[str], *, query: bool = False) -> list[Embedding]:
        self.texts.extend(texts)
        return [(1.0, 0.0) for _ in texts]


async def test_vectors_are_computed_when_saved_and_again_only_when_the_words_change(
    runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    encoder = CountingEncoder()
    now = runtime.services.clock.now()
    texts = EntryTexts(
        question_he="חניה", answer_he="מאחורי הבניין", question_en="Parking", answer_en="Behind"
    )

    async with runtime.services.uow() as uow:
        entry = await add_entry(uow, shop, EntryKind.FACT, texts, encoder=encoder, now=now)
        assert encoder.texts == ["חניה\nמאחורי הבניין", "Parking\nBehind"]
        kept = await change_entry(
            uow, shop, entry.id, EntryKind.QUESTION, texts, encoder=encoder, now=now
        )
        assert len(encoder.texts) == 2 and kept.kind == "question"
        redone = await change_entry(
            uow,
            shop,
            entry.id,
            EntryKind.FACT,
            replace(texts, answer_en="Free"),
            encoder=encoder,
            now=now,
        )
        await uow.commit()
    assert encoder.texts[2:] == ["חניה\nמאחורי הבניין", "Parking\nFree"]
    assert redone.vectors == ((1.0, 0.0), (1.0, 0.0))


class LosingQueue:
    """A task queue that loses every job, as a Redis restart might."""

    async def enqueue(self, job: Job) -> None:
        return None


async def test_a_question_whose_job_was_lost_is_answered_by_the_minutes_sweep(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await client.post(f"/api/v1/{shop.slug}/knowledge", json=PARKING, headers=_auth(key))
    services = runtime.services
    inbound = Inbound(
        channel=ChannelName.SANDBOX,
        delivery_id="lost-1",
        address="ella",
        received_at=services.clock.now(),
        text="Is there parking?",
    )
    handled = await handle_inbound(shop, inbound, replace(services, queue=LosingQueue()))
    assert handled.replies == ()
    soon = services.clock.now() + timedelta(seconds=30)
    assert await answering.sweep(services, now=soon) == 0  # its job may still be running

    later = services.clock.now() + timedelta(minutes=3)
    assert await answering.sweep(services, now=later) == 1
    await settled(runtime)

    async with services.uow() as uow:
        question = await uow.questions.for_message(handled.message_id)
        (reply,) = await uow.messages.replies_to(handled.message_id)
    assert question is not None and question.status is QuestionStatus.ANSWERED
    assert "Free, behind the building." in reply.text
    assert await answering.sweep(services, now=later) == 0
    assert await answering.answer_question(shop.id, handled.message_id, services) is (
        QuestionStatus.ANSWERED
    )
    async with services.uow() as uow:
        assert len(await uow.messages.replies_to(handled.message_id)) == 1  # once


async def test_an_admin_keeps_the_knowledge_base_in_the_console_in_hebrew(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    csrf = await _admin(client, runtime, shop, language="he")

    page = await client.get("/console/knowledge")
    assert page.status_code == 200 and 'dir="rtl"' in page.text and "מאגר ידע" in page.text
    added = await client.post(
        "/console/knowledge",
        data={"csrf": csrf, "kind": "fact", "question_he": "חניה", "answer_he": "מאחורי הבניין"},
    )
    assert added.status_code == 303
    refused = await client.post(
        "/console/knowledge", data={"csrf": csrf, "kind": "fact", "question_he": "רק שאלה"}
    )
    assert refused.status_code == 200 and "צריך שאלה ותשובה" in refused.text
    assert 'value="רק שאלה"' in refused.text  # what was typed is kept
    async with runtime.services.uow() as uow:
        (entry,) = await uow.knowledge.list(shop.id)
    edited = await client.post(
        f"/console/knowledge/{entry.id}",
        data={
            "csrf": csrf,
            "kind": "fact",
            "question_he": "חניה",
            "answer_he": "חינם, מאחורי הבניין",
        },
    )
    assert edited.status_code == 303
    assert "חינם, מאחורי הבניין" in (await client.get("/console/knowledge")).text
    unticked = await client.post(f"/console/knowledge/{entry.id}/delete", data={"csrf": csrf})
    assert unticked.status_code == 200 and 'role="alert"' in unticked.text
    deleted = await client.post(
        f"/console/knowledge/{entry.id}/delete", data={"csrf": csrf, "confirm": "on"}
    )
    assert deleted.status_code == 303
    async with runtime.services.uow() as uow:
        assert await uow.knowledge.list(shop.id) == []
    unknown = await client.post(
        "/console/knowledge/99999/delete", data={"csrf": csrf, "confirm": "on"}
    )
    assert unknown.status_code == 200 and 'role="alert"' in unknown.text


async def test_candidates_are_listed_in_the_console_with_a_way_to_make_an_entry(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await client.post(f"/api/v1/{shop.slug}/knowledge", json=PARKING, headers=_auth(key))
    await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages",
        json={"customer": "yael", "text": "Do you sell gift cards?"},
    )
    await settled(runtime)
    await _admin(client, runtime, shop)

    page = await client.get("/console/knowledge")

    assert 'data-reason="unanswered"' in page.text and "Do you sell gift cards?" in page.text
    (question,) = await _questions(runtime, shop)
    form = await client.get(
        "/console/knowledge",
        params={"ask": "Do you sell gift cards?", "candidate": str(question.message_id)},
    )
    assert (
        'name="question_en" maxlength="300" dir="ltr" lang="en" value="Do you sell gift cards?"'
        in form.text
    )
    assert _hidden(form.text, "candidate") == str(question.message_id)
    made = await client.post(
        "/console/knowledge",
        data={
            "csrf": _hidden(form.text, "csrf"),
            "kind": "question",
            "question_en": "Do you sell gift cards?",
            "answer_en": "Yes, at the counter.",
            "candidate": _hidden(form.text, "candidate"),
        },
    )
    assert made.status_code == 303
    page = await client.get("/console/knowledge")
    assert 'data-reason="unanswered"' not in page.text  # the new entry answers it


async def test_a_candidate_is_dismissed_from_the_console(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await client.post(f"/api/v1/{shop.slug}/knowledge", json=PARKING, headers=_auth(key))
    await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages",
        json={"customer": "yoni", "text": "Are you hiring?"},
    )
    await settled(runtime)
    csrf = await _admin(client, runtime, shop)
    (question,) = await _questions(runtime, shop)

    dismissed = await client.post(
        f"/console/knowledge/candidates/{question.message_id}/dismiss", data={"csrf": csrf}
    )
    unknown = await client.post(
        "/console/knowledge/candidates/99999999999/dismiss", data={"csrf": csrf}
    )

    assert dismissed.status_code == 303
    assert "Are you hiring?" not in (await client.get("/console/knowledge")).text
    assert unknown.status_code == 200 and 'role="alert"' in unknown.text


async def _questions(runtime: Runtime, shop: Business) -> list[KnowledgeQuestion]:
    async with runtime.services.uow() as uow:
        return list(await uow.questions.candidates(shop.id, limit=10))
