"""Feedback themes through the API: remarks from all three sources, on both backends, named by a
language model when one is configured (and only once for the same remarks)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult

from app.bootstrap import Runtime
from bot.domain import Business
from integrations.llm import LangchainThemeNamer
from tests.integration.conftest import SQLITE_ONLY, running
from tests.seeds import add_remarks, other_business

ASKED: list[str] = []


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def runtime(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Runtime]:  # type: ignore[no-untyped-def]
    """Without the encoder: which messages read as complaints is the fast detector's alone,
    as the hand-worked seed below counts them (the encoder's second look has tests of its own)."""
    async for built in running(request, tmp_path, encoder=False):
        yield built


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _say(client: httpx.AsyncClient, shop: Business, who: str, text: str) -> uuid.UUID:
    response = await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages", json={"customer": who, "text": text}
    )
    assert response.status_code == 200, response.text
    return uuid.UUID(response.json()["customer_id"])


async def _seed(client: httpx.AsyncClient, runtime: Runtime, shop: Business) -> None:
    """Hand-worked: the Hebrew theme "משלוח" holds three remarks (המשלוח folds to משלוח, which
    is written), "delivery" three (two feedback messages and a complaint); the complaint's
    other words and the greeting are in no theme. Six remarks in all, one unthemed."""
    anna = await _say(client, shop, "anna", "Delivery was late this week")
    ben = await _say(client, shop, "ben", "המשלוח הגיע באיחור")
    dana = await _say(client, shop, "dana", "late delivery, cold food")
    await _say(client, shop, "eli", "שלום!")
    now = runtime.services.clock.now()
    async with runtime.services.uow() as uow:
        said = [(anna, 1, "הַמשלוח שלי לא הגיע"), (ben, 2, "משלוח יקר")]
        await add_remarks(uow, shop.id, said, now=now)
        await uow.commit()
    assert dana


@SQLITE_ONLY
async def test_themes_gather_answers_feedback_and_complaints(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _seed(client, runtime, shop)
    await _say(client, shop, "dana", "Where is my delivery?? I want a real person NOW!!!")

    found = await client.get(f"/api/v1/{shop.slug}/insights/themes", headers=_auth(key))

    assert found.status_code == 200
    report = found.json()
    themes = [(t["word"], t["count"], t["customers"]) for t in report["themes"]]
    assert themes == [("delivery", 3, 2), ("משלוח", 3, 2)]
    delivery, hebrew = report["themes"]
    assert delivery["label"] == "delivery" and delivery["summary"] is None
    assert delivery["words"] == ["late"] and hebrew["words"] == ["הגיע"]
    assert [q["source"] for q in delivery["quotes"]] == ["complaint", "feedback", "feedback"]
    assert [q["text"] for q in hebrew["quotes"]] == [
        "המשלוח הגיע באיחור",
        "הַמשלוח שלי לא הגיע",
        "משלוח יקר",
    ]
    # "הגיע באיחור" reports a problem: a complaint, like Dana's in English.
    assert [q["source"] for q in hebrew["quotes"]] == ["complaint", "answer", "answer"]
    assert sum(w["count"] for w in hebrew["weeks"]) == 3
    assert (report["total"], report["unthemed"]) == (7, 1)


@SQLITE_ONLY
async def test_themes_need_an_admin_key_and_count_only_the_business_own(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _seed(client, runtime, shop)
    assert (await client.get(f"/api/v1/{shop.slug}/insights/themes")).status_code == 401
    old = await client.get(
        f"/api/v1/{shop.slug}/insights/themes", params={"weeks": 0}, headers=_auth(key)
    )
    assert old.status_code == 422
    other, other_key = await other_business(runtime)
    empty = await client.get(f"/api/v1/{other.slug}/insights/themes", headers=_auth(other_key))
    assert empty.json() == {"total": 0, "unthemed": 0, "themes": []}


class Naming(GenericFakeChatModel):
    """Names every theme the same and keeps what it was asked (answers from langchain's cache
    never get here)."""

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        ASKED.append(str(messages[-1].content))
        return super()._generate(messages, *args, **kwargs)


@pytest.fixture(params=["sqlite-memory"])
async def named(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Runtime]:  # type: ignore[no-untyped-def]
    ASKED.clear()
    call = {"name": "NameTheme", "args": {"label": "משלוחים  מאחרים", "summary": "לקוחות מחכים."}}
    model = Naming(
        messages=(
            AIMessage(content="", tool_calls=[{**call, "id": f"c{i}"}]) for i in itertools.count()
        )
    )
    async for built in running(request, tmp_path, theme_namer=LangchainThemeNamer(model)):
        yield built


async def test_a_language_model_names_each_theme_once_for_the_same_remarks(
    named: Runtime,
) -> None:
    from app.web.app import create_app

    shop, key = await other_business(named, "named")
    transport = httpx.ASGITransport(app=create_app(named, manage_runtime=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://kesher.test") as client:
        await _seed(client, named, shop)
        url = f"/api/v1/{shop.slug}/insights/themes"
        first = (await client.get(url, params={"lang": "he"}, headers=_auth(key))).json()
        again = (await client.get(url, params={"lang": "he"}, headers=_auth(key))).json()

    assert [(t["label"], t["summary"]) for t in first["themes"]] == [
        ("משלוחים מאחרים", "לקוחות מחכים."),
        ("משלוחים מאחרים", "לקוחות מחכים."),
    ]
    assert again == first
    assert len(ASKED) == 2, "the same remarks are named once"
    assert "late delivery, cold food" in "\n".join(ASKED)


@SQLITE_ONLY
async def test_the_console_shows_each_theme_with_its_quotes_and_a_chart(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    from tests.integration.test_console import _admin

    shop, _ = business
    await _seed(client, runtime, shop)
    await _admin(client, runtime, shop)

    page = await client.get("/console")

    assert page.status_code == 200
    section = page.text[page.text.index('id="themes"') :]
    assert section.count("<svg") == 1 and "<script" not in section
    assert "<bdi>משלוח</bdi>" in section and "3 times, 2 customers" in section
    assert '<q><bdi>משלוח יקר</bdi></q> <span class="muted">(survey answer)</span>' in section
    assert "late delivery, cold food" in section and "this week 2 · last week 0" in section
    assert "Of 6 things customers wrote" in section and "1 fit no theme" in section


async def test_a_request_for_a_person_and_a_neutral_question_are_not_quoted_as_complaints(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    """Both are found frustrated and handed off (the question for the handoff still open),
    yet neither reads as a complaint: they are quoted as feedback; a late delivery is one."""
    shop, key = business
    await _say(client, shop, "sam", "אני רוצה לדבר עם נציג לגבי המשלוח")
    await _say(client, shop, "sam", "עוד שאלה: אפשר לשנות כתובת משלוח?")
    await _say(client, shop, "dana", "המשלוח הגיע באיחור")

    found = await client.get(f"/api/v1/{shop.slug}/insights/themes", headers=_auth(key))

    assert found.status_code == 200
    (theme,) = [t for t in found.json()["themes"] if t["word"] == "משלוח"]
    sources = {q["text"]: q["source"] for q in theme["quotes"]}
    assert sources == {
        "המשלוח הגיע באיחור": "complaint",
        "עוד שאלה: אפשר לשנות כתובת משלוח?": "feedback",
        "אני רוצה לדבר עם נציג לגבי המשלוח": "feedback",
    }
