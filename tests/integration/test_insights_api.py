"""The insights API on seeded answers and events, against values worked out by hand."""

from __future__ import annotations

import uuid

import httpx

from app.bootstrap import Runtime
from bot.domain import Business, ChannelName, CustomerFields
from tests.integration.conftest import SQLITE_ONLY
from tests.seeds import add_answers, hand_worked

pytestmark = SQLITE_ONLY  # API shapes


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _customer(client: httpx.AsyncClient, runtime: Runtime, shop: Business, who: str):  # type: ignore[no-untyped-def]
    await client.post(
        f"/api/v1/{shop.slug}/sandbox/messages", json={"customer": who, "text": "hello"}
    )
    async with runtime.services.uow() as uow:
        identity = await uow.identities.find(shop.id, ChannelName.SANDBOX, who)
    assert identity is not None
    return identity.customer_id


async def _hand_worked(
    client: httpx.AsyncClient, runtime: Runtime, shop: Business
) -> tuple[uuid.UUID, uuid.UUID]:
    """Two customers who wrote in, with the hand-worked answers of tests/seeds.py."""
    falling = await _customer(client, runtime, shop, "falling")
    happy = await _customer(client, runtime, shop, "happy")
    async with runtime.services.uow() as uow:
        await add_answers(
            uow, shop.id, hand_worked(falling, happy), now=runtime.services.clock.now()
        )
        await uow.commit()
    return falling, happy


async def test_nps_csat_and_churn_risk_match_the_hand_worked_figures(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    falling, _ = await _hand_worked(client, runtime, shop)
    now = runtime.services.clock.now()
    async with runtime.services.uow() as uow:
        await uow.events.add(
            shop.id, falling, kind="frustration_detected", occurred_at=now, data={}
        )
        await uow.commit()

    nps = (await client.get(f"/api/v1/{shop.slug}/insights/nps", headers=_auth(key))).json()
    csat = (await client.get(f"/api/v1/{shop.slug}/insights/csat", headers=_auth(key))).json()
    risk = (
        await client.get(
            f"/api/v1/{shop.slug}/insights/churn-risk", params={"lang": "en"}, headers=_auth(key)
        )
    ).json()

    # 9 and 10 are promoters, 4 a detractor: 100 × (2 − 1) / 3 = 33.
    assert (nps["score"], nps["promoters"], nps["detractors"], nps["total"]) == (33, 2, 1, 3)
    assert sum(w["total"] for w in nps["weeks"]) == 3
    assert (csat["average"], csat["satisfied"]) == (3.5, 0.5)
    worst = risk[0]
    assert worst["customer_id"] == str(falling)
    # 100 − 25 (detractor) − 20 (CSAT 2) − 15 (fell 9 → 4) − 10 (one complaint) = 30.
    assert (worst["health"], worst["risk"]) == (30, "high")
    assert "NPS fell from 9 to 4" in worst["reasons"]
    assert risk[1]["health"] == 100


async def test_insights_need_the_business_key(
    client: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, _ = business
    response = await client.get(f"/api/v1/{shop.slug}/insights/nps")
    assert response.status_code == 401


async def test_nps_and_csat_by_segment_count_each_customer_in_each_of_their_groups(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    falling, happy = await _hand_worked(client, runtime, shop)
    async with runtime.services.uow() as uow:
        await uow.customers.update(
            happy, CustomerFields(language="en", attributes={"tags": ["vip", "gym"]})
        )
        await uow.customers.update(
            falling, CustomerFields(language="he", attributes={"tags": ["gym"]})
        )
        await uow.commit()

    nps = (await client.get(f"/api/v1/{shop.slug}/insights/nps", headers=_auth(key))).json()
    csat = (await client.get(f"/api/v1/{shop.slug}/insights/csat", headers=_auth(key))).json()

    # falling (he, gym): NPS 9 and 4; happy (en, gym, vip): NPS 10, CSAT 5; falling CSAT 2.
    by = {s["segment"]: (s["score"], s["total"]) for s in nps["segments"]}
    assert by == {
        "language:he": (0, 2),  # one promoter, one detractor
        "language:en": (100, 1),
        "tag:gym": (33, 3),
        "tag:vip": (100, 1),
    }
    csat_by = {s["segment"]: (s["average"], s["total"]) for s in csat["segments"]}
    assert csat_by == {
        "language:he": (2.0, 1),
        "language:en": (5.0, 1),
        "tag:gym": (3.5, 2),
        "tag:vip": (5.0, 1),
    }
