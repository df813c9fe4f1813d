"""Customers talk to a business's Telegram bot: verified, stored once, answered through the Bot API.

The Bot API is a fake on loopback (tests/fakes/telegram_api.py) that python-telegram-bot talks
to over real HTTP; each test runs on SQLite + memory and on PostgreSQL + Redis.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.bootstrap import Runtime
from bot.domain import (
    Business,
    ChannelName,
    Choice,
    DeliveryStatus,
    Direction,
    OutboxKind,
    OutboxStatus,
    Rate,
)
from bot.outbound.outbox import MAX_ATTEMPTS, send_outbound
from integrations.telegram import TelegramChannel
from storage.memory import MemoryRateLimiter
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.integration.conftest import running, settled

PUBLIC = "https://kesher.example"
TELEGRAM = ChannelName.TELEGRAM
_ids = itertools.count(500_000_000)


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def runtime(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest, tmp_path, fake_telegram: FakeTelegram
) -> AsyncIterator[Runtime]:
    async for built in running(
        request, tmp_path, telegram_api_url=fake_telegram.url, public_url=PUBLIC
    ):
        yield built


@dataclasses.dataclass
class Shop:
    business: Business
    key: str
    secret: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
async def shop(client: httpx.AsyncClient, business: tuple[Business, str], runtime: Runtime) -> Shop:
    found, key = business
    response = await client.put(
        f"/api/v1/{found.slug}/channels/telegram",
        json={"token": TOKEN},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
    async with runtime.services.uow() as uow:
        account = await uow.accounts.get(found.id, TELEGRAM)
    assert account is not None
    return Shop(found, key, account.secret("webhook_secret"))


def _user(chat: int, first_name: str = "Dana") -> dict[str, Any]:
    return {"id": chat, "is_bot": False, "first_name": first_name, "language_code": "en"}


def _chat(chat: int, first_name: str = "Dana") -> dict[str, Any]:
    return {"id": chat, "type": "private", "first_name": first_name}


def message(chat: int, text: str, *, message_id: int = 1, first_name: str = "Dana") -> dict:
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": message_id,
            "from": _user(chat, first_name),
            "chat": _chat(chat, first_name),
            "date": 1735725600,
            "text": text,
        },
    }


def tap(chat: int, data: str, *, message_id: int, label: str = "7") -> dict:
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": f"cb-{next(_ids)}",
            "from": _user(chat),
            "chat_instance": "-42",
            "data": data,
            "message": {
                "message_id": message_id,
                "from": {"id": 123456789, "is_bot": True, "first_name": "Kesher Test"},
                "chat": _chat(chat),
                "date": 1735725600,
                "text": "How likely are you to recommend us?",
                "reply_markup": {"inline_keyboard": [[{"text": label, "callback_data": data}]]},
            },
        },
    }


def membership(chat: int, old: str, new: str) -> dict:
    bot = {"id": 123456789, "is_bot": True, "first_name": "Kesher Test"}
    return {
        "update_id": next(_ids),
        "my_chat_member": {
            "chat": _chat(chat),
            "from": _user(chat),
            "date": 1735726000,
            "old_chat_member": {"user": bot, "status": old},
            "new_chat_member": {"user": bot, "status": new},
        },
    }


async def post(
    client: httpx.AsyncClient, shop: Shop, update: dict, *, secret: str | bytes | None = ""
) -> httpx.Response:
    headers: dict[str, str | bytes] = {}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret or shop.secret
    return await client.post(
        f"/webhooks/telegram/{shop.business.slug}", json=update, headers=headers
    )


async def sent(fake: FakeTelegram, count: int, method: str = "sendMessage") -> list[dict]:
    """The calls of `method` once there are `count` (a worker may still be sending)."""
    for _ in range(200):
        if len(fake.called(method)) >= count:
            break
        await asyncio.sleep(0.025)
    await asyncio.sleep(0.05)
    return fake.called(method)


async def customer(client: httpx.AsyncClient, shop: Shop, chat: int) -> dict:
    response = await client.get(
        f"/api/v1/{shop.business.slug}/customers",
        params={"channel": "telegram", "address": str(chat)},
        headers=shop.auth,
    )
    assert response.status_code == 200, response.text
    (found,) = response.json()["customers"]
    return found


async def timeline(client: httpx.AsyncClient, shop: Shop, customer_id: str) -> list[dict]:
    response = await client.get(
        f"/api/v1/{shop.business.slug}/customers/{customer_id}/timeline", headers=shop.auth
    )
    return response.json()["items"]


async def queue_reply(
    runtime: Runtime, shop: Shop, chat: int, text: str, choices: tuple[Choice, ...] = ()
) -> int:
    """An outbox row to an existing chat, as a check-in or an agent's reply would be."""
    services = runtime.services
    now = services.clock.now()
    async with services.uow() as uow:
        identity = await uow.identities.find(shop.business.id, TELEGRAM, str(chat))
        assert identity is not None
        conversation = await uow.conversations.open_for(identity.id)
        assert conversation is not None
        reply = await uow.messages.add(
            shop.business.id,
            conversation=conversation,
            direction=Direction.OUT,
            channel=TELEGRAM,
            text=text,
            status=DeliveryStatus.QUEUED,
            created_at=now,
            choices=choices,
        )
        item = await uow.outbox.add(
            shop.business.id,
            message_id=reply.id,
            kind=OutboxKind.REPLY,
            idempotency_key=f"test:{reply.id}",
            due_at=now,
        )
        await uow.commit()
    return item.id


async def test_a_customer_message_is_stored_and_answered_through_the_bot_api(
    client: httpx.AsyncClient, shop: Shop, fake_telegram: FakeTelegram
) -> None:
    response = await post(client, shop, message(1001, "Hi, are you open on Friday?"))

    assert response.status_code == 200, response.text
    (reply,) = await sent(fake_telegram, 1)
    assert reply["chat_id"] == 1001
    assert "Thanks for writing to Café Kesher" in reply["text"]
    assert "parse_mode" not in reply
    found = await customer(client, shop, 1001)
    assert found["name"] == "Dana" and found["language"] == "en"
    items = await timeline(client, shop, found["id"])
    assert [(i["direction"], i["status"]) for i in items if i["type"] == "message"] == [
        ("in", "received"),
        ("out", "sent"),
    ]


async def test_an_update_without_the_secret_or_with_a_wrong_one_is_refused_and_nothing_stored(
    client: httpx.AsyncClient, shop: Shop, fake_telegram: FakeTelegram
) -> None:
    missing = await post(client, shop, message(1002, "hi"), secret=None)
    wrong = await post(client, shop, message(1002, "hi"), secret=shop.secret + "x")
    not_ascii = await post(client, shop, message(1002, "hi"), secret="סוד".encode())

    for response in (missing, wrong, not_ascii):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "bad_secret"
    listed = await client.get(f"/api/v1/{shop.business.slug}/customers", headers=shop.auth)
    assert listed.json()["customers"] == []
    assert fake_telegram.called("sendMessage") == []


async def test_a_duplicated_update_is_stored_once_and_answered_once(
    client: httpx.AsyncClient, shop: Shop, fake_telegram: FakeTelegram
) -> None:
    update = message(1003, "my order never came")

    first = await post(client, shop, update)
    again = await post(client, shop, update)
    crowd = await asyncio.gather(*(post(client, shop, update) for _ in range(20)))

    assert {r.status_code for r in (first, again, *crowd)} == {200}
    await sent(fake_telegram, 2)
    assert len(fake_telegram.called("sendMessage")) == 1
    items = await timeline(client, shop, (await customer(client, shop, 1003))["id"])
    assert [i["direction"] for i in items if i["type"] == "message"] == ["in", "out"]


async def test_bad_json_is_400_unknown_updates_are_ignored_and_unknown_places_are_404(
    client: httpx.AsyncClient, shop: Shop, fake_telegram: FakeTelegram
) -> None:
    slug = shop.business.slug
    headers = {"X-Telegram-Bot-Api-Secret-Token": shop.secret}
    bad = await client.post(f"/webhooks/telegram/{slug}", content=b"{not json", headers=headers)
    inline = {
        "update_id": next(_ids),
        "inline_query": {"id": "1", "from": _user(7), "query": "x", "offset": ""},
    }
    ignored = await post(client, shop, inline)
    group = message(-100200, "hello group")
    group["message"]["chat"] = {"id": -100200, "type": "supergroup", "title": "Fans"}
    in_group = await post(client, shop, group)
    nobody = await client.post("/webhooks/telegram/no-such-shop", json=message(1, "x"))

    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    assert ignored.status_code == 200 and in_group.status_code == 200
    assert nobody.status_code == 404
    listed = await client.get(f"/api/v1/{slug}/customers", headers=shop.auth)
    assert listed.json()["customers"] == []
    assert fake_telegram.called("sendMessage") == []


async def test_a_voice_message_is_noted_and_answered_politely(
    client: httpx.AsyncClient, shop: Shop, fake_telegram: FakeTelegram
) -> None:
    update = message(1004, "")
    del update["message"]["text"]
    update["message"]["voice"] = {"file_id": "v1", "file_unique_id": "u1", "duration": 3}

    assert (await post(client, shop, update)).status_code == 200

    (reply,) = await sent(fake_telegram, 1)
    assert "I can only read text" in reply["text"]
    items = await timeline(client, shop, (await customer(client, shop, 1004))["id"])
    assert next(i["text"] for i in items if i["type"] == "message") == "[voice]"


async def test_an_edited_message_is_recorded_as_an_edit_of_the_original_and_not_answered(
    client: httpx.AsyncClient, shop: Shop, fake_telegram: FakeTelegram, runtime: Runtime
) -> None:
    await post(client, shop, message(1005, "what time do you open", message_id=77))
    await sent(fake_telegram, 1)
    edit = message(1005, "what time do you open on Friday", message_id=77)
    edit["edited_message"] = {**edit.pop("message"), "edit_date": 1735725700}

    assert (await post(client, shop, edit)).status_code == 200

    await settled(runtime)
    assert len(fake_telegram.called("sendMessage")) == 1
    items = await timeline(client, shop, (await customer(client, shop, 1005))["id"])
    inbound = [i for i in items if i["type"] == "message" and i["direction"] == "in"]
    assert len(inbound) == 1
    assert inbound[0]["text"] == "what time do you open"
    assert inbound[0]["edited_text"] == "what time do you open on Friday"
    assert inbound[0]["edited_at"] is not None


async def test_a_button_tap_is_answered_its_buttons_removed_and_a_second_tap_ignored(
    client: httpx.AsyncClient, shop: Shop, fake_telegram: FakeTelegram, runtime: Runtime
) -> None:
    await post(client, shop, message(1006, "hello"))
    await sent(fake_telegram, 1)
    scale = tuple(Choice(id=str(n), label=str(n)) for n in range(11))
    item = await queue_reply(runtime, shop, 1006, "How likely are you to recommend us?", scale)
    assert await send_outbound(item, runtime.services) is OutboxStatus.SENT
    question = fake_telegram.called("sendMessage")[1]
    rows = question["reply_markup"]["inline_keyboard"]
    assert [len(row) for row in rows] == [6, 5]
    assert [b["callback_data"] for row in rows for b in row] == [str(n) for n in range(11)]
    asked = int(fake_telegram.calls[-1].params.get("message_id", 0) or 0) or None
    async with runtime.services.uow() as uow:
        asked = int(
            (await uow.messages.get((await uow.outbox.get(item)).message_id)).channel_message_id
        )

    first = tap(1006, "7", message_id=asked)
    second = tap(1006, "9", message_id=asked, label="9")
    assert (await post(client, shop, first)).status_code == 200
    assert (await post(client, shop, second)).status_code == 200

    answered = await sent(fake_telegram, 2, "answerCallbackQuery")
    assert [a["callback_query_id"] for a in answered] == [
        first["callback_query"]["id"],
        second["callback_query"]["id"],
    ]
    edits = fake_telegram.called("editMessageReplyMarkup")
    assert edits and all(e["message_id"] == asked and "reply_markup" not in e for e in edits)
    await sent(fake_telegram, 3)
    assert len(fake_telegram.called("sendMessage")) == 3
    items = await timeline(client, shop, (await customer(client, shop, 1006))["id"])
    inbound = [i["text"] for i in items if i["type"] == "message" and i["direction"] == "in"]
    assert inbound == ["hello", "7"]


async def test_blocking_makes_the_chat_unreachable_and_unblocking_reachable_again(
    client: httpx.AsyncClient, shop: Shop, fake_telegram: FakeTelegram, runtime: Runtime
) -> None:
    await post(client, shop, message(1007, "hello"))
    await sent(fake_telegram, 1)

    assert (await post(client, shop, membership(1007, "member", "kicked"))).status_code == 200
    found = await customer(client, shop, 1007)
    assert found["identities"][0]["reachable"] is False
    item = await queue_reply(runtime, shop, 1007, "We miss you!")
    assert await send_outbound(item, runtime.services) is OutboxStatus.SKIPPED
    assert len(fake_telegram.called("sendMessage")) == 1

    assert (await post(client, shop, membership(1007, "kicked", "member"))).status_code == 200
    found = await customer(client, shop, 1007)
    assert found["identities"][0]["reachable"] is True
    kinds = [i["kind"] for i in await timeline(client, shop, found["id"]) if i["type"] == "event"]
    assert kinds[-2:] == ["channel_blocked", "channel_unblocked"]

    # Blocked again, and the unblock update lost: writing to the bot says it is unblocked.
    await post(client, shop, membership(1007, "member", "kicked"))
    assert (await post(client, shop, message(1007, "are you there?"))).status_code == 200
    found = await customer(client, shop, 1007)
    assert found["identities"][0]["reachable"] is True
    await sent(fake_telegram, 2)


async def test_start_with_a_deep_link_joins_the_chat_to_the_existing_customer(
    client: httpx.AsyncClient, shop: Shop, fake_telegram: FakeTelegram
) -> None:
    slug = shop.business.slug
    created = await client.post(
        f"/api/v1/{slug}/customers",
        json={"external_id": "m-1", "name": "Maya Cohen", "language": "he"},
        headers=shop.auth,
    )
    maya = created.json()
    link = await client.post(
        f"/api/v1/{slug}/customers/{maya['id']}/telegram-link", headers=shop.auth
    )
    assert link.status_code == 200, link.text
    url = link.json()["url"]
    assert url.startswith("https://t.me/kesher_test_bot?start=c_")
    payload = url.split("start=")[1]

    assert (await post(client, shop, message(1008, f"/start {payload}"))).status_code == 200

    joined = await customer(client, shop, 1008)
    assert joined["id"] == maya["id"] and joined["name"] == "Maya Cohen"
    (greeting,) = await sent(fake_telegram, 1)
    assert "Maya Cohen" in greeting["text"] and "כאן כותבים ל־" in greeting["text"]
    # The link is single use: a forwarded copy is told so, and joins or makes nothing.
    await post(client, shop, message(1009, f"/start {payload}"))
    (_, refused) = await sent(fake_telegram, 2)
    assert refused["chat_id"] == 1009 and "already used or has expired" in refused["text"]
    listed = await client.get(
        f"/api/v1/{slug}/customers",
        params={"channel": "telegram", "address": "1009"},
        headers=shop.auth,
    )
    assert listed.json()["customers"] == []


async def test_stop_opts_out_help_explains_and_start_opts_back_in(
    client: httpx.AsyncClient, shop: Shop, fake_telegram: FakeTelegram
) -> None:
    await post(client, shop, message(1010, "/help"))
    await post(client, shop, message(1010, "/stop"))
    await post(client, shop, message(1010, "are you there?"))
    stopped = await customer(client, shop, 1010)
    await post(client, shop, message(1010, "/start"))

    replies = [r["text"] for r in await sent(fake_telegram, 4)]
    assert len(replies) == 4
    assert "/stop ends our messages" in replies[0]
    assert "You are unsubscribed" in replies[1]
    # Opted out of proactive messages, the customer who writes is still answered.
    assert "A person from the team will answer you here" in replies[2]
    assert "Welcome back" in replies[3]
    assert stopped["opted_out"] is True
    assert (await customer(client, shop, 1010))["opted_out"] is False


async def test_a_long_reply_is_split_at_4096_and_a_name_with_markdown_characters_arrives_intact(
    client: httpx.AsyncClient, shop: Shop, fake_telegram: FakeTelegram, runtime: Runtime
) -> None:
    await post(client, shop, message(1011, "hi", first_name="Dana_*[x]`"))
    (greeting,) = await sent(fake_telegram, 1)
    assert "Hi Dana_*[x]`!" in greeting["text"] and "parse_mode" not in greeting

    paragraph = "word " * 700
    text = "\n\n".join([paragraph.strip()] * 3)
    item = await queue_reply(runtime, shop, 1011, text, (Choice("yes", "Yes"),))
    assert await send_outbound(item, runtime.services) is OutboxStatus.SENT

    parts = fake_telegram.called("sendMessage")[1:]
    assert len(parts) == 3
    assert all(len(p["text"]) <= 4096 for p in parts)
    assert " ".join(p["text"] for p in parts).split() == text.split()
    assert [("reply_markup" in p) for p in parts] == [False, False, True]


async def test_a_429_is_retried_after_its_retry_after_and_then_sent(
    client: httpx.AsyncClient, shop: Shop, fake_telegram: FakeTelegram, runtime: Runtime
) -> None:
    await post(client, shop, message(1012, "hi"))
    await sent(fake_telegram, 1)
    fake_telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 30", retry_after=30)
    item = await queue_reply(runtime, shop, 1012, "How was your visit?")
    clock = _Clock(runtime.services.clock.now())
    services = dataclasses.replace(runtime.services, clock=clock)

    assert await send_outbound(item, services) is OutboxStatus.PENDING
    async with services.uow() as uow:
        waiting = await uow.outbox.get(item)
    assert waiting.next_attempt_at >= clock.at + timedelta(seconds=30)
    assert await send_outbound(item, services) is None
    clock.at = waiting.next_attempt_at
    assert await send_outbound(item, services) is OutboxStatus.SENT
    assert [c["text"] for c in fake_telegram.called("sendMessage")[1:]] == [
        "How was your visit?"
    ] * 2


async def test_a_429_asking_for_a_second_is_waited_out_and_sent_by_the_same_task(
    client: httpx.AsyncClient, shop: Shop, fake_telegram: FakeTelegram, runtime: Runtime
) -> None:
    await post(client, shop, message(1015, "hi"))
    await sent(fake_telegram, 1)
    fake_telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    item = await queue_reply(runtime, shop, 1015, "How was your visit?")
    loop = asyncio.get_running_loop()
    started = loop.time()

    assert await send_outbound(item, runtime.services) is OutboxStatus.SENT

    assert loop.time() - started >= 1
    assert [c["text"] for c in fake_telegram.called("sendMessage")[1:]] == [
        "How was your visit?"
    ] * 2
    async with runtime.services.uow() as uow:
        assert (await uow.outbox.get(item)).status is OutboxStatus.SENT


async def test_a_reply_with_no_turn_soon_under_the_bots_limit_waits_without_using_attempts(
    client: httpx.AsyncClient, shop: Shop, fake_telegram: FakeTelegram, runtime: Runtime
) -> None:
    for chat in (1013, 1014):
        await post(client, shop, message(chat, "hi"))
    await sent(fake_telegram, 2)
    # One message a minute for the whole bot, and no send may wait more than a second for it.
    slow = TelegramChannel(
        fake_telegram.url,
        limiter=MemoryRateLimiter(),
        bot_rate=Rate(count=1, per=timedelta(minutes=1)),
        chat_rate=Rate(count=100, per=timedelta(seconds=1)),
        max_wait=1,
    )
    first = await queue_reply(runtime, shop, 1013, "Thanks for your visit")
    held = await queue_reply(runtime, shop, 1014, "How was your visit?")
    clock = _Clock(runtime.services.clock.now())
    services = dataclasses.replace(
        runtime.services, clock=clock, channels={**runtime.services.channels, TELEGRAM: slow}
    )

    assert await send_outbound(first, services) is OutboxStatus.SENT
    # Far more tries than MAX_ATTEMPTS: a message held back by Kesher's own pacing is never
    # given up on.
    for _ in range(MAX_ATTEMPTS + 2):
        assert await send_outbound(held, services) is OutboxStatus.PENDING
        async with services.uow() as uow:
            waiting = await uow.outbox.get(held)
        assert waiting.attempts == 0
        assert "rate limits" in (waiting.last_error or "")
        assert waiting.next_attempt_at >= clock.at + timedelta(seconds=1)
        clock.at = waiting.next_attempt_at

    assert [c["text"] for c in fake_telegram.called("sendMessage")[2:]] == ["Thanks for your visit"]
    fast = dataclasses.replace(services, channels=runtime.services.channels)
    assert await send_outbound(held, fast) is OutboxStatus.SENT
    assert fake_telegram.called("sendMessage")[-1]["text"] == "How was your visit?"


@pytest.mark.parametrize("problem", ["blocked", "missing"])
async def test_a_blocked_or_missing_chat_fails_without_retry_and_blocked_marks_it_unreachable(
    client: httpx.AsyncClient,
    shop: Shop,
    fake_telegram: FakeTelegram,
    runtime: Runtime,
    problem: str,
) -> None:
    await post(client, shop, message(1013, "hi"))
    await sent(fake_telegram, 1)
    getattr(fake_telegram, problem).add("1013")
    item = await queue_reply(runtime, shop, 1013, "We miss you!")

    assert await send_outbound(item, runtime.services) is OutboxStatus.FAILED

    found = await customer(client, shop, 1013)
    assert found["identities"][0]["reachable"] is (problem == "missing")


async def test_the_account_api_connects_shows_no_secrets_and_disconnects(
    client: httpx.AsyncClient, shop: Shop, fake_telegram: FakeTelegram
) -> None:
    url = f"/api/v1/{shop.business.slug}/channels/telegram"
    (webhook,) = fake_telegram.called("setWebhook")
    assert webhook["url"] == f"{PUBLIC}/webhooks/telegram/{shop.business.slug}"
    assert webhook["secret_token"] == shop.secret
    assert webhook["allowed_updates"] == [
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
    ]

    shown = await client.get(url, headers=shop.auth)
    assert shown.status_code == 200
    assert shown.json()["status"] == "connected"
    assert shown.json()["bot_username"] == "kesher_test_bot"
    assert TOKEN not in shown.text and shop.secret not in shown.text
    refused = await client.put(url, json={"token": "42:" + "x" * 35}, headers=shop.auth)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_token"
    assert "Unauthorized" in refused.json()["error"]["message"]
    malformed = await client.put(url, json={"token": "not a token"}, headers=shop.auth)
    assert malformed.status_code == 400
    anonymous = await client.get(url)
    assert anonymous.status_code == 401

    gone = await client.delete(url, headers=shop.auth)
    assert gone.status_code == 200 and gone.json()["status"] == "disconnected"
    assert len(fake_telegram.called("deleteWebhook")) == 1
    assert (await post(client, shop, message(1014, "hi"))).status_code == 404


class _Clock:
    def __init__(self, at):  # type: ignore[no-untyped-def]
        self.at = at

    def now(self):  # type: ignore[no-untyped-def]
        return self.at
