"""The weekly digest: last week's figures against hand-worked values, as JSON, CSV, PDF and a
console page; and only for admins."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from app.bootstrap import Runtime
from app.web.app import create_app
from bot.domain import AgentRole, Answer, Business
from bot.insights import digest
from tests.fakes.smtp import FakeSmtp
from tests.integration.conftest import SQLITE_ONLY, running
from tests.integration.test_console import _admin
from tests.integration.test_inbox import _agent
from tests.integration.test_insights_api import _customer
from tests.seeds import other_business


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _seed(client: httpx.AsyncClient, runtime: Runtime, shop: Business) -> str:
    """Last week, hand-worked: NPS 10, 9 and 3 → 100 × (2 − 1) / 3 = 33; the week before a 6
    → −100; this week a 0, which is not last week's. CSAT 4 and 2 → 3.0, none the week before.
    At risk now: Avi, 100 − 25 (detractor) − 20 (CSAT 2) − 15 (NPS fell 6 → 3) = 40, high; Bat,
    100 − 25 (this week's 0) − 15 (fell 9 → 0) = 60, medium. Two answers in words share
    "משלוח" (המשלוח folds to it): one theme of two. Returns a Wednesday of last week."""
    now = runtime.services.clock.now()
    zone = ZoneInfo(shop.timezone)
    week = digest.last_week(now, shop.timezone)
    monday = datetime.combine(week + timedelta(days=1), time(12), zone)
    avi = await _customer(client, runtime, shop, "avi")
    bat = await _customer(client, runtime, shop, "bat")
    rows: list[tuple[uuid.UUID, str, str, int | None, datetime]] = [
        (bat, "nps", "10", 10, monday),
        (bat, "nps", "9", 9, monday + timedelta(hours=1)),
        (avi, "nps", "3", 3, monday + timedelta(days=2)),
        (avi, "nps", "6", 6, monday - timedelta(days=7)),
        (bat, "nps", "0", 0, now),
        (bat, "csat", "4", 4, monday),
        (avi, "csat", "2", 2, monday + timedelta(days=2)),
        (avi, "text", "משלוח מאחר", None, monday + timedelta(days=2)),
        (bat, "text", "המשלוח הגיע שבור", None, monday + timedelta(days=3)),
    ]
    async with runtime.services.uow() as uow:
        for customer, kind, value, score, at in rows:
            await uow.answers.add(
                shop.id,
                Answer(
                    customer_id=customer,
                    flow=kind,
                    question="why" if score is None else "score",
                    value=value,
                    score=score,
                    score_kind=kind,
                    answered_at=at,
                ),
            )
        await uow.customers.set_name(avi, "Avi")
        await uow.commit()
    return (week + timedelta(days=3)).isoformat()


@SQLITE_ONLY
async def test_the_digest_matches_the_hand_worked_week(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    wednesday = await _seed(client, runtime, shop)
    url = f"/api/v1/{shop.slug}/insights/digest"

    found = (await client.get(url, params={"lang": "en"}, headers=_auth(key))).json()
    same = await client.get(url, params={"week": wednesday, "lang": "en"}, headers=_auth(key))

    assert same.json() == found
    week = digest.last_week(runtime.services.clock.now(), shop.timezone)
    assert (found["week"], found["last_day"]) == (
        week.isoformat(),
        (week + timedelta(6)).isoformat(),
    )
    nps = found["nps"]
    assert (nps["score"], nps["promoters"], nps["passives"], nps["detractors"]) == (33, 2, 0, 1)
    assert found["nps_week_before"]["score"] == -100
    assert (found["csat"]["average"], found["csat"]["total"]) == (3.0, 2)
    assert found["csat_week_before"]["average"] is None
    assert [(r["name"], r["health"], r["risk"]) for r in found["at_risk"]] == [
        ("Avi", 40, "high"),
        (None, 60, "medium"),
    ]
    assert "last NPS 3 (a detractor)" in found["at_risk"][0]["reasons"]
    assert [(t["word"], t["count"]) for t in found["themes"]["themes"]] == [("משלוח", 2)]


@SQLITE_ONLY
async def test_the_digest_downloads_as_csv_and_pdf(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, key = business
    await _seed(client, runtime, shop)
    base = f"/api/v1/{shop.slug}/insights/digest"

    table = await client.get(base + ".csv", headers=_auth(key))
    paper = await client.get(base + ".pdf", params={"lang": "he"}, headers=_auth(key))

    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    assert table.text.startswith("\ufeffsection,name,value")
    rows = {(s, n): v for s, n, v in csv.reader(io.StringIO(table.text.lstrip("\ufeff")))}
    assert rows[("nps", "score")] == "33" and rows[("nps", "score_week_before")] == "-100"
    assert rows[("csat", "average")] == "3.0" and rows[("theme", "משלוח")] == "2"
    assert rows[("at_risk", "Avi")] == "40"
    assert paper.status_code == 200 and paper.headers["content-type"] == "application/pdf"
    assert paper.content.startswith(b"%PDF-") and b"DejaVu" in paper.content
    assert "attachment" in paper.headers["content-disposition"]
    refused = await client.get(base + ".pdf")
    assert refused.status_code == 401
    bad = await client.get(base, params={"week": "last tuesday"}, headers=_auth(key))
    assert bad.status_code == 422
    for edge in ("9999-12-31", "0001-01-01"):  # the weeks either side would not be dates
        far = await client.get(base + ".pdf", params={"week": edge}, headers=_auth(key))
        assert far.status_code == 422 and "query.week" in far.text


@SQLITE_ONLY
async def test_the_console_shows_the_digest_in_the_admins_language(
    client: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    wednesday = await _seed(client, runtime, shop)
    await _admin(client, runtime, shop, language="he")

    page = await client.get("/console/digest", params={"week": wednesday})
    download = await client.get("/console/digest.csv", params={"week": wednesday})

    assert page.status_code == 200 and 'dir="rtl"' in page.text
    section = page.text[page.text.index('id="digest"') :]
    assert "סיכום שבועי" in section and "NPS 33 (בשבוע שלפני -100) · 3 תשובות" in section
    assert "Avi (40)" in section and "משלוח: 2 פעמים" in section
    assert "“המשלוח הגיע שבור”" in section
    assert 'id="digest-pdf"' in page.text
    assert download.status_code == 200 and "nps,score,33" in download.text
    for path in ("/console/digest", "/console/digest.csv", "/console/digest.pdf"):
        far = await client.get(path, params={"week": "9999-12-31"})
        assert far.status_code == 422, path


@pytest.fixture(params=["sqlite-memory"])
async def fontless(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Runtime]:  # type: ignore[no-untyped-def]
    async for built in running(request, tmp_path, pdf_font=str(tmp_path / "missing.ttf")):
        yield built


async def test_a_pdf_without_a_font_is_a_clear_error(fontless: Runtime) -> None:
    shop, key = await other_business(fontless, "fontless")
    transport = httpx.ASGITransport(app=create_app(fontless, manage_runtime=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://kesher.test") as client:
        response = await client.get(f"/api/v1/{shop.slug}/insights/digest.pdf", headers=_auth(key))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "pdf_font_missing"
    assert "KESHER_PDF_FONT" in response.json()["error"]["message"]


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
async def mailing(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest, tmp_path, fake_smtp: FakeSmtp
) -> AsyncIterator[Runtime]:
    async for built in running(request, tmp_path, smtp_url=fake_smtp.url):
        yield built


async def test_with_a_mail_server_every_admin_gets_the_digest_with_its_pdf_once(
    mailing: Runtime, fake_smtp: FakeSmtp
) -> None:
    services = mailing.services
    shop, _ = await other_business(mailing, "mail", name="חנות דנה")
    boss = await _agent(mailing, shop, role=AgentRole.ADMIN, language="he")
    helper = await _agent(mailing, shop)
    sunday = digest.last_week(services.clock.now(), shop.timezone)
    nine = datetime.combine(sunday, time(9), ZoneInfo(shop.timezone))
    fake_smtp.refuse = 1_000  # the server is busy: nothing is lost, it is tried again

    await digest.send_due(services, now=nine)
    assert fake_smtp.to(boss) == []
    fake_smtp.refuse = 0
    await digest.send_due(services, now=nine + timedelta(minutes=1))
    await digest.send_due(services, now=nine + timedelta(minutes=2))

    (mail,) = fake_smtp.to(boss)
    assert mail["Subject"].startswith("סיכום שבועי · חנות דנה")
    body = mail.get_body(("plain",))
    assert body is not None and "/console/digest?week=" in body.get_content()
    (paper,) = list(mail.iter_attachments())
    assert paper.get_content_type() == "application/pdf"
    assert paper.get_content().startswith(b"%PDF-")
    assert fake_smtp.to(helper) == [], "admins only"
