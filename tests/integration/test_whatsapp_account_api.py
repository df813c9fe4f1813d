"""A business connects, inspects, templates and disconnects its WhatsApp sender over the REST API."""

from __future__ import annotations

import httpx
import pytest

from bot.domain import Business
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER
from tests.integration.conftest import SQLITE_ONLY

pytestmark = SQLITE_ONLY  # API shapes

CHECKIN_HE = "HX" + "d" * 32


@pytest.fixture
def api(business: tuple[Business, str]) -> tuple[str, dict[str, str]]:
    found, key = business
    return f"/api/v1/{found.slug}/channels/whatsapp", {"Authorization": f"Bearer {key}"}


async def test_connecting_shows_the_urls_to_paste_and_never_the_auth_token(
    client: httpx.AsyncClient, api: tuple[str, dict[str, str]]
) -> None:
    path, headers = api
    body = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "sender": SENDER}

    put = await client.put(path, json=body, headers=headers)
    got = await client.get(path, headers=headers)

    assert put.status_code == 200, put.text
    assert put.json() == got.json()
    shown = got.json()
    assert (shown["status"], shown["account_sid"], shown["sender"]) == (
        "connected",
        ACCOUNT_SID,
        SENDER,
    )
    slug = path.split("/")[3]
    assert shown["webhook_url"].endswith(f"/webhooks/whatsapp/{slug}")
    assert shown["status_url"] == shown["webhook_url"] + "/status"
    assert AUTH_TOKEN not in put.text + got.text


@pytest.mark.parametrize(
    ("change", "status", "named"),
    [
        ({"account_sid": "XX1"}, 400, "starts with 'AC'"),
        ({"sender": "+972501234567"}, 400, "whatsapp:+972"),
        ({"auth_token": None}, 422, "auth_token"),
    ],
)
async def test_bad_account_values_are_a_4xx_naming_what_is_wrong(
    client: httpx.AsyncClient,
    api: tuple[str, dict[str, str]],
    change: dict[str, object],
    status: int,
    named: str,
) -> None:
    path, headers = api
    body = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "sender": SENDER, **change}

    response = await client.put(path, json=body, headers=headers)

    assert response.status_code == status
    assert named in response.text and AUTH_TOKEN not in response.text


async def test_templates_are_validated_kept_across_a_reconnect_and_disconnect_forgets_the_token(
    client: httpx.AsyncClient, api: tuple[str, dict[str, str]]
) -> None:
    path, headers = api
    account = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "sender": SENDER}
    assert (await client.put(f"{path}/templates", json={}, headers=headers)).status_code == 404
    await client.put(path, json=account, headers=headers)

    bad = await client.put(f"{path}/templates", json={"checkin": {"he": "HX12"}}, headers=headers)
    good = await client.put(
        f"{path}/templates",
        json={"checkin": {"he": {"sid": CHECKIN_HE, "variables": ["customer_name"]}}},
        headers=headers,
    )
    await client.put(path, json=account, headers=headers)
    kept = (await client.get(path, headers=headers)).json()["templates"]
    gone = await client.delete(path, headers=headers)
    again = await client.delete(path, headers=headers)

    assert bad.status_code == 400 and "templates.checkin.he.sid" in bad.json()["error"]["message"]
    assert good.status_code == 200
    assert kept == {"checkin": {"he": {"sid": CHECKIN_HE, "variables": ["customer_name"]}}}
    assert gone.status_code == 200 and gone.json()["status"] == "disconnected"
    assert gone.json()["account_sid"] is None
    assert again.status_code == 404


async def test_the_account_api_needs_the_business_key(
    client: httpx.AsyncClient, api: tuple[str, dict[str, str]]
) -> None:
    path, _ = api

    response = await client.get(path, headers={"Authorization": "Bearer nope"})

    assert response.status_code in (401, 403)


async def test_the_senders_mps_defaults_to_80_is_kept_across_a_reconnect_and_checked(
    client: httpx.AsyncClient, api: tuple[str, dict[str, str]]
) -> None:
    path, headers = api
    account = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "sender": SENDER}

    first = await client.put(path, json=account, headers=headers)
    raised = await client.put(path, json={**account, "mps": 250}, headers=headers)
    reconnected = await client.put(path, json=account, headers=headers)
    shown = await client.get(path, headers=headers)
    too_many = await client.put(path, json={**account, "mps": 401}, headers=headers)
    none = await client.put(path, json={**account, "mps": 0}, headers=headers)

    assert first.json()["mps"] == 80
    assert raised.json()["mps"] == 250
    assert reconnected.json()["mps"] == 250 and shown.json()["mps"] == 250
    assert too_many.status_code == 422 and "mps" in too_many.json()["error"]["message"]
    assert none.status_code == 422 and "mps" in none.json()["error"]["message"]
