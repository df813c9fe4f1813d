"""Offboarding agents on both backends: disabled (signed out on the next request, no sign-in,
their handoffs and conversations handed on), enabled again, deleted (their name stays on what
they wrote, their email is free), a password reset by an admin (API, console) and an agent's
own new password (inbox)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from app.bootstrap import Runtime
from app.web.app import create_app
from bot.accounts.businesses import create_business
from bot.conversations import actions
from bot.domain import Agent, AgentRole, Business, ConversationStatus, Handoff
from bot.handoffs import service as handoffs
from bot.handoffs.agents import create_agent
from tests.integration.test_inbox import PASSWORD, _hidden, _sign_in

NEW_PASSWORD = "a brand new passphrase"
ASK_PERSON = "I want to talk to a real person"


@pytest.fixture
async def other_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser: its own cookies."""
    app = create_app(runtime, manage_runtime=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kesher.test") as http:
        yield http


async def _agent(
    runtime: Runtime,
    business: Business,
    name: str,
    *,
    role: AgentRole = AgentRole.AGENT,
    online: bool = False,
    language: str = "en",
) -> Agent:
    async with runtime.services.uow() as uow:
        agent = await create_agent(
            uow,
            business,
            email=f"{name.lower()}-{uuid.uuid4().hex[:6]}@shop.test",
            name=name,
            password=PASSWORD,
            role=role,
            language=language,
            now=runtime.services.clock.now(),
            passwords=runtime.services.passwords,
        )
        if online:
            await handoffs.set_online(uow, business, agent, True, now=runtime.services.clock.now())
        await uow.commit()
    return agent


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _ask_for_a_person(client: httpx.AsyncClient, business: Business, customer: str) -> None:
    response = await client.post(
        f"/api/v1/{business.slug}/sandbox/messages",
        json={"customer": customer, "text": ASK_PERSON},
    )
    assert response.status_code == 200, response.text


async def _handoff_of(runtime: Runtime, business: Business) -> Handoff:
    async with runtime.services.uow() as uow:
        (handoff,) = await uow.handoffs.list(business.id)
    return handoff


async def test_a_disabled_agent_is_signed_out_on_the_next_request_and_cannot_sign_in(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    noa = await _agent(runtime, shop, "Noa")
    assert (await _sign_in(client, shop, noa.email)).status_code == 303
    assert (await client.get("/inbox")).status_code == 200

    disabled = await client.patch(
        f"/api/v1/{shop.slug}/agents/{noa.id}", json={"disabled": True}, headers=_auth(key)
    )

    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    after = await client.get("/inbox")
    assert after.status_code == 303 and after.headers["location"] == "/inbox/login"
    refused = await _sign_in(client, shop, noa.email)
    assert refused.status_code == 401 and "kesher_session" not in refused.headers.get(
        "set-cookie", ""
    )
    online = await client.put(
        f"/api/v1/{shop.slug}/agents/{noa.id}/status", json={"online": True}, headers=_auth(key)
    )
    assert online.status_code == 400 and online.json()["error"]["code"] == "agent_disabled"

    enabled = await client.patch(
        f"/api/v1/{shop.slug}/agents/{noa.id}", json={"disabled": False}, headers=_auth(key)
    )
    assert enabled.status_code == 200 and enabled.json()["disabled"] is False
    assert (await _sign_in(client, shop, noa.email)).status_code == 303
    assert (await client.get("/inbox")).status_code == 200


async def test_disabling_hands_their_handoff_to_a_colleague_and_their_conversations_to_the_queue(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    noa = await _agent(runtime, shop, "Noa", online=True)
    await _ask_for_a_person(client, shop, "maya")
    await _ask_for_a_person(client, shop, "dan")
    services, now = runtime.services, runtime.services.clock.now()
    async with services.uow() as uow:
        held = await uow.handoffs.list(shop.id)
        assert {h.agent_id for h in held} == {noa.id}
        maya, dan = sorted(held, key=lambda h: h.requested_at)
        await handoffs.resolve(uow, shop, dan.id, agent=noa, now=now)
        for handoff in (maya, dan):
            await actions.assign(uow, shop, handoff.conversation_id, noa.id, now=now)
        await uow.commit()
    eli = await _agent(runtime, shop, "Eli", online=True)

    response = await client.patch(
        f"/api/v1/{shop.slug}/agents/{noa.id}", json={"disabled": True}, headers=_auth(key)
    )

    assert response.status_code == 200
    async with services.uow() as uow:
        handoff = await uow.handoffs.get(shop.id, maya.id)
        open_one = await uow.conversations.get(maya.conversation_id)
        resolved_one = await uow.conversations.get(dan.conversation_id)
        noa_now = await uow.agents.get(noa.id)
    assert handoff is not None and handoff.agent_id == eli.id
    assert open_one.assignee_id is None
    # A resolved conversation keeps who handled it.
    assert resolved_one.status is ConversationStatus.RESOLVED
    assert resolved_one.assignee_id == noa.id
    assert noa_now is not None and not noa_now.online and not noa_now.active
    transfer = await client.post(
        f"/api/v1/{shop.slug}/handoffs/{maya.id}/transfer",
        json={"agent": noa.id},
        headers=_auth(key),
    )
    assert transfer.status_code == 400 and transfer.json()["error"]["code"] == "agent_disabled"
    claim = await client.post(
        f"/api/v1/{shop.slug}/handoffs/{maya.id}/claim", json={"agent": noa.id}, headers=_auth(key)
    )
    assert claim.status_code == 400 and claim.json()["error"]["code"] == "agent_disabled"


async def test_a_deleted_agent_leaves_their_name_on_their_replies_and_notes_and_frees_the_email(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    runtime: Runtime,
    business: tuple[Business, str],
) -> None:
    shop, key = business
    noa = await _agent(runtime, shop, "Noa Levi", online=True)
    eli = await _agent(runtime, shop, "Eli", online=False)
    await _ask_for_a_person(client, shop, "maya")
    handoff = await _handoff_of(runtime, shop)
    for path, text in (("reply", "Checking your order now"), ("notes", "VIP, be quick")):
        said = await client.post(
            f"/api/v1/{shop.slug}/handoffs/{handoff.id}/{path}",
            json={"agent": noa.id, "text": text},
            headers=_auth(key),
        )
        assert said.status_code in (201, 202), said.text
    assert (await _sign_in(other_client, shop, noa.email)).status_code == 303

    deleted = await client.delete(f"/api/v1/{shop.slug}/agents/{noa.id}", headers=_auth(key))

    assert deleted.status_code == 204
    assert (await other_client.get("/inbox")).status_code == 303
    team = (await client.get(f"/api/v1/{shop.slug}/agents", headers=_auth(key))).json()
    assert [a["id"] for a in team] == [eli.id]
    again = await client.delete(f"/api/v1/{shop.slug}/agents/{noa.id}", headers=_auth(key))
    assert again.status_code == 404 and again.json()["error"]["code"] == "agent_not_found"

    assert (await _sign_in(other_client, shop, eli.email)).status_code == 303
    page = await other_client.get(f"/inbox/handoffs/{handoff.id}")
    assert page.status_code == 200
    thread = page.text[page.text.index('id="thread"') :]
    reply = thread[thread.index("Checking your order now") :]
    assert reply[: reply.index("</div></div>")].count("Noa Levi") == 1
    notes = page.text[page.text.index("VIP, be quick") :]
    assert "Noa Levi" in notes[: notes.index("</p>")]

    reused = await client.post(
        f"/api/v1/{shop.slug}/agents",
        json={"email": noa.email, "name": "Noa Levi", "password": PASSWORD},
        headers=_auth(key),
    )
    assert reused.status_code == 201 and reused.json()["id"] != noa.id
    async with runtime.services.uow() as uow:
        log = await uow.audit.list(shop.id, limit=10)
    assert ("agent_deleted", f"agent:{noa.id}") in [(e.action, e.subject) for e in log]


async def test_the_last_admin_cannot_be_disabled_nor_deleted_and_other_businesses_agents_are_unseen(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    boss = await _agent(runtime, shop, "Boss", role=AgentRole.ADMIN)
    async with runtime.services.uow() as uow:
        other, _ = await create_business(
            uow,
            f"other-{uuid.uuid4().hex[:6]}",
            name="Other",
            sandbox=False,
            now=runtime.services.clock.now(),
        )
        await uow.commit()
    stranger = await _agent(runtime, other, "Stranger")

    disable = await client.patch(
        f"/api/v1/{shop.slug}/agents/{boss.id}", json={"disabled": True}, headers=_auth(key)
    )
    delete = await client.delete(f"/api/v1/{shop.slug}/agents/{boss.id}", headers=_auth(key))
    theirs = await client.delete(f"/api/v1/{shop.slug}/agents/{stranger.id}", headers=_auth(key))
    reset = await client.post(
        f"/api/v1/{shop.slug}/agents/{stranger.id}/password",
        json={"password": NEW_PASSWORD},
        headers=_auth(key),
    )

    assert disable.status_code == 400 and disable.json()["error"]["code"] == "last_admin"
    assert delete.status_code == 400 and delete.json()["error"]["code"] == "last_admin"
    assert theirs.status_code == 404 and reset.status_code == 404
    async with runtime.services.uow() as uow:
        assert (await uow.agents.get(boss.id)) is not None
        assert (await uow.agents.get(stranger.id)) is not None


async def test_an_admin_s_password_reset_signs_the_agent_out_and_only_the_new_one_works(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    runtime: Runtime,
    business: tuple[Business, str],
) -> None:
    shop, key = business
    noa = await _agent(runtime, shop, "Noa")
    assert (await _sign_in(other_client, shop, noa.email)).status_code == 303

    weak = await client.post(
        f"/api/v1/{shop.slug}/agents/{noa.id}/password",
        json={"password": "short"},
        headers=_auth(key),
    )
    reset = await client.post(
        f"/api/v1/{shop.slug}/agents/{noa.id}/password",
        json={"password": NEW_PASSWORD},
        headers=_auth(key),
    )

    assert weak.status_code == 400 and weak.json()["error"]["code"] == "weak_password"
    assert reset.status_code == 200 and reset.json()["email"] == noa.email
    assert (await other_client.get("/inbox")).status_code == 303
    assert (await _sign_in(client, shop, noa.email)).status_code == 401
    assert (await _sign_in(client, shop, noa.email, NEW_PASSWORD)).status_code == 303


async def test_an_agent_changes_their_own_password_and_their_other_sessions_end(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    runtime: Runtime,
    business: tuple[Business, str],
) -> None:
    shop, _ = business
    noa = await _agent(runtime, shop, "Noa", language="he")
    await _sign_in(client, shop, noa.email)
    await _sign_in(other_client, shop, noa.email)
    page = await client.get("/inbox/password")
    assert page.status_code == 200 and 'dir="rtl"' in page.text and "הסיסמה שלי" in page.text
    csrf = _hidden(page.text, "csrf")

    wrong = await client.post(
        "/inbox/password",
        data={"csrf": csrf, "current": "not my password", "password": NEW_PASSWORD},
    )
    changed = await client.post(
        "/inbox/password", data={"csrf": csrf, "current": PASSWORD, "password": NEW_PASSWORD}
    )

    assert wrong.status_code == 400 and "הסיסמה הנוכחית שגויה" in wrong.text
    assert changed.status_code == 200 and 'id="password-changed"' in changed.text
    assert (await client.get("/inbox")).status_code == 200
    assert (await other_client.get("/inbox")).status_code == 303
    assert (await _sign_in(other_client, shop, noa.email)).status_code == 401
    assert (await _sign_in(other_client, shop, noa.email, NEW_PASSWORD)).status_code == 303


async def test_the_console_disables_only_with_the_tick_and_deletes_and_resets_in_hebrew(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    boss = await _agent(runtime, shop, "Boss", role=AgentRole.ADMIN, language="he")
    noa = await _agent(runtime, shop, "Noa")
    await _sign_in(client, shop, boss.email)
    page = await client.get("/console/agents")
    csrf = _hidden(page.text, "csrf")
    assert 'dir="rtl"' in page.text and "השבתה" in page.text and "מחיקה" in page.text
    # The admin's own row offers no way to lock themselves out.
    assert f'action="/console/agents/{boss.id}/disable"' not in page.text

    untick = await client.post(f"/console/agents/{noa.id}/disable", data={"csrf": csrf})
    assert "יש לסמן את תיבת האישור" in untick.text
    async with runtime.services.uow() as uow:
        assert (await uow.agents.get(noa.id)).active  # type: ignore[union-attr]

    ticked = await client.post(
        f"/console/agents/{noa.id}/disable", data={"csrf": csrf, "confirm": "on"}
    )
    assert ticked.status_code == 303
    listed = await client.get("/console/agents")
    row = listed.text[listed.text.index(f'data-agent="{noa.email}"') :]
    assert row.startswith(f'data-agent="{noa.email}" data-disabled="true"')
    assert f'action="/console/agents/{noa.id}/enable"' in listed.text

    reset = await client.post(
        f"/console/agents/{noa.id}/password", data={"csrf": csrf, "password": NEW_PASSWORD}
    )
    assert reset.status_code == 303 and "password_reset_done" in reset.headers["location"]
    short = await client.post(
        f"/console/agents/{noa.id}/password", data={"csrf": csrf, "password": "short"}
    )
    assert "הסיסמה צריכה להיות באורך 10 עד 200 תווים" in short.text

    deleted = await client.post(
        f"/console/agents/{noa.id}/delete", data={"csrf": csrf, "confirm": "on"}
    )
    assert deleted.status_code == 303
    assert f'data-agent="{noa.email}"' not in (await client.get("/console/agents")).text
    async with runtime.services.uow() as uow:
        actions_logged = [e.action for e in await uow.audit.list(shop.id, limit=10)]
    assert {"agent_disabled", "agent_password_reset", "agent_deleted"} <= set(actions_logged)
