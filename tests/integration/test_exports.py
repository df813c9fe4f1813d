"""Bulk exports: customers as CSV that imports again unchanged, answers as CSV, page by page."""

from __future__ import annotations

import csv
import io
import uuid

import httpx
import pytest

from app.bootstrap import Runtime
from bot.domain import Business
from bot.insights import exports
from tests.integration.conftest import SQLITE_ONLY
from tests.seeds import add_answers, hand_worked

pytestmark = SQLITE_ONLY  # files made from what the store returns

HEBREW = "שָׁלוֹם כֹּהֵן"
IMPORT = (
    "external_id,name,phone,language,timezone,tags,plan\n"
    f"c-1,{HEBREW},054-765-4321,he,Asia/Jerusalem,vip;gym,gold\n"
    'c-2,"=HYPERLINK(""http://evil"")",+972523334455,en,Europe/London,,\n'
    "c-3,Avi,,,,,silver\n"
)


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _import(client: httpx.AsyncClient, shop: Business, key: str, body: str) -> dict:  # type: ignore[type-arg]
    response = await client.post(
        f"/api/v1/{shop.slug}/customers/import",
        content=body.encode(),
        headers={**_auth(key), "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    result: dict = response.json()  # type: ignore[type-arg]
    return result


async def test_customers_export_as_csv_and_import_again_unchanged(
    client: httpx.AsyncClient,
    runtime: Runtime,
    business: tuple[Business, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exports, "PAGE", 2)  # three customers: two pages
    shop, key = business
    assert (await _import(client, shop, key, IMPORT))["created"] == 3

    response = await client.get(f"/api/v1/{shop.slug}/export/customers.csv", headers=_auth(key))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f"{shop.slug}-customers.csv" in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert list(rows[0]) == [
        *("external_id", "name", "phone", "language", "timezone", "tags", "plan"),
        *("kesher_id", "kesher_opted_out", "kesher_created_at"),
    ]
    by_id = {r["external_id"]: r for r in rows}
    assert by_id["c-1"]["name"] == HEBREW  # niqqud and final letters intact
    assert (by_id["c-1"]["phone"], by_id["c-1"]["tags"]) == ("+972547654321", "vip, gym")
    assert by_id["c-2"]["name"].startswith("'=HYPERLINK")  # not a formula in a spreadsheet
    assert by_id["c-2"]["phone"] == "+972523334455"  # a number stays a number
    assert by_id["c-3"]["plan"] == "silver"

    again = await _import(client, shop, key, text)

    assert (again["created"], again["updated"], again["errors"]) == (0, 3, [])
    listed = await client.get(f"/api/v1/{shop.slug}/customers", headers=_auth(key))
    customers = listed.json()["customers"]
    assert len(customers) == 3
    assert not any(k.startswith("kesher_") for c in customers for k in c["attributes"])


async def test_answers_export_as_csv_in_the_order_given(
    client: httpx.AsyncClient,
    runtime: Runtime,
    business: tuple[Business, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exports, "PAGE", 2)
    shop, key = business
    await _import(client, shop, key, IMPORT)
    listed = (await client.get(f"/api/v1/{shop.slug}/customers", headers=_auth(key))).json()
    first, second = (c["id"] for c in listed["customers"][:2])
    async with runtime.services.uow() as uow:
        await add_answers(
            uow,
            shop.id,
            hand_worked(uuid.UUID(first), uuid.UUID(second)),
            now=runtime.services.clock.now(),
        )
        await uow.commit()

    response = await client.get(f"/api/v1/{shop.slug}/export/answers.csv", headers=_auth(key))
    unauthorised = await client.get(f"/api/v1/{shop.slug}/export/answers.csv")

    rows = list(csv.DictReader(io.StringIO(response.content.decode().removeprefix("\ufeff"))))
    assert [(r["customer_id"], r["score_kind"], r["score"]) for r in rows] == [
        (first, "nps", "9"),
        (first, "nps", "4"),
        (second, "nps", "10"),
        (second, "csat", "5"),
        (first, "csat", "2"),
    ]
    assert unauthorised.status_code == 401
