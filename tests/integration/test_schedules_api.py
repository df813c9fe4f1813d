"""The check-in REST API: schedules, flows, rules, events and the touches, with clear 4xx errors."""

from __future__ import annotations

import httpx

from bot.domain import Business


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _say(client: httpx.AsyncClient, business: Business, customer: str, text: str) -> None:
    response = await client.post(
        f"/api/v1/{business.slug}/sandbox/messages", json={"customer": customer, "text": text}
    )
    assert response.status_code == 200, response.text


async def test_a_schedule_is_created_described_listed_paused_and_deleted(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    base = f"/api/v1/{shop.slug}/schedules"
    definition = {
        "name": "after-purchase",
        "flow": "csat",
        "when": {"after_event": "purchase", "delay": "3d"},
    }

    created = await client.post(base, json=definition, headers=_auth(key))
    paused = await client.put(
        f"{base}/after-purchase", json={**definition, "active": False}, headers=_auth(key)
    )
    listed = await client.get(base, headers=_auth(key))
    deleted = await client.delete(f"{base}/after-purchase", headers=_auth(key))
    gone = await client.get(f"{base}/after-purchase", headers=_auth(key))

    assert created.status_code == 201, created.text
    assert created.json()["description"] == {
        "he": "3 ימים אחרי כל רכישה",
        "en": "3 days after every purchase",
    }
    assert paused.json()["active"] is False
    assert [s["name"] for s in listed.json()] == ["after-purchase"]
    assert deleted.status_code == 204 and gone.status_code == 404


async def test_a_bad_schedule_names_every_bad_field_and_saves_nothing(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    bad = {
        "name": "Weekly!",
        "flow": "survey",
        "when": {"every": "often"},
        "segment": {"colour": "red", "language": "fr"},
    }

    response = await client.post(f"/api/v1/{shop.slug}/schedules", json=bad, headers=_auth(key))
    listed = await client.get(f"/api/v1/{shop.slug}/schedules", headers=_auth(key))

    assert response.status_code == 400
    message = response.json()["error"]["message"]
    for field in (
        "name:",
        "flow:",
        "when.every:",
        "segment: unknown keys colour",
        "segment.language",
    ):
        assert field in message
    assert listed.json() == []


async def test_a_campaign_in_a_timezone_that_does_not_exist_is_refused(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    campaign = {
        "name": "launch",
        "flow": "nps",
        "when": {"at": "2026-12-01T10:00:00", "timezone": "Mars/Olympus"},
    }

    response = await client.post(
        f"/api/v1/{shop.slug}/schedules", json=campaign, headers=_auth(key)
    )

    assert response.status_code == 400
    assert "when.timezone: unknown timezone 'Mars/Olympus'" in response.json()["error"]["message"]


async def test_a_custom_flow_with_an_unreachable_question_is_refused(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    flow = {
        "questions": [
            {
                "type": "yes_no",
                "text": {"en": "All good?", "he": "הכל טוב?"},
                "branch": [
                    {"if": {"q1": "yes"}, "goto": "end"},
                    {"if": {"q1": "no"}, "goto": "end"},
                ],
            },
            {"type": "text", "text": {"en": "Why?", "he": "למה?"}},
        ]
    }

    response = await client.put(f"/api/v1/{shop.slug}/flows/visit", json=flow, headers=_auth(key))

    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"] == (
        "questions[1]: unreachable; every branch before it skips over it"
    )


async def test_contact_rules_are_checked_and_saved(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    url = f"/api/v1/{shop.slug}/rules"

    bad = await client.put(
        url, json={"hours": {"fri": "13:00-09:00"}, "cap_window": "soon"}, headers=_auth(key)
    )
    good = await client.put(
        url, json={"hours": {"fri": None}, "max_touches": 2}, headers=_auth(key)
    )
    read = await client.get(url, headers=_auth(key))

    assert bad.status_code == 400
    assert "hours.fri:" in bad.json()["error"]["message"]
    assert "cap_window:" in bad.json()["error"]["message"]
    assert good.status_code == 200
    assert read.json()["rules"] == {"hours": {"fri": None}, "max_touches": 2}


async def test_an_event_for_an_unknown_customer_is_refused_unless_creation_is_asked_for(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    url = f"/api/v1/{shop.slug}/events"
    event = {"customer": {"external_id": "crm-77", "name": "Yael"}, "type": "purchase"}

    refused = await client.post(url, json=event, headers=_auth(key))
    created = await client.post(url, json={**event, "create_customer": True}, headers=_auth(key))
    again = await client.post(url, json=event, headers=_auth(key))
    reserved = await client.post(url, json={**event, "type": "opted_out"}, headers=_auth(key))
    # Times past the calendar's ends once moved to UTC (year 1 at +14:00, 9999 at -12:00).
    far = [
        await client.post(url, json={**event, "occurred_at": at}, headers=_auth(key))
        for at in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00")
    ]

    assert refused.status_code == 404
    assert "create_customer" in refused.json()["error"]["message"]
    assert created.status_code == 202 and created.json()["created_customer"] is True
    assert again.status_code == 202 and again.json()["customer_id"] == created.json()["customer_id"]
    assert reserved.status_code == 400
    assert [f.status_code for f in far] == [400, 400]
    assert "years 2000 to 2999" in far[0].json()["error"]["message"]
    timeline = await client.get(
        f"/api/v1/{shop.slug}/customers/{created.json()['customer_id']}/timeline",
        headers=_auth(key),
    )
    kinds = [i["kind"] for i in timeline.json()["items"]]
    assert kinds.count("purchase") == 2


async def test_an_event_plans_the_after_event_touch_and_the_checkins_list_shows_it(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _say(client, shop, "sam", "hello")
    customers = await client.get(
        f"/api/v1/{shop.slug}/customers",
        params={"channel": "sandbox", "address": "sam"},
        headers=_auth(key),
    )
    customer_id = customers.json()["customers"][0]["id"]
    await client.post(
        f"/api/v1/{shop.slug}/schedules",
        json={"name": "thanks", "flow": "csat", "when": {"after_event": "purchase", "delay": "2d"}},
        headers=_auth(key),
    )

    event = await client.post(
        f"/api/v1/{shop.slug}/events",
        json={"customer": {"id": customer_id}, "type": "purchase"},
        headers=_auth(key),
    )
    planned = await client.get(
        f"/api/v1/{shop.slug}/checkins", params={"status": "planned"}, headers=_auth(key)
    )
    wrong = await client.get(
        f"/api/v1/{shop.slug}/checkins", params={"status": "lost"}, headers=_auth(key)
    )

    assert event.json()["planned"] == 1
    (touch,) = planned.json()["checkins"]
    assert touch["schedule"] == "thanks" and touch["customer_id"] == customer_id
    assert wrong.status_code == 422


async def test_the_preview_shows_who_would_be_contacted_without_saving(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    for name in ("dana", "sam"):
        await _say(client, shop, name, "hello")
    draft = {"name": "soon", "flow": "checkin", "when": {"every": "2d"}}

    preview = await client.post(
        f"/api/v1/{shop.slug}/schedules/preview", json=draft, headers=_auth(key)
    )
    listed = await client.get(f"/api/v1/{shop.slug}/schedules", headers=_auth(key))

    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["total"] == 2
    assert {t["channel"] for t in body["touches"]} == {"sandbox"}
    assert listed.json() == []


async def test_another_business_key_cannot_read_or_write_schedules(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, _ = business
    response = await client.get(f"/api/v1/{shop.slug}/schedules", headers=_auth("not-a-real-key"))
    assert response.status_code == 401
