"""The agent inbox and the handoff API over HTTP: sign-in, CSRF, lockout, tenancy and escaping."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx

from app.bootstrap import Runtime
from bot.accounts.businesses import create_business
from bot.domain import AgentRole, Business
from bot.handoffs.agents import create_agent
from tests.integration.conftest import SQLITE_ONLY

pytestmark = SQLITE_ONLY  # pages and sign-in; handoffs run on both in test_handoffs

PASSWORD = "correct horse battery"
ASK_PERSON = "I want to talk to a real person"


async def _agent(
    runtime: Runtime,
    business: Business,
    *,
    role: AgentRole = AgentRole.AGENT,
    language: str = "en",
) -> str:
    email = f"agent-{uuid.uuid4().hex[:8]}@shop.test"
    async with runtime.services.uow() as uow:
        await create_agent(
            uow,
            business,
            email=email,
            name="Noa",
            password=PASSWORD,
            role=role,
            language=language,
            passwords=runtime.services.passwords,
            now=runtime.services.clock.now(),
        )
        await uow.commit()
    return email


async def _api_agent(client: httpx.AsyncClient, business: Business, key: str) -> dict:  # type: ignore[type-arg]
    """An agent made through the REST API, as a business with its own helpdesk would."""
    response = await client.post(
        f"/api/v1/{business.slug}/agents",
        json={
            "email": f"api-{uuid.uuid4().hex[:6]}@shop.test",
            "name": "Dor",
            "password": PASSWORD,
        },
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201, response.text
    agent: dict = response.json()  # type: ignore[type-arg]
    return agent


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert found, f"no {name} on the page"
    return found.group(1)


async def _sign_in(
    client: httpx.AsyncClient, business: Business, email: str, password: str = PASSWORD
) -> httpx.Response:
    form = await client.get("/inbox/login")
    return await client.post(
        "/inbox/login",
        data={
            "business": business.slug,
            "email": email,
            "password": password,
            "csrf": _hidden(form.text, "csrf"),
        },
    )


async def _csrf(client: httpx.AsyncClient) -> str:
    return _hidden((await client.get("/inbox")).text, "csrf")


async def _ask(client: httpx.AsyncClient, business: Business, customer: str, text: str) -> None:
    response = await client.post(
        f"/api/v1/{business.slug}/sandbox/messages", json={"customer": customer, "text": text}
    )
    assert response.status_code == 200, response.text


async def _sent_to(
    client: httpx.AsyncClient, business: Business, customer: str, count: int
) -> list[str]:
    """The sandbox transcript once it holds `count` messages (a worker may still be sending)."""
    texts: list[str] = []
    for _ in range(100):
        found = await client.get(
            f"/api/v1/{business.slug}/sandbox/messages", params={"customer": customer}
        )
        texts = [m["text"] for m in found.json()["messages"] if m["direction"] == "out"]
        if len(texts) >= count:
            break
        await asyncio.sleep(0.05)
    return texts


async def _open_handoffs(client: httpx.AsyncClient, business: Business, key: str) -> list[dict]:  # type: ignore[type-arg]
    response = await client.get(
        f"/api/v1/{business.slug}/handoffs", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 200, response.text
    return list(response.json())


async def _signed_in_with_a_handoff(
    client: httpx.AsyncClient, runtime: Runtime, shop: Business, key: str
) -> dict:  # type: ignore[type-arg]
    """An agent signed in, and the handoff customer maya's request for a person opened."""
    await _sign_in(client, shop, await _agent(runtime, shop))
    await _ask(client, shop, "maya", ASK_PERSON)
    (handoff,) = await _open_handoffs(client, shop, key)
    return handoff


async def test_the_inbox_without_a_session_sends_to_the_login_form(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/inbox")
    assert response.status_code == 303 and response.headers["location"] == "/inbox/login"
    htmx = await client.get("/inbox/queue", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["hx-redirect"] == "/inbox/login"


async def test_signing_in_sets_an_httponly_session_and_shows_the_queue(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    email = await _agent(runtime, shop)
    response = await _sign_in(client, shop, email)

    assert response.status_code == 303 and response.headers["location"] == "/inbox"
    cookie = response.headers["set-cookie"]
    assert "kesher_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = await client.get("/inbox")
    assert page.status_code == 200 and "Agent inbox" in page.text


async def test_a_post_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    handoff = await _signed_in_with_a_handoff(client, runtime, shop, key)

    forged = await client.post(
        f"/inbox/handoffs/{handoff['id']}/resolve", headers={"HX-Request": "true"}
    )
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "csrf"
    # A plain form (a page left open since another sign-in) gets a page, not raw JSON.
    stale = await client.post(
        "/inbox/status", data={"online": "on", "csrf": "stale"}, headers={"referer": "/inbox"}
    )
    assert stale.status_code == 400 and "text/html" in stale.headers["content-type"]
    assert "The form expired" in stale.text and 'href="/inbox"' in stale.text
    assert (await _open_handoffs(client, shop, key))[0]["state"] != "resolved"


async def test_a_login_posted_with_neither_form_token_nor_its_cookie_is_refused(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    """Another site must not be able to sign a visitor in to an account it holds."""
    shop, _ = business
    email = await _agent(runtime, shop)
    forged = await client.post(
        "/inbox/login", data={"email": email, "password": PASSWORD, "csrf": ""}
    )
    assert forged.status_code == 400
    assert "kesher_session" not in forged.headers.get("set-cookie", "")


async def test_a_password_too_long_to_sign_in_with_cannot_be_set_and_a_long_login_is_wrong(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    made = await client.post(
        f"/api/v1/{shop.slug}/agents",
        json={"email": "long@shop.test", "name": "Dor", "password": "p" * 201},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert made.status_code == 422 and "at most 200" in made.json()["error"]["message"]

    long = await _sign_in(client, shop, await _agent(runtime, shop), "p" * 201)
    assert long.status_code == 401 and "text/html" in long.headers["content-type"]


async def test_five_wrong_passwords_lock_the_login_even_for_the_right_one(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    email = await _agent(runtime, shop)
    codes = [(await _sign_in(client, shop, email, "wrong password!")).status_code for _ in range(5)]
    right = await _sign_in(client, shop, email)

    assert codes == [401, 401, 401, 401, 429]
    assert right.status_code == 429 and "יותר מדי ניסיונות. נסו שוב בעוד 15 דקות" in right.text
    assert 14 * 60 < int(right.headers["retry-after"]) <= 15 * 60
    assert "kesher_session" not in right.headers.get("set-cookie", "")


async def test_an_agent_replies_and_resolves_and_a_script_from_a_customer_shows_as_text(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _sign_in(client, shop, await _agent(runtime, shop))
    await _ask(client, shop, "maya", "<script>alert(1)</script>")
    await _ask(client, shop, "maya", ASK_PERSON)
    (handoff,) = await _open_handoffs(client, shop, key)
    token = await _csrf(client)

    view = await client.get(f"/inbox/handoffs/{handoff['id']}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in view.text
    here = ZoneInfo(shop.timezone)  # times are the business's, not UTC
    now = runtime.services.clock.now()
    shown = {(now - timedelta(minutes=m)).astimezone(here).strftime("%d/%m %H:%M") for m in (0, 1)}
    assert any(f"sandbox · {at}" in view.text for at in shown), shown
    assert "<script>alert(1)</script>" not in view.text
    replied = await client.post(
        f"/inbox/handoffs/{handoff['id']}/reply",
        data={"text": "Hi Maya, Noa here.", "key": "k1"},
        headers={"X-CSRF-Token": token},
    )
    assert replied.status_code == 200 and "Hi Maya, Noa here." in replied.text
    assert "Hi Maya, Noa here." in await _sent_to(client, shop, "maya", 3)

    await client.post(f"/inbox/handoffs/{handoff['id']}/resolve", headers={"X-CSRF-Token": token})
    assert await _open_handoffs(client, shop, key) == []
    after = await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages", json={"customer": "maya", "text": "thanks!"}
    )
    assert after.json()["replies"], "the bot answers again once the handoff is resolved"


async def test_a_refused_reply_comes_back_in_its_box_and_new_lines_count_once(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    handoff = await _signed_in_with_a_handoff(client, runtime, shop, key)
    token = await _csrf(client)
    url = f"/inbox/handoffs/{handoff['id']}/reply"

    too_long = await client.post(
        url, data={"text": "שלום " * 801, "key": "k1"}, headers={"X-CSRF-Token": token}
    )
    # 4,000 characters as the page counts them; the browser sends each new line as CRLF.
    full = await client.post(
        url, data={"text": "שלום\r\n" * 800, "key": "k2"}, headers={"X-CSRF-Token": token}
    )

    assert too_long.status_code == 200 and "longer than 4000" in too_long.text
    assert f">{'שלום ' * 801}</textarea>" in too_long.text
    assert full.status_code == 200 and "longer than" not in full.text
    sent = await _sent_to(client, shop, "maya", 3)
    assert any(text.strip() == ("שלום\n" * 800).strip() for text in sent)


async def test_an_agent_switches_their_own_language_and_stays_on_the_page(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    await _sign_in(client, shop, await _agent(runtime, shop, language="he"))
    hebrew = await client.get("/inbox")
    token = _hidden(hebrew.text, "csrf")

    switched = await client.post(
        "/inbox/language", data={"lang": "en", "back": "/inbox", "csrf": token}
    )
    english = await client.get("/inbox")
    away = await client.post(
        "/inbox/language", data={"lang": "he", "back": "//elsewhere.test/x", "csrf": token}
    )

    assert 'dir="rtl"' in hebrew.text and 'name="lang" value="en"' in hebrew.text
    assert switched.status_code == 303 and switched.headers["location"] == "/inbox"
    assert 'dir="ltr"' in english.text and "Agent inbox" in english.text
    assert away.headers["location"] == "/inbox"  # only back to Kesher's own pages


async def test_a_hebrew_speaking_agent_reads_why_in_hebrew(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _sign_in(client, shop, await _agent(runtime, shop, language="he"))
    await _ask(client, shop, "dana", "I WANT A HUMAN NOW, this is useless!!!")
    (handoff,) = await _open_handoffs(client, shop, key)

    queue = await client.get("/inbox/queue")
    view = await client.get(f"/inbox/handoffs/{handoff['id']}")

    assert "asks for a person" in handoff["reason"]  # the API keeps the English
    for page in (queue.text, view.text):
        assert "מבקש/ת לדבר עם נציג" in page and "asks for a person" not in page
    assert "מילים שליליות: useless" in view.text and "סימנים חוזרים !!!" in view.text


async def test_agents_of_one_business_never_see_another_business_handoffs(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    async with runtime.services.uow() as uow:
        other, other_key = await create_business(
            uow,
            f"other-{uuid.uuid4().hex[:8]}",
            name="Other",
            sandbox=True,
            now=runtime.services.clock.now(),
        )
        await uow.commit()
    await _ask(client, shop, "secret-customer", ASK_PERSON)
    (handoff,) = await _open_handoffs(client, shop, key)
    await _sign_in(client, other, await _agent(runtime, other))

    queue = await client.get("/inbox/queue")
    assert (
        "secret-customer" not in queue.text and f'data-handoff="{handoff["id"]}"' not in queue.text
    )
    view = await client.get(f"/inbox/handoffs/{handoff['id']}")
    assert view.status_code == 404
    api = await client.get(
        f"/api/v1/{shop.slug}/handoffs/{handoff['id']}",
        headers={"Authorization": f"Bearer {other_key}"},
    )
    assert api.status_code == 403
    own = await client.get(
        f"/api/v1/{other.slug}/handoffs/{handoff['id']}",
        headers={"Authorization": f"Bearer {other_key}"},
    )
    assert own.status_code == 404


async def test_the_rest_api_opens_claims_notes_replies_and_resolves_a_handoff(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    auth = {"Authorization": f"Bearer {key}"}
    await _ask(client, shop, "avi", "hello")
    customers = (await client.get(f"/api/v1/{shop.slug}/customers", headers=auth)).json()
    (customer,) = customers["customers"]
    agent = await _api_agent(client, shop, key)
    base = f"/api/v1/{shop.slug}/handoffs"

    opened = await client.post(
        base, json={"customer": customer["id"], "reason": "VIP"}, headers=auth
    )
    again = await client.post(base, json={"customer": customer["id"]}, headers=auth)
    assert (opened.status_code, again.status_code) == (201, 200)
    assert opened.json()["state"] == "waiting" and again.json()["id"] == opened.json()["id"]
    handoff = opened.json()["id"]
    claimed = await client.post(
        f"{base}/{handoff}/claim", json={"agent": agent["id"]}, headers=auth
    )
    assert claimed.json()["state"] == "assigned" and claimed.json()["agent_id"] == agent["id"]
    noted = await client.post(
        f"{base}/{handoff}/notes", json={"agent": agent["id"], "text": "VIP, be nice"}, headers=auth
    )
    assert noted.status_code == 201
    replied = await client.post(
        f"{base}/{handoff}/reply",
        json={"agent": agent["id"], "text": "Hello from Dor", "key": "once"},
        headers=auth,
    )
    twice = await client.post(
        f"{base}/{handoff}/reply",
        json={"agent": agent["id"], "text": "Hello from Dor", "key": "once"},
        headers=auth,
    )
    assert replied.status_code == twice.status_code == 202
    assert replied.json()["message_id"] == twice.json()["message_id"]
    detail = (await client.get(f"{base}/{handoff}", headers=auth)).json()
    assert [m["text"] for m in detail["messages"]].count("Hello from Dor") == 1
    resolved = await client.post(
        f"{base}/{handoff}/resolve", json={"agent": agent["id"]}, headers=auth
    )
    assert resolved.json()["state"] == "resolved"
    late = await client.post(f"{base}/{handoff}/resolve", headers=auth)
    assert late.status_code == 400 and late.json()["error"]["code"] == "handoff_state"


async def test_bad_handoff_input_gets_a_clear_400_and_changes_nothing(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    auth = {"Authorization": f"Bearer {key}"}
    await _ask(client, shop, "lea", ASK_PERSON)
    (handoff,) = await _open_handoffs(client, shop, key)
    agent = await _api_agent(client, shop, key)
    base = f"/api/v1/{shop.slug}/handoffs/{handoff['id']}"

    cases = [
        (f"{base}/reply", {"agent": agent["id"], "text": "   "}, "empty_reply"),
        (
            f"{base}/reply",
            {"agent": agent["id"], "text": "hi", "template": "poem"},
            "invalid_template",
        ),
        (f"{base}/notes", {"agent": agent["id"], "text": " \n "}, "empty_note"),
        (f"{base}/transfer", {"agent": 999_999}, "agent_not_found"),
        (
            f"/api/v1/{shop.slug}/agents",
            {"email": "x@shop.test", "name": "X", "password": "short"},
            "weak_password",
        ),
        (
            f"/api/v1/{shop.slug}/agents",
            {"email": "not-an-email", "name": "X", "password": PASSWORD},
            "invalid_email",
        ),
    ]
    for path, body, code in cases:
        response = await client.post(path, json=body, headers=auth)
        assert response.status_code in (400, 404), (path, response.text)
        assert response.json()["error"]["code"] == code
    rules = await client.put(
        f"/api/v1/{shop.slug}/handoff-rules",
        json={"sla": "soon", "low_score": "maybe"},
        headers=auth,
    )
    assert rules.status_code == 400 and "sla" in rules.json()["error"]["message"]
    assert (await client.get(f"/api/v1/{shop.slug}/handoff-rules", headers=auth)).json() == {}
    (still,) = await _open_handoffs(client, shop, key)
    assert still["state"] == "waiting" and still["first_reply_at"] is None

    await _sign_in(client, shop, await _agent(runtime, shop))
    token = await _csrf(client)
    odd = await client.post(
        f"/inbox/handoffs/{handoff['id']}/transfer",
        data={"agent": "'; drop table agents"},
        headers={"X-CSRF-Token": token},
    )
    assert odd.status_code == 200 and "no agent 0" in odd.text


async def test_telegram_alerts_without_a_connected_bot_say_what_to_do_first(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    await _sign_in(client, shop, await _agent(runtime, shop))

    page = await client.post("/inbox/telegram", headers={"X-CSRF-Token": await _csrf(client)})

    assert page.status_code == 200
    assert f"connect a Telegram bot to &#39;{shop.slug}&#39; first" in page.text
    assert "t.me/" not in page.text


async def test_an_alert_link_opened_directly_shows_the_whole_inbox_with_the_conversation(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    handoff = await _signed_in_with_a_handoff(client, runtime, shop, key)
    link = f"/inbox/handoffs/{handoff['id']}"

    direct = await client.get(link)
    assert direct.status_code == 200
    assert direct.text.lstrip().startswith("<!doctype html>")
    assert 'id="queue"' in direct.text and 'sse-connect="/inbox/stream"' in direct.text
    assert 'id="handoff"' in direct.text and ASK_PERSON in direct.text

    fragment = await client.get(link, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="queue"' not in fragment.text
    assert 'id="handoff"' in fragment.text and ASK_PERSON in fragment.text
