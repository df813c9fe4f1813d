"""A language model is asked about messages the offline detector is unsure of, and never holds us up."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from bot.domain import Business, Opinion
from integrations.llm import LangchainSecondOpinion, LangchainSummarizer, chat_model

UNSURE_HEBREW = "למה אתם סגורים בשישי?"


def _answers(*args: dict[str, Any]) -> GenericFakeChatModel:
    """A fake chat model that answers each call with one record_opinion tool call."""
    return GenericFakeChatModel(
        messages=iter(
            AIMessage(content="", tool_calls=[{"name": "RecordOpinion", "args": a, "id": f"c{i}"}])
            for i, a in enumerate(args)
        )
    )


class SlowModel(GenericFakeChatModel):
    async def ainvoke(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(5)
        return await super().ainvoke(*args, **kwargs)


async def test_a_tool_call_answer_becomes_an_opinion() -> None:
    model = _answers(
        {"score": 0.2, "wants_person": False, "reason": "asks opening hours", "topic": "hours"}
    )

    opinion = await LangchainSecondOpinion(model).review(UNSURE_HEBREW, language="he")

    assert opinion == Opinion(
        score=0.2, wants_person=False, reason="asks opening hours", topic="hours"
    )


async def test_a_slow_model_times_out_and_the_offline_verdict_stands() -> None:
    model = SlowModel(messages=iter([AIMessage(content="late")]))

    started = asyncio.get_running_loop().time()
    assert await LangchainSecondOpinion(model, timeout=0.2).review("hi", language="en") is None
    assert asyncio.get_running_loop().time() - started < 2


@pytest.mark.parametrize(
    "answer",
    [
        AIMessage(content="I think they are angry"),
        AIMessage(
            content="", tool_calls=[{"name": "RecordOpinion", "args": {"score": 7}, "id": "x"}]
        ),
    ],
)
async def test_an_answer_without_a_valid_tool_call_is_ignored(answer: AIMessage) -> None:
    model = GenericFakeChatModel(messages=iter([answer]))
    assert await LangchainSecondOpinion(model).review("hi", language="en") is None


async def test_a_summary_is_the_models_words_tidied_and_kept_short() -> None:
    model = GenericFakeChatModel(
        messages=iter([AIMessage(content="  Late order.\n\nWants " + "a" * 900)])
    )

    summary = await LangchainSummarizer(model).summarize(["customer: hi"], language="he")

    assert summary is not None and summary.startswith("Late order. Wants aaa")
    assert len(summary) == 600


async def test_a_slow_or_failing_summary_is_none_and_no_error() -> None:
    slow = SlowModel(messages=iter([AIMessage(content="late")]))
    broken = GenericFakeChatModel(messages=iter([]))

    assert await LangchainSummarizer(slow, timeout=0.2).summarize(["x"], language="en") is None
    assert await LangchainSummarizer(broken).summarize(["x"], language="en") is None


def test_an_unknown_provider_or_missing_package_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="provider:model"):
        chat_model("gpt-4o")
    with pytest.raises(ValueError, match="pip install 'kesher\\[llm\\]'"):
        chat_model("openai:gpt-4o-mini")


async def test_ollama_through_langchain_gives_its_opinion_from_one_tool_call(
    fake_ollama: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    fake_ollama.opinion = {
        "score": 0.7,
        "wants_person": False,
        "reason": "closed on Friday",
        "topic": "hours",
    }

    opinion = await LangchainSecondOpinion(chat_model("ollama:kesher-test")).review(
        UNSURE_HEBREW, language="he"
    )

    assert opinion == Opinion(
        score=0.7, wants_person=False, reason="closed on Friday", topic="hours"
    )
    (call,) = fake_ollama.calls
    assert call["model"] == "kesher-test"
    assert [t["function"]["name"] for t in call["tools"]] == ["RecordOpinion"]
    assert call["messages"][-1] == {"role": "user", "content": UNSURE_HEBREW}


async def test_a_slow_ollama_times_out_and_the_offline_verdict_stands(
    fake_ollama: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    fake_ollama.delay = 3.0
    second_opinion = LangchainSecondOpinion(chat_model("ollama:kesher-test"), timeout=0.3)

    started = asyncio.get_running_loop().time()
    assert await second_opinion.review(UNSURE_HEBREW, language="he") is None
    assert asyncio.get_running_loop().time() - started < 2
    assert len(fake_ollama.calls) == 1 and fake_ollama.answered == 0


@pytest.fixture
async def reviewed(sqlite_database: str):  # type: ignore[no-untyped-def]
    """Kesher on SQLite with a fake model as its second opinion and no encoder, and a business."""
    from app.bootstrap import build
    from app.web.app import create_app
    from bot.accounts.businesses import create_business
    from tests.integration.conftest import _settings

    model = _answers(
        {"score": 0.9, "wants_person": True, "reason": "wants a callback", "topic": "hours"}
    )
    runtime = build(
        # The language model alone, on the band it uses without the encoder (the encoder first,
        # then the model on what is still uncertain: tests/integration/test_encoder_review.py).
        _settings(database_url=sqlite_database, encoder=False),
        second_opinion=LangchainSecondOpinion(model),
    )
    await runtime.start()
    async with runtime.services.uow() as uow:
        shop, key = await create_business(
            uow, "shop", name="Shop", sandbox=True, now=runtime.services.clock.now()
        )
        await uow.commit()
    transport = httpx.ASGITransport(app=create_app(runtime, manage_runtime=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://kesher.test") as http:
        yield http, shop, key
    await runtime.stop()


async def test_an_unsure_message_is_reviewed_after_it_is_stored_and_the_review_is_kept(
    reviewed: tuple[httpx.AsyncClient, Business, str],
) -> None:
    client, shop, key = reviewed
    response = await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages", json={"customer": "ziv", "text": UNSURE_HEBREW}
    )
    assert response.status_code == 200
    customer_id = response.json()["customer_id"]
    auth = {"Authorization": f"Bearer {key}"}
    items = (
        await client.get(f"/api/v1/{shop.slug}/customers/{customer_id}/timeline", headers=auth)
    ).json()["items"]

    (event,) = [i for i in items if i["type"] == "event" and i["kind"] == "frustration_detected"]
    assert event["data"]["source"] == "second_opinion" and event["data"]["topic"] == "hours"
    (inbound,) = [i for i in items if i["type"] == "message" and i["direction"] == "in"]
    assert inbound["frustration"] == 0.9
    assert inbound["reasons"][-1] == "second opinion 0.90: wants a callback"
    # The model heard a wish for a person the offline detector was unsure of: handed off.
    (opened,) = [i for i in items if i["type"] == "event" and i["kind"] == "handoff_requested"]
    assert opened["data"]["trigger"] == "request"
    replies = [i for i in items if i["type"] == "message" and i["direction"] == "out"]
    assert any("צוות של Shop" in i["text"] for i in replies), replies
    # The bot's reply left first, then the acknowledgement, both before the sandbox answered
    # (the acknowledgement once waited 10 s behind a reply not yet queued).
    assert [i["status"] for i in replies] == ["delivered", "delivered"], replies


async def test_a_sure_message_is_not_sent_for_review(
    reviewed: tuple[httpx.AsyncClient, Business, str],
) -> None:
    client, shop, key = reviewed
    response = await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages",
        json={"customer": "ori", "text": "thank you so much!"},
    )
    customer_id = response.json()["customer_id"]
    items = (
        await client.get(
            f"/api/v1/{shop.slug}/customers/{customer_id}/timeline",
            headers={"Authorization": f"Bearer {key}"},
        )
    ).json()["items"]

    (inbound,) = [i for i in items if i["type"] == "message" and i["direction"] == "in"]
    assert not any("second opinion" in r for r in inbound["reasons"])
