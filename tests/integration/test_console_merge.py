"""The console's merge: records that may be one person listed, a merge previewed (nothing
changes) and then confirmed, in Hebrew and English; refusals are clear 4xx pages."""

from __future__ import annotations

import re
import uuid

import httpx

from app.bootstrap import Runtime
from bot.domain import AgentRole, Business, CustomerFields
from tests.integration.conftest import SQLITE_ONLY
from tests.integration.test_console_settings import _say
from tests.integration.test_inbox import _agent, _csrf, _sign_in

pytestmark = SQLITE_ONLY  # pages; the merge itself runs on both in test_identity

PHONE = "+972505551234"


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _two_danas(
    client: httpx.AsyncClient, runtime: Runtime, shop: Business
) -> tuple[str, str]:
    """Dana wrote twice from two sandbox ids, and both records have her phone."""
    ids = []
    for who in ("dana-a", "dana-b"):
        said = await _say(client, shop, f"{who}-{uuid.uuid4().hex[:6]}", "שלום")
        ids.append(str(uuid.UUID(said["customer_id"])))
    async with runtime.services.uow() as uow:
        for customer_id in ids:
            await uow.customers.update(uuid.UUID(customer_id), CustomerFields(phone=PHONE))
        await uow.commit()
    return ids[0], ids[1]


async def _admin(
    client: httpx.AsyncClient, runtime: Runtime, shop: Business, *, language: str
) -> str:
    await _sign_in(
        client, shop, await _agent(runtime, shop, role=AgentRole.ADMIN, language=language)
    )
    return await _csrf(client)


async def test_an_admin_previews_a_suggested_merge_in_hebrew_then_confirms_it(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    first, second = await _two_danas(client, runtime, shop)
    csrf = await _admin(client, runtime, shop, language="he")

    first_look = await client.get("/console/customers")
    page = await client.get("/console/customers", params={"duplicates": "1"})
    listed = page.text[page.text.index('id="duplicates"') :]
    preview = await client.post(
        f"/console/customers/{first}/merge", data={"csrf": csrf, "other": second}
    )

    # Looked for on request only: it reads every customer.
    assert "חיפוש רשומות כפולות" in first_look.text and "data-duplicate=" not in first_look.text
    assert "אולי אותו אדם" in listed and "אותו טלפון" in listed
    assert re.findall(r'data-duplicate="([^"]+)"', listed) == [first, second]
    assert f'action="/console/customers/{first}/merge"' in listed
    assert preview.status_code == 200
    shown = preview.text[preview.text.index('id="merge-preview"') :]
    assert "זו תצוגה מקדימה" in shown and 'name="confirm" value="yes"' in shown
    assert re.search(r'data-held="messages">הודעות: 2<', shown)
    assert 'dir="rtl"' in preview.text
    still = await client.get(f"/api/v1/{shop.slug}/customers/{second}", headers=_auth(key))
    assert still.status_code == 200  # a preview changes nothing

    done = await client.post(
        f"/console/customers/{first}/merge", data={"csrf": csrf, "other": second, "confirm": "yes"}
    )

    assert done.status_code == 303
    assert done.headers["location"] == f"/console/customers?q={first}&merged={second}"
    gone = await client.get(f"/api/v1/{shop.slug}/customers/{second}", headers=_auth(key))
    assert gone.status_code == 404
    after = (await client.get(done.headers["location"])).text
    assert f"הרשומה {second} אוחדה לתוך זו ונמחקה" in after
    assert re.findall(r'data-customer="([^"]+)"', after) == [first]
    again = await client.get("/console/customers", params={"duplicates": "1"})
    assert "לא נמצאו רשומות כפולות." in again.text
    log = after[after.index('id="privacy-log"') :]
    assert f'data-action="customer_merged" data-subject="{second}"' in log and "איחוד" in log


async def test_the_english_console_refuses_an_unknown_record_or_the_same_one_with_a_4xx_page(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    first, second = await _two_danas(client, runtime, shop)
    csrf = await _admin(client, runtime, shop, language="en")

    unknown = await client.post(
        f"/console/customers/{first}/merge", data={"csrf": csrf, "other": "not-an-id"}
    )
    itself = await client.post(
        f"/console/customers/{first}/merge", data={"csrf": csrf, "other": first}
    )
    preview = await client.post(
        f"/console/customers/{first}/merge", data={"csrf": csrf, "other": second}
    )

    assert unknown.status_code == 404 and "no customer not-an-id" in unknown.text
    assert itself.status_code == 400 and "cannot be merged into themselves" in itself.text
    assert "This is a preview: nothing has changed yet." in preview.text
    assert "Maybe the same person" in preview.text and "Look for likely duplicates" in preview.text
    listing = (await client.get(f"/api/v1/{shop.slug}/customers", headers=_auth(key))).json()
    assert len(listing["customers"]) == 2
