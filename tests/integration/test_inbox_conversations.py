"""The inbox's conversations pages over HTTP: the queue views, one conversation, and an
agent's reply, assign, label, snooze and resolve; refusals in the agent's language, tenancy;
and the opening hours set in the console."""

from __future__ import annotations

import re
import uuid

import httpx

from app.bootstrap import Runtime
from bot.domain import Business, QueueFilter
from tests.integration.conftest import SQLITE_ONLY
from tests.integration.test_console import _admin
from tests.integration.test_inbox import _agent, _ask, _csrf, _sent_to, _sign_in
from tests.seeds import other_business

pytestmark = SQLITE_ONLY  # pages; the queue's behaviour runs on both in test_conversations


def _ids(page: str) -> list[str]:
    return re.findall(r'data-conversation="([0-9a-f-]{36})"', page)


async def test_an_agent_works_a_conversation_from_the_queue_to_resolved(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    await _sign_in(client, shop, await _agent(runtime, shop))
    await _ask(client, shop, "dana", "Do you deliver to Haifa?")
    token = await _csrf(client)
    headers = {"X-CSRF-Token": token}

    listed = await client.get("/inbox/conversations")
    (conversation,) = _ids(listed.text)
    assert 'class="unread"' in listed.text and "Do you deliver to Haifa?" in listed.text
    opened = await client.get(f"/inbox/conversations/{conversation}")
    assert opened.status_code == 200 and 'data-status="open"' in opened.text
    assert 'class="unread"' not in (await client.get("/inbox/conversations")).text

    url = f"/inbox/conversations/{conversation}"
    labelled = await client.post(f"{url}/labels", data={"labels": "VIP, delivery"}, headers=headers)
    assert "#vip" in labelled.text and "#delivery" in labelled.text
    assert labelled.headers["HX-Trigger"] == "conversations-changed"
    replied = await client.post(
        f"{url}/reply", data={"text": "Yes, on Tuesdays.", "key": "k1"}, headers=headers
    )
    assert 'data-status="pending"' in replied.text
    assert "Yes, on Tuesdays." in await _sent_to(client, shop, "dana", 2)
    mine = await client.get("/inbox/conversations", params={"status": "pending", "who": "mine"})
    assert _ids(mine.text) == [conversation]
    assert _ids(
        (
            await client.get("/inbox/conversations", params={"label": "vip", "status": "pending"})
        ).text
    ) == [conversation]
    snoozed = await client.post(
        f"{url}/status", data={"status": "snoozed", "until": "2099-01-01T09:00"}, headers=headers
    )
    assert 'data-status="snoozed"' in snoozed.text and "01/01 09:00" in snoozed.text
    resolved = await client.post(f"{url}/status", data={"status": "resolved"}, headers=headers)
    assert 'data-status="resolved"' in resolved.text
    assert _ids((await client.get("/inbox/conversations")).text) == []
    unassigned = await client.post(f"{url}/assign", data={"agent": ""}, headers=headers)
    assert unassigned.status_code == 200


async def test_refusals_come_back_on_the_page_and_bad_input_is_a_4xx(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    await _sign_in(client, shop, await _agent(runtime, shop))
    await _ask(client, shop, "dana", "hello")
    headers = {"X-CSRF-Token": await _csrf(client)}
    (conversation,) = _ids((await client.get("/inbox/conversations")).text)
    url = f"/inbox/conversations/{conversation}"

    past = await client.post(
        f"{url}/status", data={"status": "snoozed", "until": "2001-01-01T09:00"}, headers=headers
    )
    bad_label = await client.post(f"{url}/labels", data={"labels": "a<b"}, headers=headers)
    nobody = await client.post(f"{url}/assign", data={"agent": "99999999999"}, headers=headers)
    empty = await client.post(f"{url}/reply", data={"text": "  "}, headers=headers)

    for refused, words in [
        (past, "a snooze needs a time in the future"),
        (bad_label, "must be up to 32 letters"),
        (nobody, "no agent"),
        (empty, "the reply is empty"),
    ]:
        assert refused.status_code == 200 and 'role="alert"' in refused.text, words
        assert words in refused.text
    assert (await client.get(f"/inbox/conversations/{uuid.uuid4()}")).status_code == 404
    assert (await client.get("/inbox/conversations/not-a-uuid")).status_code in (400, 422)
    odd = await client.get(
        "/inbox/conversations", params={"status": "x", "who": "y", "channel": "z"}
    )
    assert odd.status_code == 200 and 'data-status="open"' in odd.text


async def test_agents_never_see_another_business_s_conversations(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    other, _ = await other_business(runtime)
    await _ask(client, other, "rival", "secret")
    await _sign_in(client, shop, await _agent(runtime, shop))
    assert _ids((await client.get("/inbox/conversations")).text) == []
    async with runtime.services.uow() as uow:
        (theirs,) = await uow.conversations.queue(other.id, QueueFilter(), limit=5)
    token = await _csrf(client)
    stranger = await client.post(
        f"/inbox/conversations/{theirs.conversation.id}/reply",
        data={"text": "hi"},
        headers={"X-CSRF-Token": token},
    )
    assert (await client.get(f"/inbox/conversations/{theirs.conversation.id}")).status_code == 404
    assert stranger.status_code == 404


async def test_opening_hours_set_in_the_console_are_what_the_bot_promises(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    csrf = await _admin(client, runtime, shop, language="he")
    page = (await client.get("/console/settings")).text
    assert 'name="sun" value="09:00-18:00"' in page and 'name="fri" value=""' in page

    hours = {
        "sun": "08:00-17:00",
        "mon": "08:00-17:00",
        "tue": "08:00-17:00",
        "wed": "08:00-17:00",
        "thu": "08:00-17:00",
        "fri": "09:00-13:00",
        "sat": "",
    }
    saved = await client.post("/console/settings/hours", data={"csrf": csrf, **hours})
    wrong = await client.post("/console/settings/hours", data={"csrf": csrf, "sun": "9 to 5"})

    assert saved.status_code == 303
    assert wrong.status_code == 200 and "sun: must be hours such as 09:00-18:00" in wrong.text
    assert 'value="9 to 5"' in wrong.text
    reply = await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages",
        json={"customer": "lea", "text": "What time do you open?"},
    )
    assert "(Sun–Thu 08:00–17:00, Fri 09:00–13:00)" in reply.json()["replies"][0]["text"]
