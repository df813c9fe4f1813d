"""Privacy requests: a customer's whole record exported, then deleted leaving no trace in any
table, both in the audit log; on both backends."""

from __future__ import annotations

import uuid

import httpx

from app.bootstrap import Runtime
from bot.domain import Business
from storage.tables import Base
from tests.integration.test_inbox import _api_agent
from tests.integration.test_insights_api import _customer
from tests.seeds import add_answers


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _rows_mentioning(runtime: Runtime, *needles: str, skip: str = "") -> list[str]:
    """Every row of every table (but `skip`) whose text holds one of the needles."""
    found = []
    async with runtime.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name == skip:
                continue
            for row in await connection.execute(table.select()):
                text = " ".join(str(value) for value in row)
                found += [f"{table.name}: {text[:120]}" for n in needles if n in text]
    return found


async def test_a_customer_is_exported_then_deleted_without_a_trace(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    marker = f"secret-{uuid.uuid4().hex[:10]}"
    address = f"dana-{marker}"
    # The provider's delivery id stays in the delivery log (it is not the customer's, and it
    # keeps a retried webhook from bringing them back); everything else about them goes.
    delivery = uuid.uuid4().hex
    said = await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages",
        json={
            "customer": address,
            "text": f"{marker} I want a real person",
            "message_id": delivery,
        },
    )
    dana = uuid.UUID(said.json()["customer_id"])
    other = await _customer(client, runtime, shop, f"other-{delivery}")
    async with runtime.services.uow() as uow:
        await uow.customers.set_name(dana, f"Dana {marker}")
        await add_answers(uow, shop.id, [(dana, 1, "nps", 3)], now=runtime.services.clock.now())
        await uow.commit()
    (handoff,) = (await client.get(f"/api/v1/{shop.slug}/handoffs", headers=_auth(key))).json()
    agent = await _api_agent(client, shop, key)
    noted = await client.post(
        f"/api/v1/{shop.slug}/handoffs/{handoff['id']}/notes",
        json={"agent": agent["id"], "text": f"called back, {marker}"},
        headers=_auth(key),
    )
    assert noted.status_code == 201, noted.text
    await client.post(
        f"/api/v1/{shop.slug}/events",
        json={"customer": {"id": str(dana)}, "type": "purchase", "data": {"item": marker}},
        headers=_auth(key),
    )

    exported = await client.get(f"/api/v1/{shop.slug}/customers/{dana}/export", headers=_auth(key))

    assert exported.status_code == 200, exported.text
    record = exported.json()
    assert record["customer"]["name"] == f"Dana {marker}"
    assert [i["address"] for i in record["identities"]] == [address]
    assert any(marker in m["text"] for m in record["messages"] if m["direction"] == "in")
    assert {"handoff_requested", "purchase"} <= {e["kind"] for e in record["events"]}
    assert [a["score"] for a in record["answers"]] == [3]
    assert [h["id"] for h in record["handoffs"]] == [handoff["id"]]

    deleted = await client.delete(f"/api/v1/{shop.slug}/customers/{dana}", headers=_auth(key))

    assert deleted.status_code == 200, deleted.text
    counts = deleted.json()["deleted"]
    assert counts["messages"] >= 2 and counts["handoffs"] == 1 and counts["answers"] == 1
    gone = await client.get(f"/api/v1/{shop.slug}/customers/{dana}", headers=_auth(key))
    assert gone.status_code == 404
    assert await _rows_mentioning(runtime, marker) == []
    assert await _rows_mentioning(runtime, str(dana), dana.hex, skip="audit_log") == []
    kept = await client.get(f"/api/v1/{shop.slug}/customers/{other}", headers=_auth(key))
    assert kept.status_code == 200  # nobody else's record is touched
    # The same delivery again (a retried webhook) is a duplicate; it brings nobody back.
    again = await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages",
        json={
            "customer": address,
            "text": f"{marker} I want a real person",
            "message_id": delivery,
        },
    )
    assert again.json()["duplicate"] is True
    assert await _rows_mentioning(runtime, marker) == []

    audit = (await client.get(f"/api/v1/{shop.slug}/audit", headers=_auth(key))).json()
    assert [(a["action"], a["subject"]) for a in audit] == [
        ("customer_deleted", str(dana)),
        ("customer_exported", str(dana)),
    ]
    assert audit[0]["actor"].startswith("api-key:") and key not in str(audit)
    assert audit[0]["details"] == counts


async def test_export_and_delete_of_an_unknown_or_foreign_customer_are_clear_errors(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    nobody = uuid.uuid4()

    for response in (
        await client.get(f"/api/v1/{shop.slug}/customers/{nobody}/export", headers=_auth(key)),
        await client.delete(f"/api/v1/{shop.slug}/customers/{nobody}", headers=_auth(key)),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "unknown_customer"
    bad = await client.delete(f"/api/v1/{shop.slug}/customers/not-a-uuid", headers=_auth(key))
    assert bad.status_code == 400 or bad.status_code == 422
    unauthorised = await client.delete(f"/api/v1/{shop.slug}/customers/{nobody}")
    assert unauthorised.status_code == 401
    assert (await client.get(f"/api/v1/{shop.slug}/audit", headers=_auth(key))).json() == []
