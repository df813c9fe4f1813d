"""The authorization matrix: every REST operation (from the OpenAPI document, so a new one is
never missed) without a key, with another business's key, with a revoked key, with the right
key on another business's records; every console and inbox page without a login, as an agent
and as an admin; and an agent of one business on another's handoff. Every cell is checked."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.bootstrap import Runtime
from app.web.app import create_app
from bot.domain import Business
from tests.integration.conftest import SQLITE_ONLY, running
from tests.integration.test_console import _admin
from tests.integration.test_inbox import _agent, _csrf, _sign_in
from tests.seeds import other_business

SANDBOX = re.compile(r"/sandbox/")
CONSOLE = [
    "/console",
    "/console/digest",
    "/console/digest.csv",
    "/console/schedules",
    "/console/channels",
    "/console/customers",
    "/console/customers/export.csv",
    "/console/agents",
    "/console/rules",
    "/console/keys",
    "/console/knowledge",
    "/console/settings",
]


def _operations(runtime: Runtime) -> list[tuple[str, str]]:
    paths = create_app(runtime, manage_runtime=False).openapi()["paths"]
    found = [
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/api/v1/{business}/") and not SANDBOX.search(path)
        for method in operations
    ]
    assert len(found) > 60, "the OpenAPI document lists the REST API"
    return found


async def _records(
    client: httpx.AsyncClient, runtime: Runtime, other: Business, key: str
) -> dict[str, Any]:
    """Another business's customer, handoff, conversation, agent, key and knowledge entry: ids to try from the wrong business."""
    said = await client.post(
        f"/api/v1/{other.slug}/sandbox/messages", json={"customer": "theirs", "text": "hello"}
    )
    customer = said.json()["customer_id"]
    auth = {"Authorization": f"Bearer {key}"}
    handoff = await client.post(
        f"/api/v1/{other.slug}/handoffs", json={"customer": customer}, headers=auth
    )
    assert handoff.status_code == 201, handoff.text
    email = await _agent(runtime, other)
    agents = (await client.get(f"/api/v1/{other.slug}/agents", headers=auth)).json()
    keys = (await client.get(f"/api/v1/{other.slug}/keys", headers=auth)).json()
    entry = await client.post(
        f"/api/v1/{other.slug}/knowledge",
        json={"question_en": "Parking?", "answer_en": "Behind the building."},
        headers=auth,
    )
    assert entry.status_code == 201, entry.text
    (conversation,) = (
        await client.get(f"/api/v1/{other.slug}/conversations", headers=auth)
    ).json()["items"]
    return {
        "customer_id": customer,
        "handoff_id": handoff.json()["id"],
        "agent_id": next(a["id"] for a in agents if a["email"] == email),
        "key_id": keys[0]["id"],
        "entry_id": entry.json()["id"],
        "message_id": said.json()["message_id"],
        "conversation_id": conversation["id"],
        "name": "nightly",
    }


def _fill(path: str, slug: str, ids: dict[str, Any]) -> str:
    return re.sub(
        r"\{(\w+)\}", lambda m: slug if m.group(1) == "business" else str(ids[m.group(1)]), path
    )


@SQLITE_ONLY  # who may do what is decided above the store
async def test_every_rest_operation_refuses_who_may_not_and_never_leaks_across_businesses(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    mine, key = business
    other, other_key = await other_business(runtime)
    theirs = await _records(client, runtime, other, other_key)
    revoked = (
        await client.post(f"/api/v1/{mine.slug}/keys", headers={"Authorization": f"Bearer {key}"})
    ).json()
    assert (
        await client.delete(
            f"/api/v1/{mine.slug}/keys/{revoked['id']}",
            headers={"Authorization": f"Bearer {key}"},
        )
    ).status_code == 200
    wrong: list[str] = []

    for method, path in _operations(runtime):
        url = _fill(path, mine.slug, theirs)
        cells = {
            "no key": ({}, {401}),
            "another business's key": ({"Authorization": f"Bearer {other_key}"}, {403}),
            "a revoked key": ({"Authorization": f"Bearer {revoked['key']}"}, {401}),
            "a key that is no key": ({"Authorization": "Bearer ksh_nothing"}, {401}),
            "not bearer": ({"Authorization": f"Basic {key}"}, {401}),
        }
        for cell, (headers, expected) in cells.items():
            answer = await client.request(method, url, headers=headers, json={})
            if answer.status_code not in expected:
                wrong.append(f"{method} {path} with {cell}: {answer.status_code}")
        # The right key on the other business's records: found nowhere (ids in the path).
        own = await client.request(method, url, headers={"Authorization": f"Bearer {key}"}, json={})
        leaked = any(part in path for part in ("_id}",)) and own.status_code < 300
        if own.status_code in (401, 403) or own.status_code >= 500 or leaked:
            wrong.append(f"{method} {path} with the key, their ids: {own.status_code}")
        if str(theirs["customer_id"]) in own.text and "customer_id}" not in path:
            wrong.append(f"{method} {path} shows another business's customer")

    assert wrong == []


@SQLITE_ONLY
async def test_pages_need_a_login_the_console_an_admin_and_an_agent_sees_only_their_business(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    mine, _ = business
    other, other_key = await other_business(runtime)
    theirs = await _records(client, runtime, other, other_key)
    pages = ["/inbox", "/inbox/queue", "/inbox/alerts", "/inbox/conversations", *CONSOLE]

    for page in pages:
        away = await client.get(page)
        login = "/console/login" if page.startswith("/console") else "/inbox/login"
        assert away.status_code == 303 and away.headers["location"].startswith(login), page
    refused = await client.post("/inbox/status", data={"online": "1"})
    assert refused.status_code in (303, 401, 403)
    resolving = await client.post(
        f"/inbox/conversations/{uuid.uuid4()}/status", data={"status": "resolved"}
    )
    assert resolving.status_code in (303, 401, 403)

    await _sign_in(client, mine, await _agent(runtime, mine))
    for page in CONSOLE:
        answer = await client.get(page)
        assert answer.status_code == 403 and 'id="admins-only"' in answer.text, page
    assert (await client.get("/inbox")).status_code == 200
    foreign = await client.get(f"/inbox/handoffs/{theirs['handoff_id']}")
    assert foreign.status_code == 404
    claim = await client.post(
        f"/inbox/handoffs/{theirs['handoff_id']}/claim",
        headers={"X-CSRF-Token": await _csrf(client)},
    )
    assert claim.status_code == 404
    async with runtime.services.uow() as uow:
        handoff = await uow.handoffs.get(other.id, theirs["handoff_id"])
    assert handoff is not None and handoff.agent_id is None

    await client.post("/inbox/logout", data={})
    client.cookies.clear()
    await _admin(client, runtime, mine)
    for page in CONSOLE:
        assert (await client.get(page)).status_code == 200, page
    assert (await client.get(f"/inbox/handoffs/{theirs['handoff_id']}")).status_code == 404
    assert (
        str(uuid.UUID(theirs["customer_id"])) not in (await client.get("/console/customers")).text
    )


@pytest.fixture(params=["sqlite-memory"])
async def closed(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Runtime]:
    """Kesher as deployed on Redis: the sandbox, too, needs the business's key."""
    async for built in running(request, tmp_path, sandbox_open=False):
        yield built


async def test_with_the_sandbox_closed_every_api_operation_refuses_a_caller_without_the_key(
    closed: Runtime,
) -> None:
    mine, key = await other_business(closed, "mine")
    _, other_key = await other_business(closed, "theirs")
    transport = httpx.ASGITransport(app=create_app(closed, manage_runtime=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://kesher.test") as client:
        auth = {"Authorization": f"Bearer {key}"}
        revoked = (await client.post(f"/api/v1/{mine.slug}/keys", headers=auth)).json()
        gone = await client.delete(f"/api/v1/{mine.slug}/keys/{revoked['id']}", headers=auth)
        assert gone.status_code == 200
        paths = create_app(closed, manage_runtime=False).openapi()["paths"]
        # Every operation under /api/v1, the sandbox's included: nothing is left out by name.
        operations = [
            (method.upper(), path)
            for path, listed in paths.items()
            if path.startswith("/api/v1/")
            for method in listed
        ]
        assert any("/sandbox/" in path for _, path in operations)
        any_id = str(uuid.uuid4())
        wrong = []
        for method, path in operations:
            url = re.sub(
                r"\{(\w+)\}", lambda m: mine.slug if m.group(1) == "business" else any_id, path
            )
            for cell, headers, expected in [
                ("no key", {}, 401),
                ("another business's key", {"Authorization": f"Bearer {other_key}"}, 403),
                ("a revoked key", {"Authorization": f"Bearer {revoked['key']}"}, 401),
            ]:
                answer = await client.request(method, url, headers=headers, json={})
                if answer.status_code != expected:
                    wrong.append(f"{method} {path} with {cell}: {answer.status_code}")

    assert wrong == []
