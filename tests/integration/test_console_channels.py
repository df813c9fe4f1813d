"""A new business from the console, as a new user would: connect a channel, upload customers,
and take them out again; against the fake Bot API and the fake Twilio on loopback."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from app.bootstrap import Runtime
from bot.domain import Business, ChannelName
from tests.fakes.telegram_api import TOKEN, USERNAME, FakeTelegram
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER
from tests.integration.conftest import running
from tests.integration.test_console import _admin

PUBLIC = "http://kesher.test"


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def runtime(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest, tmp_path, fake_telegram: FakeTelegram, fake_twilio
) -> AsyncIterator[Runtime]:
    async for built in running(
        request,
        tmp_path,
        telegram_api_url=fake_telegram.url,
        twilio_api_url=fake_twilio.url,
        public_url=PUBLIC,
    ):
        yield built


def _status(page: str, channel: str) -> str:
    marker = f'id="{channel}-account" data-status="'
    return page[page.index(marker) + len(marker) :].split('"', 1)[0]


async def test_an_admin_connects_and_disconnects_telegram_and_whatsapp_from_the_console(
    client: httpx.AsyncClient,
    runtime: Runtime,
    business: tuple[Business, str],
    fake_telegram: FakeTelegram,
) -> None:
    shop, _ = business
    csrf = await _admin(client, runtime, shop)

    wrong = await client.post(
        "/console/channels/telegram/connect", data={"token": "not a token", "csrf": csrf}
    )
    telegram = await client.post(
        "/console/channels/telegram/connect", data={"token": TOKEN, "csrf": csrf}
    )
    whatsapp = await client.post(
        "/console/channels/whatsapp/connect",
        data={"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "sender": SENDER, "csrf": csrf},
    )
    page = (await client.get("/console/channels")).text

    assert wrong.status_code == 200 and "not a bot token from @BotFather" in wrong.text
    assert telegram.status_code == whatsapp.status_code == 303
    assert _status(page, "telegram") == _status(page, "whatsapp") == "connected"
    assert f"@{USERNAME}" in page
    assert f"{PUBLIC}/webhooks/whatsapp/{shop.slug}/status" in page
    assert TOKEN not in page and AUTH_TOKEN not in page  # secrets never shown
    (hook,) = fake_telegram.called("setWebhook")
    assert hook["url"] == f"{PUBLIC}/webhooks/telegram/{shop.slug}"

    await client.post("/console/channels/telegram/disconnect", data={"csrf": csrf})
    await client.post("/console/channels/whatsapp/disconnect", data={"csrf": csrf})
    page = (await client.get("/console/channels")).text
    assert _status(page, "telegram") == _status(page, "whatsapp") == "disconnected"
    nothing = await client.post("/console/channels/fax/connect", data={"csrf": csrf})
    assert nothing.status_code == 200 and "no fax connect" in nothing.text


async def test_an_admin_sets_the_whatsapp_senders_mps_from_the_console(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    csrf = await _admin(client, runtime, shop)
    form = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "sender": SENDER, "csrf": csrf}

    refused = await client.post("/console/channels/whatsapp/connect", data={**form, "mps": "900"})
    typo = await client.post("/console/channels/whatsapp/connect", data={**form, "mps": "fast"})
    after_refusals = _status((await client.get("/console/channels")).text, "whatsapp")
    chosen = await client.post("/console/channels/whatsapp/connect", data={**form, "mps": "120"})
    await client.post("/console/channels/whatsapp/disconnect", data={"csrf": csrf})
    again = await client.post("/console/channels/whatsapp/connect", data={**form, "mps": ""})
    page = (await client.get("/console/channels")).text

    assert refused.status_code == typo.status_code == 200
    assert "must be 1 to 400, not 900" in refused.text
    # The refused form keeps what was typed, but not the auth token.
    assert f'value="{ACCOUNT_SID}"' in refused.text and f'value="{SENDER}"' in refused.text
    assert 'value="900"' in refused.text and AUTH_TOKEN not in refused.text
    assert "must be a whole number, not &#39;fast&#39;" in typo.text
    assert after_refusals == "disconnected"  # nothing kept from a refused form
    assert chosen.status_code == again.status_code == 303
    assert 'id="whatsapp-mps">120<' in page  # a reconnect without a figure keeps the one set
    async with runtime.services.uow() as uow:
        account = await uow.accounts.get(shop.id, ChannelName.WHATSAPP)
    assert account is not None and int(account.settings["mps"]) == 120


async def test_an_admin_uploads_customers_sees_the_bad_lines_and_downloads_them_again(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    csrf = await _admin(client, runtime, shop)
    marker = uuid.uuid4().hex[:6]
    body = (
        "external_id,name,phone,plan\n"
        f"a-{marker},דנה,054-765-4321,gold\n"
        f"b-{marker},Avi,not a phone,silver\n"
        f"c-{marker},Noa,052-333-4455,\n"
    )

    uploaded = await client.post(
        "/console/customers/import",
        data={"csrf": csrf},
        files={"file": ("customers.csv", body.encode(), "text/csv")},
    )
    not_utf8 = await client.post(
        "/console/customers/import",
        data={"csrf": csrf},
        files={"file": ("old.csv", "external_id,name\nx,דנה\n".encode("cp1255"), "text/csv")},
    )
    no_csrf = await client.post(
        "/console/customers/import", files={"file": ("c.csv", body.encode(), "text/csv")}
    )
    exported = await client.get("/console/customers/export.csv")

    assert uploaded.status_code == 200
    assert "created 2 · updated 0 · rows not taken 1" in uploaded.text
    assert "line 3" in uploaded.text and "not a valid phone number" in uploaded.text
    assert not_utf8.status_code == 200 and "save it as &#39;CSV UTF-8&#39;" in not_utf8.text
    assert no_csrf.status_code == 400
    assert exported.headers["content-type"].startswith("text/csv")
    assert "דנה" in exported.content.decode() and f"c-{marker}" in exported.content.decode()


async def test_customers_known_by_phone_become_reachable_on_whatsapp_once_it_is_connected(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    csrf = await _admin(client, runtime, shop)
    await client.post(
        "/console/customers/import",
        data={"csrf": csrf},
        files={
            "file": (
                "c.csv",
                b"external_id,name,phone\n"
                b"a,Dana,054-765-4321\n"
                # Another id with the same phone: a customer of their own (a family's phone),
                # whose WhatsApp identity stays with the oldest.
                b"b,Dana again,+972547654321\n"
                b"c,Avi,\n"  # no phone: stays unreachable
                b"d,Noa,052-333-4455\n",
                "text/csv",
            )
        },
    )
    form = {"name": "daily", "flow": "checkin", "when": "every", "days": "1", "csrf": csrf}
    before = await client.post("/console/schedules/preview", data=form)

    await client.post(
        "/console/channels/whatsapp/connect",
        data={"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "sender": SENDER, "csrf": csrf},
    )
    created = await client.post(
        f"/api/v1/{shop.slug}/customers",
        json={"external_id": "e", "name": "Ziv", "phone": "054-222-3344"},
        headers={"Authorization": f"Bearer {key}"},
    )
    after = await client.post("/console/schedules/preview", data=form)

    assert "0 customers would be contacted" in before.text
    assert "4 customers are not reachable on any channel yet" in before.text
    assert created.status_code == 201, created.text
    assert created.json()["identities"] == [
        {"channel": "whatsapp", "address": "whatsapp:+972542223344", "reachable": True}
    ]
    assert "3 customers would be contacted" in after.text
    assert after.text.count("<td>whatsapp</td>") == 3
    assert "2 customers are not reachable" in after.text  # Avi (no phone), Dana again
    async with runtime.services.uow() as uow:
        dana = await uow.identities.find(shop.id, ChannelName.WHATSAPP, "whatsapp:+972547654321")
    assert dana is not None
