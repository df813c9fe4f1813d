"""The console's remaining settings as an admin would use them, and the REST API beside them:
API keys made and revoked, consent words, the detector's sensitivity, WhatsApp templates per
kind, a customer found, exported and deleted, conversations exported; on both backends."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from app.bootstrap import Runtime
from bot.domain import AgentRole, Business
from bot.insights import exports
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER
from tests.integration.conftest import running
from tests.integration.test_console import _admin
from tests.integration.test_inbox import _agent, _csrf, _sign_in
from tests.seeds import other_business

SID = "HX" + "0123456789abcdef" * 2
OTHER_SID = "HX" + "fedcba9876543210" * 2


# Pages and API shapes: SQLite only (tests/integration/conftest.py, SQLITE_ONLY).
@pytest.fixture(params=["sqlite-memory"])
async def runtime(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest, tmp_path, fake_twilio
) -> AsyncIterator[Runtime]:
    async for built in running(request, tmp_path, twilio_api_url=fake_twilio.url):
        yield built


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _say(client: httpx.AsyncClient, shop: Business, who: str, text: str) -> dict:  # type: ignore[type-arg]
    response = await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages", json={"customer": who, "text": text}
    )
    assert response.status_code == 200, response.text
    said: dict = response.json()  # type: ignore[type-arg]
    return said


async def _opted_out(client: httpx.AsyncClient, shop: Business, key: str, customer: str) -> bool:
    found = await client.get(f"/api/v1/{shop.slug}/customers/{customer}", headers=_auth(key))
    return bool(found.json()["opted_out"])


async def test_an_admin_makes_a_key_shown_once_and_a_revoked_key_is_refused_at_once(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, first = business
    csrf = await _admin(client, runtime, shop)
    customers = f"/api/v1/{shop.slug}/customers"

    made = await client.post("/console/keys", data={"csrf": csrf})
    (new,) = re.findall(r"ksh_[A-Za-z0-9_-]{40,}", made.text)
    later = await client.get("/console/keys")

    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    assert 'id="new-key"' in made.text and "it will not be shown again" in made.text
    assert new not in later.text and first not in later.text and "ksh_" not in later.text
    assert later.text.count('data-revoked="no"') == 2
    assert (await client.get(customers, headers=_auth(new))).status_code == 200
    listed = (await client.get(f"/api/v1/{shop.slug}/keys", headers=_auth(new))).json()
    assert [sorted(k) for k in listed] == [["created_at", "fingerprint", "id", "revoked_at"]] * 2
    old_id = listed[0]["id"]
    assert f"<code>{listed[0]['fingerprint']}…</code>" in later.text

    unconfirmed = await client.post(f"/console/keys/{old_id}/revoke", data={"csrf": csrf})
    assert unconfirmed.status_code == 200 and "Tick the box" in unconfirmed.text
    assert (await client.get(customers, headers=_auth(first))).status_code == 200

    revoked = await client.post(
        f"/console/keys/{old_id}/revoke", data={"csrf": csrf, "confirm": "on"}
    )

    assert revoked.status_code == 303
    refused = await client.get(customers, headers=_auth(first))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert (await client.get(customers, headers=_auth(new))).status_code == 200
    page = (await client.get(revoked.headers["location"])).text
    assert f"Key {old_id} was revoked" in page and page.count('data-revoked="yes"') == 1
    for wrong in ("999999", "not-a-number", "9" * 30):
        response = await client.post(
            f"/console/keys/{wrong}/revoke", data={"csrf": csrf, "confirm": "on"}
        )
        assert response.status_code == 200 and "no API key" in response.text


async def test_the_keys_api_shows_a_new_key_once_and_a_key_cannot_revoke_itself(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, first = business
    keys = f"/api/v1/{shop.slug}/keys"

    created = await client.post(keys, headers=_auth(first))

    assert created.status_code == 201, created.text
    new = created.json()
    assert new["key"].startswith("ksh_") and new["revoked_at"] is None
    listed = (await client.get(keys, headers=_auth(new["key"]))).json()
    assert [k["id"] for k in listed] == [listed[0]["id"], new["id"]]
    assert new["key"] not in json.dumps(listed)
    own = await client.delete(f"{keys}/{new['id']}", headers=_auth(new["key"]))
    assert own.status_code == 400 and own.json()["error"]["code"] == "own_key"

    gone = await client.delete(f"{keys}/{listed[0]['id']}", headers=_auth(new["key"]))

    assert gone.status_code == 200 and gone.json()["revoked_at"] is not None
    assert (await client.get(keys, headers=_auth(first))).status_code == 401
    unknown = await client.delete(f"{keys}/999999", headers=_auth(new["key"]))
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_key"
    huge = await client.delete(f"{keys}/{'9' * 30}", headers=_auth(new["key"]))
    assert huge.status_code == 422
    other, other_key = await other_business(runtime)
    foreign = await client.delete(f"{keys}/{new['id']}", headers=_auth(other_key))
    assert foreign.status_code == 403
    theirs = (await client.get(f"/api/v1/{other.slug}/keys", headers=_auth(other_key))).json()
    mine = await client.delete(f"{keys}/{theirs[0]['id']}", headers=_auth(new["key"]))
    assert mine.status_code == 404  # another business's key is not found, let alone revoked


async def test_consent_words_saved_in_the_console_opt_a_customer_out_and_back_in(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    csrf = await _admin(client, runtime, shop)

    bad = await client.post(
        "/console/settings/words", data={"csrf": csrf, "opt_out": "עצור\n!!!", "opt_in": ""}
    )
    both = await client.post(
        "/console/settings/words", data={"csrf": csrf, "opt_out": "basta", "opt_in": "Basta"}
    )
    saved = await client.post(
        "/console/settings/words",
        data={"csrf": csrf, "opt_out": "עצור\nBasta, די כבר", "opt_in": "חזרתי"},
    )

    assert bad.status_code == 200 and 'id="opt_out-error"' in bad.text
    assert "opt_out: &#39;!!!&#39; must be 1 to 40 letters" in bad.text
    assert "עצור\n!!!</textarea>" in bad.text  # what was typed is kept
    assert both.status_code == 200 and 'id="opt_in-error"' in both.text
    assert saved.status_code == 303
    words = await client.get(f"/api/v1/{shop.slug}/consent-words", headers=_auth(key))
    assert words.json() == {"opt_out": ["עצור", "basta", "די כבר"], "opt_in": ["חזרתי"]}
    dana = (await _say(client, shop, "dana", "שלום"))["customer_id"]
    assert not await _opted_out(client, shop, key, dana)

    stopped = await _say(client, shop, "dana", "עָצוּר!")

    assert "הוסרתם" in stopped["replies"][0]["text"]
    assert await _opted_out(client, shop, key, dana)
    await _say(client, shop, "dana", "חזרתי")
    assert not await _opted_out(client, shop, key, dana)
    assert "די כבר" in (await client.get("/console/settings")).text


async def test_consent_words_through_the_api_are_checked_the_same_way(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    url = f"/api/v1/{shop.slug}/consent-words"

    put = await client.put(url, json={"opt_out": ["STOP NOW!"]}, headers=_auth(key))
    bad = await client.put(url, json={"opt_out": ["x"], "opt_in": ["X"]}, headers=_auth(key))
    many = await client.put(
        url, json={"opt_out": [f"w{n}" for n in range(101)]}, headers=_auth(key)
    )
    # START must stay the way back in (the opt-out reply tells the customer to send it).
    trap = await client.put(url, json={"opt_out": ["START"]}, headers=_auth(key))
    turned = await client.put(url, json={"opt_in": ["הסר"]}, headers=_auth(key))

    assert put.status_code == 200 and put.json() == {"opt_out": ["stop now"], "opt_in": []}
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_consent_words"
    assert many.status_code == 400 and "at most 100" in many.json()["error"]["message"]
    assert trap.status_code == 400 and "standard opt-in word" in trap.json()["error"]["message"]
    assert turned.status_code == 400 and "standard opt-out" in turned.json()["error"]["message"]
    assert (await client.get(url, headers=_auth(key))).json()["opt_out"] == ["stop now"]


async def test_the_detector_sensitivity_is_saved_from_the_console_and_the_api(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    csrf = await _admin(client, runtime, shop, language="he")
    url = f"/api/v1/{shop.slug}/settings"
    default_week = {
        **{day: "09:00-18:00" for day in ("sun", "mon", "tue", "wed", "thu")},
        "fri": None,
        "sat": None,
    }
    assert (await client.get(url, headers=_auth(key))).json() == {
        "detector_sensitivity": "balanced",
        "opening_hours": default_week,
    }

    saved = await client.post(
        "/console/settings/sensitivity", data={"csrf": csrf, "sensitivity": "conservative"}
    )
    wrong = await client.post(
        "/console/settings/sensitivity", data={"csrf": csrf, "sensitivity": "extreme"}
    )
    empty = await client.post("/console/settings/sensitivity", data={"csrf": csrf})

    assert saved.status_code == 303
    assert (await client.get(url, headers=_auth(key))).json()["detector_sensitivity"] == (
        "conservative"
    )
    page = (await client.get("/console/settings?saved=sensitivity")).text
    assert 'data-sensitivity="conservative"' in page and "נשמר." in page and 'dir="rtl"' in page
    assert wrong.status_code == 200 and "&#39;extreme&#39; is not one of" in wrong.text
    assert empty.status_code == 200 and 'role="alert"' in empty.text
    put = await client.put(url, json={"detector_sensitivity": "sensitive"}, headers=_auth(key))
    assert put.json() == {"detector_sensitivity": "sensitive", "opening_hours": default_week}
    kept = await client.put(url, json={}, headers=_auth(key))
    assert kept.json() == {"detector_sensitivity": "sensitive", "opening_hours": default_week}
    refused = await client.put(url, json={"detector_sensitivity": "x"}, headers=_auth(key))
    assert refused.status_code == 422
    async with runtime.services.uow() as uow:
        assert (await uow.businesses.get(shop.id)).detector_sensitivity == "sensitive"


async def test_whatsapp_templates_saved_per_kind_in_the_console_show_in_the_api(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    csrf = await _admin(client, runtime, shop)
    too_soon = await client.post(
        "/console/channels/whatsapp/templates/checkin", data={"csrf": csrf, "sid_he": SID}
    )
    assert too_soon.status_code == 200 and "WhatsApp is not connected" in too_soon.text
    assert "Connect WhatsApp to set templates." in too_soon.text
    await client.post(
        "/console/channels/whatsapp/connect",
        data={"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "sender": SENDER, "csrf": csrf},
    )

    checkin = await client.post(
        "/console/channels/whatsapp/templates/checkin",
        data={"csrf": csrf, "sid_he": SID, "variables_he": "customer_name, business"},
    )
    nps = await client.post(
        "/console/channels/whatsapp/templates/nps",
        data={"csrf": csrf, "sid_en": OTHER_SID, "sid_he": SID, "variables_en": "customer_name"},
    )
    bad_sid = await client.post(
        "/console/channels/whatsapp/templates/csat", data={"csrf": csrf, "sid_he": "HX123"}
    )
    bad_name = await client.post(
        "/console/channels/whatsapp/templates/csat",
        data={"csrf": csrf, "sid_en": SID, "variables_en": "phone"},
    )
    no_kind = await client.post(
        "/console/channels/whatsapp/templates/fax", data={"csrf": csrf, "sid_he": SID}
    )

    assert checkin.status_code == nps.status_code == 303
    account = await client.get(f"/api/v1/{shop.slug}/channels/whatsapp", headers=_auth(key))
    assert account.json()["templates"] == {
        "checkin": {"he": {"sid": SID, "variables": ["customer_name", "business"]}},
        "nps": {
            "he": {"sid": SID, "variables": []},
            "en": {"sid": OTHER_SID, "variables": ["customer_name"]},
        },
    }
    assert bad_sid.status_code == 200
    assert "templates.csat.he.sid: a Content SID looks like HX" in bad_sid.text
    assert 'value="HX123"' in bad_sid.text  # kept in its form to be corrected
    assert bad_name.status_code == 200 and "unknown variable &#39;phone&#39;" in bad_name.text
    assert no_kind.status_code == 200 and "no message kind" in no_kind.text
    page = (await client.get("/console/channels")).text
    assert page.count(f'value="{SID}"') == 2 and 'value="customer_name, business"' in page

    cleared = await client.post(
        "/console/channels/whatsapp/templates/checkin", data={"csrf": csrf, "sid_he": ""}
    )

    assert cleared.status_code == 303
    account = await client.get(f"/api/v1/{shop.slug}/channels/whatsapp", headers=_auth(key))
    assert list(account.json()["templates"]) == ["nps"]


async def test_an_admin_finds_exports_and_deletes_a_customer_as_the_api_would(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    marker = uuid.uuid4().hex[:8]
    dana = (await _say(client, shop, f"dana-{marker}", f"שלום {marker}"))["customer_id"]
    other = (await _say(client, shop, f"avi-{marker}", "hello"))["customer_id"]
    async with runtime.services.uow() as uow:
        # Typed from an import with niqqud and an emoji, which a keyboard may not have.
        await uow.customers.set_name(uuid.UUID(dana), "דָּנָה לוי 🌷")
        await uow.commit()
    csrf = await _admin(client, runtime, shop)

    by_name = await client.get("/console/customers", params={"q": "לוי"})
    by_id = await client.get("/console/customers", params={"q": dana})
    nobody = await client.get("/console/customers", params={"q": "nobody-at-all"})
    hostile = await client.get("/console/customers", params={"q": "\x00' OR 1=1 --%_" * 20})
    api = await client.get(
        f"/api/v1/{shop.slug}/customers", params={"q": "לוי"}, headers=_auth(key)
    )

    assert re.findall(r'data-customer="([^"]+)"', by_name.text) == [dana]
    assert re.findall(r'data-customer="([^"]+)"', by_id.text) == [dana]
    assert "No customers found." in nobody.text
    assert hostile.status_code == 200 and "No customers found." in hostile.text
    assert [c["id"] for c in api.json()["customers"]] == [dana]

    exported = await client.post(f"/console/customers/{dana}/export", data={"csrf": csrf})
    from_api = await client.get(f"/api/v1/{shop.slug}/customers/{dana}/export", headers=_auth(key))

    assert exported.status_code == 200
    assert exported.headers["content-disposition"].startswith("attachment;")
    assert exported.json() == from_api.json()
    assert any(marker in m["text"] for m in exported.json()["messages"])

    wrong = await client.post(
        f"/console/customers/{dana}/delete", data={"csrf": csrf, "confirm": "דנה", "q": "לוי"}
    )
    assert wrong.status_code == 200 and "To delete, type exactly “דָּנָה לוי 🌷”." in wrong.text
    assert (
        await client.get(f"/api/v1/{shop.slug}/customers/{dana}", headers=_auth(key))
    ).is_success

    deleted = await client.post(
        f"/console/customers/{dana}/delete", data={"csrf": csrf, "confirm": " דנה לוי "}
    )

    assert deleted.status_code == 303
    assert deleted.headers["location"] == f"/console/customers?deleted={dana}"
    gone = await client.get(f"/api/v1/{shop.slug}/customers/{dana}", headers=_auth(key))
    assert gone.status_code == 404
    kept = await client.get(f"/api/v1/{shop.slug}/customers/{other}", headers=_auth(key))
    assert kept.status_code == 200
    audit = (await client.get(f"/api/v1/{shop.slug}/audit", headers=_auth(key))).json()
    assert [(a["action"], a["subject"], a["actor"].split(":")[0]) for a in audit] == [
        ("customer_deleted", dana, "agent"),
        ("customer_exported", dana, "api-key"),
        ("customer_exported", dana, "agent"),
    ]
    assert audit[0]["details"] == {
        name: len(items) for name, items in from_api.json().items() if isinstance(items, list)
    }
    page = (await client.get(deleted.headers["location"])).text
    assert f"Customer {dana} was deleted permanently" in page
    log = page[page.index('id="privacy-log"') :]
    assert log.count(f'data-subject="{dana}"') == 3 and "<bdi>Noa</bdi>" in log
    assert "דנה" not in log  # the log names nobody
    for response in (
        await client.post(f"/console/customers/{dana}/export", data={"csrf": csrf}),
        await client.post("/console/customers/not-an-id/delete", data={"csrf": csrf}),
    ):
        assert response.status_code == 200 and "no customer" in response.text


async def test_conversations_export_every_message_of_this_business_only(
    client: httpx.AsyncClient,
    runtime: Runtime,
    business: tuple[Business, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exports, "PAGE", 2)  # several pages
    shop, key = business
    hebrew = "שָׁלוֹם, זה לא עובד ךםן 😡"
    other, other_key = await other_business(runtime)
    await _say(client, other, "stranger", "secret of another business")
    dana = (await _say(client, shop, "dana", hebrew))["customer_id"]
    avi = (await _say(client, shop, "avi", "=1+2"))["customer_id"]
    await _say(client, shop, "dana", "hello again")
    async with runtime.services.uow() as uow:
        stored = [
            m for c in (dana, avi) for m in await uow.messages.for_customer(uuid.UUID(c), limit=100)
        ]

    as_csv = await client.get(f"/api/v1/{shop.slug}/export/conversations.csv", headers=_auth(key))
    as_json = await client.get(f"/api/v1/{shop.slug}/export/conversations.json", headers=_auth(key))
    unauthorised = await client.get(
        f"/api/v1/{shop.slug}/export/conversations.csv", headers=_auth(other_key)
    )

    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert f"{shop.slug}-conversations.csv" in as_csv.headers["content-disposition"]
    text = as_csv.content.decode("utf-8")
    assert text.startswith("\ufeff") and "another business" not in text
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert list(rows[0]) == list(exports.MESSAGE_COLUMNS)
    assert [int(r["message_id"]) for r in rows] == sorted(m.id for m in stored)
    assert {r["customer_id"] for r in rows} == {dana, avi}
    inbound = [r for r in rows if r["direction"] == "in"]
    assert [r["text"] for r in inbound] == [hebrew, "'=1+2", "hello again"]
    assert all(r["channel"] == "sandbox" and r["conversation_id"] for r in rows)
    assert all(r["frustration"] for r in inbound) and float(inbound[0]["frustration"]) > 0
    assert as_json.headers["content-type"].startswith("application/json")
    items = json.loads(as_json.content.decode("utf-8"))
    assert [i["message_id"] for i in items] == [int(r["message_id"]) for r in rows]
    assert [i["text"] for i in items if i["direction"] == "in"] == [hebrew, "=1+2", "hello again"]
    assert hebrew in as_json.text  # not \\u-escaped
    assert unauthorised.status_code == 403

    await _admin(client, runtime, shop)
    page = (await client.get("/console/customers")).text
    from_console = await client.get("/console/customers/conversations.csv")
    json_console = await client.get("/console/customers/conversations.json")
    assert 'href="/console/customers/conversations.csv"' in page
    assert 'href="/console/customers/conversations.json"' in page
    assert from_console.content == as_csv.content and json_console.json() == items


async def test_an_empty_conversations_export_is_still_valid(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    as_json = await client.get(f"/api/v1/{shop.slug}/export/conversations.json", headers=_auth(key))
    as_csv = await client.get(f"/api/v1/{shop.slug}/export/conversations.csv", headers=_auth(key))
    assert as_json.json() == []
    assert as_csv.content.decode() == "\ufeff" + ",".join(exports.MESSAGE_COLUMNS) + "\r\n"


async def test_an_agent_who_is_not_an_admin_gets_a_page_in_their_language(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _sign_in(client, shop, await _agent(runtime, shop, language="he"))
    csrf = await _csrf(client)

    pages = [await client.get(p) for p in ("/console/keys", "/console/settings", "/console")]
    posted = await client.post("/console/keys", data={"csrf": csrf})
    as_json = await client.get("/console/keys", headers={"Accept": "application/json"})

    for page in [*pages, posted]:
        assert page.status_code == 403
        assert page.headers["content-type"].startswith("text/html")
        assert 'dir="rtl"' in page.text and "הדף הזה למנהלים בלבד" in page.text
        assert 'href="/inbox"' in page.text and "ksh_" not in page.text
    assert as_json.status_code == 403 and as_json.json()["error"]["code"] == "admins_only"
    listed = await client.get(f"/api/v1/{shop.slug}/keys", headers=_auth(key))
    assert len(listed.json()) == 1  # the refused POST made no key

    client.cookies.clear()
    await _sign_in(client, shop, await _agent(runtime, shop, language="en", role=AgentRole.AGENT))
    english = await client.get("/console/customers")
    assert english.status_code == 403 and "This page is for admins only" in english.text
    assert 'dir="ltr"' in english.text and "Back to the inbox" in english.text
