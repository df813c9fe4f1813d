"""Businesses tell Kesher about their customers: one at a time or by CSV, without duplicates."""

from __future__ import annotations

import httpx

from bot.domain import Business
from tests.integration.conftest import SQLITE_ONLY

pytestmark = SQLITE_ONLY  # API shapes; search runs on both in tests/contract


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _import(client: httpx.AsyncClient, shop: Business, key: str, body: bytes) -> dict:  # type: ignore[type-arg]
    """The import's report for a CSV body."""
    response = await client.post(
        f"/api/v1/{shop.slug}/customers/import",
        content=body,
        headers={**_auth(key), "content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    report: dict = response.json()  # type: ignore[type-arg]
    return report


async def test_a_customer_is_created_once_and_then_updated_by_its_external_id(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    url = f"/api/v1/{shop.slug}/customers"
    body = {
        "external_id": "c-1",
        "name": "דנה",
        "phone": "050-555-1234",
        "attributes": {"plan": "gold"},
    }
    created = await client.post(url, json=body, headers=_auth(key))
    updated = await client.post(
        url, json={"external_id": "c-1", "attributes": {"city": "חיפה"}}, headers=_auth(key)
    )

    assert created.status_code == 201, created.text
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert updated.json()["attributes"] == {"plan": "gold", "city": "חיפה"}
    assert updated.json()["phone"] == "+972505551234"
    assert updated.json()["language"] == "he" and updated.json()["timezone"] == "Asia/Jerusalem"
    listing = (await client.get(url, headers=_auth(key))).json()["customers"]
    assert [c["external_id"] for c in listing] == ["c-1"]


async def test_a_customer_with_a_bad_phone_is_refused_with_a_clear_error(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    response = await client.post(
        f"/api/v1/{shop.slug}/customers", json={"phone": "123"}, headers=_auth(key)
    )

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_phone",
        "message": "phone: '123' is not a valid phone number",
    }


CSV = (
    "external_id,name,phone,language,plan\n"
    "c-1,דנה כהן,050-555-1234,he,gold\n"
    "c-2,Avi,not-a-phone,en,silver\n"
    "c-3,Noa,+972 52 765 4321,en,\n"
    ",Nobody,,,\n"
    "c-4,Lior,054-000-0000,fr,\n"
)


async def test_an_import_keeps_the_good_rows_and_names_the_bad_lines(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    url = f"/api/v1/{shop.slug}/customers/import"
    headers = {**_auth(key), "content-type": "text/csv"}
    first = await client.post(url, content=CSV.encode(), headers=headers)

    assert first.status_code == 200, first.text
    report = first.json()
    assert (report["created"], report["updated"]) == (2, 0)
    assert [(e["line"], e["message"].split(":")[0]) for e in report["errors"]] == [
        (3, "phone"),
        (5, "give 'external_id' or 'phone' (or both)"),
        (6, "language"),
    ]

    again = (await client.post(url, content=CSV.encode(), headers=headers)).json()
    assert (again["created"], again["updated"], len(again["errors"])) == (0, 2, 3)
    customers = (await client.get(f"/api/v1/{shop.slug}/customers", headers=_auth(key))).json()
    assert sorted(c["external_id"] for c in customers["customers"]) == ["c-1", "c-3"]
    dana = next(c for c in customers["customers"] if c["external_id"] == "c-1")
    assert dana["name"] == "דנה כהן" and dana["attributes"] == {"plan": "gold"}


async def test_a_customer_twice_in_one_file_is_created_once_and_then_updated(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    body = (
        "external_id,name,phone,plan\n"
        "c-1,Dana,054-765-4321,silver\n"
        "c-2,Avi,,bronze\n"
        "c-1,Dana Cohen,,gold\n"  # the same external id: an update
        ",,+972547654321,platinum\n"  # the same phone, no external id: an update too
    )

    report = await _import(client, shop, key, body.encode())

    assert (report["created"], report["updated"], report["errors"]) == (2, 2, [])
    customers = (await client.get(f"/api/v1/{shop.slug}/customers", headers=_auth(key))).json()
    dana = next(c for c in customers["customers"] if c["external_id"] == "c-1")
    assert (dana["name"], dana["phone"], dana["attributes"]) == (
        "Dana Cohen",
        "+972547654321",
        {"plan": "platinum"},
    )


async def test_a_family_sharing_a_phone_keeps_a_record_each(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    url = f"/api/v1/{shop.slug}/customers"
    mom = await client.post(
        url, json={"external_id": "fam-mom", "phone": "0527777777"}, headers=_auth(key)
    )
    kid = await client.post(
        url,
        json={"external_id": "fam-kid", "name": "Kid", "phone": "0527777777"},
        headers=_auth(key),
    )
    report = await _import(
        client, shop, key, b"external_id,phone\nfam-dad,052-777-7777\n,0527777777\n"
    )

    assert (mom.status_code, kid.status_code) == (201, 201)
    assert kid.json()["id"] != mom.json()["id"]
    # A new id is a new person; a row with the phone and no id updates the oldest holder.
    assert (report["created"], report["updated"]) == (1, 1)
    listing = (await client.get(url, headers=_auth(key))).json()["customers"]
    assert sorted(c["external_id"] for c in listing) == ["fam-dad", "fam-kid", "fam-mom"]


async def test_an_export_imports_back_unchanged_and_odd_files_are_read_or_refused_by_line(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    url = f"/api/v1/{shop.slug}/customers"
    made = await client.post(
        url,
        json={"external_id": "x-1", "name": "=HYPERLINK(1)", "attributes": {"sum": "+1+2"}},
        headers=_auth(key),
    )
    exported = await client.get(f"/api/v1/{shop.slug}/export/customers.csv", headers=_auth(key))
    assert "'=HYPERLINK(1)" in exported.text  # guarded against spreadsheet formulas

    back = await _import(client, shop, key, exported.content)
    # Excel in many locales separates with semicolons; a row longer than its header is refused.
    semicolons = await _import(
        client, shop, key, "external_id;name\nx-2;דנה\nx-3;Tal;extra\n".encode()
    )

    assert made.status_code == 201 and (back["updated"], back["errors"]) == (1, [])
    again = (await client.get(f"{url}/{made.json()['id']}", headers=_auth(key))).json()
    assert (again["name"], again["attributes"]) == ("=HYPERLINK(1)", {"sum": "+1+2"})
    assert semicolons["created"] == 1
    assert [(e["line"], e["message"]) for e in semicolons["errors"]] == [
        (3, "more cells than the header names: 'extra'")
    ]


async def test_an_import_that_is_not_utf8_is_refused_and_stores_nothing(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, key = business
    response = await client.post(
        f"/api/v1/{shop.slug}/customers/import",
        content="external_id,name\nc-1,דנה\n".encode("cp1255"),
        headers={**_auth(key), "content-type": "text/csv"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_utf8"
    listing = await client.get(f"/api/v1/{shop.slug}/customers", headers=_auth(key))
    assert listing.json()["customers"] == []
