"""The conversations API on both backends: the list with the inbox's filters, page by page on
its cursor; one conversation with its messages; reply, assign, labels, snooze, resolve and
reopen, each refused with a clear 4xx when wrong; and the opening hours in the settings API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from app.bootstrap import Runtime
from bot.domain import Business, EventKind
from bot.handoffs.agents import create_agent
from tests.integration.conftest import settled


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _agent(runtime: Runtime, shop: Business, name: str) -> int:
    async with runtime.services.uow() as uow:
        agent = await create_agent(
            uow,
            shop,
            email=f"{name.lower()}-{uuid.uuid4().hex[:6]}@shop.test",
            name=name,
            password="correct horse battery",
            now=runtime.services.clock.now(),
            passwords=runtime.services.passwords,
        )
        await uow.commit()
    return agent.id


async def _say(client: httpx.AsyncClient, shop: Business, key: str, who: str, text: str) -> None:
    said = await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages",
        json={"customer": who, "text": text},
        headers=_auth(key),
    )
    assert said.status_code == 200, said.text


async def test_the_list_pages_on_its_cursor_and_filters_as_the_inbox_does(
    runtime: Runtime, client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    noa = await _agent(runtime, shop, "Noa")
    for who, text in [
        ("dana", "Do you deliver to Haifa?"),
        ("eli", "Where is my refund?"),
        ("gil", "Is there parking near you?"),
    ]:
        await _say(client, shop, key, who, text)
    await settled(runtime)
    url = f"/api/v1/{shop.slug}/conversations"

    first = (await client.get(url, params={"limit": 2}, headers=_auth(key))).json()
    second = (
        await client.get(url, params={"limit": 2, "cursor": first["next"]}, headers=_auth(key))
    ).json()
    assert len(first["items"]) == 2 and first["next"]
    assert len(second["items"]) == 1 and second["next"] is None
    listed = first["items"] + second["items"]
    assert {c["address"] for c in listed} == {"dana", "eli", "gil"}
    times = [c["last_message_at"] for c in listed]
    assert times == sorted(times, reverse=True)
    dana = next(c for c in listed if c["address"] == "dana")
    assert (dana["status"], dana["last_text"]) == ("open", "Do you deliver to Haifa?")

    one = f"{url}/{dana['id']}"
    assigned = await client.post(
        f"{one}/assign", json={"assignee": noa, "agent": noa}, headers=_auth(key)
    )
    labelled = await client.put(
        f"{one}/labels", json={"labels": ["VIP", "#refund"], "agent": noa}, headers=_auth(key)
    )
    assert assigned.json()["assignee_id"] == noa
    assert labelled.json()["labels"] == ["vip", "refund"]

    async def found(**params: object) -> list[str]:
        page = await client.get(url, params=params, headers=_auth(key))
        assert page.status_code == 200, page.text
        return sorted(c["address"] for c in page.json()["items"])

    assert await found(q="haifa") == ["dana"]
    assert await found(q="gil") == ["gil"]
    assert await found(assignee=noa) == ["dana"]
    assert await found(unassigned="true") == ["eli", "gil"]
    assert await found(label="vip") == ["dana"]
    assert await found(channel="sandbox") == ["dana", "eli", "gil"]
    assert await found(channel="telegram") == []
    assert await found(status="resolved") == []


async def test_an_agent_works_a_conversation_through_the_api(
    runtime: Runtime, client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    noa = await _agent(runtime, shop, "Noa")
    await _say(client, shop, key, "dana", "Do you deliver to Haifa?")
    await settled(runtime)
    url = f"/api/v1/{shop.slug}/conversations"
    (dana,) = (await client.get(url, headers=_auth(key))).json()["items"]
    one = f"{url}/{dana['id']}"

    replied = await client.post(
        f"{one}/reply", json={"agent": noa, "text": "Yes, on Tuesdays.", "key": "k1"},
        headers=_auth(key),
    )  # fmt: skip
    again = await client.post(
        f"{one}/reply", json={"agent": noa, "text": "Yes, on Tuesdays.", "key": "k1"},
        headers=_auth(key),
    )  # fmt: skip
    assert replied.status_code == again.status_code == 202
    assert replied.json()["id"] == again.json()["id"]
    await settled(runtime)
    detail = (await client.get(one, headers=_auth(key))).json()
    assert (detail["status"], detail["assignee_id"], detail["handoff_id"]) == ("pending", noa, None)
    first = detail["messages"][0]
    assert (first["direction"], first["text"]) == ("in", "Do you deliver to Haifa?")
    assert [m["text"] for m in detail["messages"]].count("Yes, on Tuesdays.") == 1

    until = datetime.now(UTC) + timedelta(days=1)
    snoozed = await client.post(
        f"{one}/snooze", json={"until": until.isoformat(), "agent": noa}, headers=_auth(key)
    )
    assert snoozed.status_code == 200, snoozed.text
    assert (snoozed.json()["status"], snoozed.json()["snoozed_until"] is not None) == (
        "snoozed",
        True,
    )
    resolved = await client.post(f"{one}/resolve", json={"agent": noa}, headers=_auth(key))
    reopened = await client.post(f"{one}/reopen", headers=_auth(key))
    assert (resolved.json()["status"], reopened.json()["status"]) == ("resolved", "open")

    async with runtime.services.uow() as uow:
        events = await uow.events.for_customer(uuid.UUID(dana["customer_id"]), limit=50)
    assert [(e.kind, e.data["agent_id"]) for e in events if e.kind.startswith("conversation_")][
        1:
    ] == [
        (EventKind.CONVERSATION_ASSIGNED, noa),
        (EventKind.CONVERSATION_PENDING, noa),
        (EventKind.CONVERSATION_SNOOZED, noa),
        (EventKind.CONVERSATION_RESOLVED, noa),
        (EventKind.CONVERSATION_REOPENED, None),
    ]


async def test_wrong_requests_get_a_clear_4xx(
    runtime: Runtime, client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _say(client, shop, key, "dana", "Do you deliver to Haifa?")
    await _say(client, shop, key, "sam", "I want to talk to a real person")
    await settled(runtime)
    url = f"/api/v1/{shop.slug}/conversations"
    items = (await client.get(url, headers=_auth(key))).json()["items"]
    dana = next(c for c in items if c["address"] == "dana")
    sam = next(c for c in items if c["address"] == "sam")
    one = f"{url}/{dana['id']}"
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()

    async def error(method: str, path: str, **kwargs: object) -> tuple[int, str]:
        answer = await client.request(method, path, headers=_auth(key), **kwargs)  # type: ignore[arg-type]
        return answer.status_code, answer.json()["error"]["code"]

    assert await error("GET", f"{url}/{uuid.uuid4()}") == (404, "conversation_not_found")
    assert await error("GET", url, params={"cursor": "not-a-cursor"}) == (400, "invalid_cursor")
    assert await error("GET", url, params={"status": "closed"}) == (422, "invalid_request")
    assert await error("GET", url, params={"label": "two words"}) == (422, "invalid_request")
    assert await error("POST", f"{one}/snooze", json={"until": past}) == (400, "invalid_status")
    assert await error("POST", f"{one}/snooze", json={"until": "2030-01-01T10:00"}) == (
        422,
        "invalid_request",
    )
    assert await error("POST", f"{one}/assign", json={"assignee": 2**31 - 1}) == (
        404,
        "agent_not_found",
    )
    assert await error("POST", f"{one}/reply", json={"agent": 2**31 - 1, "text": "hi"}) == (
        404,
        "agent_not_found",
    )
    assert await error("PUT", f"{one}/labels", json={"labels": ["a,b"]}) == (
        422,
        "invalid_request",
    )
    assert await error("POST", f"{url}/{sam['id']}/resolve") == (400, "handoff_open")
    other = await client.get(
        f"/api/v1/{shop.slug}-other/conversations/{dana['id']}", headers=_auth(key)
    )
    assert other.status_code in (403, 404)


async def test_the_opening_hours_are_read_and_set_in_the_settings_api(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    url = f"/api/v1/{shop.slug}/settings"
    before = (await client.get(url, headers=_auth(key))).json()
    assert before["opening_hours"] == {
        "sun": "09:00-18:00", "mon": "09:00-18:00", "tue": "09:00-18:00",
        "wed": "09:00-18:00", "thu": "09:00-18:00", "fri": None, "sat": None,
    }  # fmt: skip

    changed = await client.put(
        url, json={"opening_hours": {"sun": "08:00-12:00", "fri": "9:00-13:30"}}, headers=_auth(key)
    )
    assert changed.status_code == 200, changed.text
    week = {"sun": "08:00-12:00", "mon": None, "tue": None, "wed": None, "thu": None,
            "fri": "09:00-13:30", "sat": None}  # fmt: skip
    assert changed.json()["opening_hours"] == week
    assert changed.json()["detector_sensitivity"] == before["detector_sensitivity"]
    assert (await client.get(url, headers=_auth(key))).json()["opening_hours"] == week

    wrong = await client.put(
        url, json={"opening_hours": {"sun": "25:00-26:00"}}, headers=_auth(key)
    )
    unknown = await client.put(
        url, json={"opening_hours": {"sunday": "09:00-18:00"}}, headers=_auth(key)
    )
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "invalid_opening_hours")
    assert "sun" in wrong.json()["error"]["message"]
    assert unknown.status_code == 422
    assert (await client.get(url, headers=_auth(key))).json()["opening_hours"] == week
