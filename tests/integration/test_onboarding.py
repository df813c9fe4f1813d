"""The owner's first minutes: the landing page, the console's own sign-in (back to the console,
never to another site), the one-time setup link that makes a business's first admin, and the
API reference served from Kesher's own origin."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from app.bootstrap import Runtime
from app.web.app import create_app
from bot.domain import AgentRole, Business
from bot.handoffs.first_admin import SetupLinks
from tests.integration.conftest import SQLITE_ONLY
from tests.integration.test_inbox import PASSWORD, _agent

OWNER = {"name": "רות כהן", "email": "ruth@shop.test", "password": PASSWORD, "language": "he"}


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime, manage_runtime=False)


@pytest.fixture
async def web(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kesher.test") as http:
        yield http


def _links(app: FastAPI) -> SetupLinks:
    links: SetupLinks = app.state.setup_links
    return links


async def _admins(runtime: Runtime, business: Business) -> list[str]:
    async with runtime.services.uow() as uow:
        team = await uow.agents.list(business.id)
    return [a.email for a in team if a.role is AgentRole.ADMIN]


async def _sign_in_on(
    web: httpx.AsyncClient, page: str, business: Business, email: str
) -> httpx.Response:
    """Fill in the sign-in form the page shows and send it where the form says."""
    form = await web.get(page)
    assert form.status_code == 200, form.text
    action = html.unescape(re.findall(r'<form method="post" action="([^"]+)"', form.text)[0])
    csrf = re.findall(r'name="csrf" value="([^"]+)"', form.text)[0]
    return await web.post(
        action, data={"business": business.slug, "email": email, "password": PASSWORD, "csrf": csrf}
    )


# The landing page


@SQLITE_ONLY
async def test_the_landing_page_in_hebrew_is_right_to_left_and_links_every_face(
    web: httpx.AsyncClient,
) -> None:
    page = await web.get("/")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="he" dir="rtl">' in page.text
    assert "צ׳אט ניסיון" in page.text and "תיבת נציגים" in page.text and "תיעוד ה-API" in page.text
    for link in ("/sandbox?business=demo&amp;lang=he", "/inbox?lang=he", "/console?lang=he"):
        assert f'href="{link}"' in page.text
    assert 'href="/docs"' in page.text and 'rel="icon"' in page.text
    assert "Agent inbox" not in page.text


@SQLITE_ONLY
async def test_the_landing_page_in_english_is_left_to_right(web: httpx.AsyncClient) -> None:
    page = await web.get("/?lang=en")

    assert '<html lang="en" dir="ltr">' in page.text
    assert "Sandbox chat" in page.text and "Agent inbox" in page.text
    assert "API reference" in page.text and 'href="/console?lang=en"' in page.text
    assert "תיבת נציגים" not in page.text


# The API reference and the favicon


@SQLITE_ONLY
async def test_the_api_reference_loads_only_assets_served_by_kesher(
    web: httpx.AsyncClient,
) -> None:
    page = await web.get("/docs")

    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text and "//cdn" not in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) == 4 and all(a.startswith("/static/") for a in assets)
    kinds = {"js": "javascript", "css": "text/css", "svg": "image/svg+xml"}
    for asset in assets:
        served = await web.get(asset)
        assert served.status_code == 200, asset
        assert kinds[asset.rsplit(".", 1)[1]] in served.headers["content-type"], asset
    assert 'data-openapi="/openapi.json"' in page.text
    assert (await web.get("/openapi.json")).json()["info"]["title"] == "Kesher"
    assert (await web.get("/redoc")).status_code == 404  # it would load from a CDN


@SQLITE_ONLY
async def test_every_page_names_the_favicon_which_is_served(
    web: httpx.AsyncClient, business: tuple[Business, str]
) -> None:
    shop, _ = business
    pages = ["/", "/docs", "/inbox/login", "/console/login", f"/sandbox?business={shop.slug}"]
    for page in pages:
        assert '<link rel="icon" href="/static/favicon.svg"' in (await web.get(page)).text, page
    icon = await web.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.startswith("<svg")


# The console's sign-in


@SQLITE_ONLY
async def test_the_console_signs_in_on_its_own_page_and_returns_to_the_console(
    web: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    email = await _agent(runtime, shop, role=AgentRole.ADMIN)

    away = await web.get("/console/schedules")
    assert away.status_code == 303
    assert away.headers["location"] == "/console/login?next=%2Fconsole%2Fschedules"
    page = await web.get(away.headers["location"])
    assert "<h1>כניסה לניהול</h1>" in page.text and "תיבת נציגים</h1>" not in page.text
    english = await web.get("/console/login?lang=en")
    assert "<h1>Sign in to the console</h1>" in english.text

    signed = await _sign_in_on(web, away.headers["location"], shop, email)

    assert signed.status_code == 303 and signed.headers["location"] == "/console/schedules"
    assert (await web.get("/console/schedules")).status_code == 200


@SQLITE_ONLY
async def test_the_console_sign_in_page_leads_to_the_console_and_the_inbox_to_the_inbox(
    web: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    email = await _agent(runtime, shop, role=AgentRole.ADMIN)

    assert (await web.get("/console")).headers["location"] == "/console/login"
    console = await _sign_in_on(web, "/console/login", shop, email)
    assert console.headers["location"] == "/console"
    inbox = await _sign_in_on(web, "/inbox/login", shop, email)
    assert inbox.headers["location"] == "/inbox"


@SQLITE_ONLY
@pytest.mark.parametrize(
    "elsewhere",
    [
        "https://evil.example/console",
        "//evil.example/console",
        "/console//evil.example",
        "/\\evil.example",
        "/console\\@evil.example",
        "javascript:alert(1)",
        "/console\r\nSet-Cookie: x=1",
        "/inbox/login",
    ],
)
async def test_sign_in_never_leads_to_another_site(
    web: httpx.AsyncClient, runtime: Runtime, business: tuple[Business, str], elsewhere: str
) -> None:
    shop, _ = business
    email = await _agent(runtime, shop, role=AgentRole.ADMIN)
    query = httpx.QueryParams({"next": elsewhere})

    signed = await _sign_in_on(web, f"/console/login?{query}", shop, email)

    assert signed.status_code == 303 and signed.headers["location"] == "/console"


@SQLITE_ONLY
async def test_an_htmx_request_without_a_session_is_sent_to_the_sign_in_of_the_page_shown(
    web: httpx.AsyncClient,
) -> None:
    shown = "http://kesher.test/console/customers?q=dana&lang=en"
    refused = await web.get(
        "/console/customers", headers={"HX-Request": "true", "HX-Current-URL": shown}
    )

    assert refused.status_code == 401
    target = urlsplit(refused.headers["hx-redirect"])
    assert target.path == "/console/login"
    assert parse_qs(target.query) == {"lang": ["en"], "next": ["/console/customers?q=dana&lang=en"]}


# The first admin, from the setup link (both databases: it makes a login)


async def test_the_setup_link_makes_the_owner_who_then_signs_in_to_the_console(
    web: httpx.AsyncClient, app: FastAPI, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    token = _links(app).issue(shop, now=runtime.services.clock.now())
    offered = await web.get("/console/login")
    assert 'id="setup-offer"' in offered.text and 'href="/console/setup?lang=he"' in offered.text

    form = await web.get(f"/console/setup?token={token}")
    assert form.status_code == 200 and f'value="{token}"' in form.text
    assert '<html lang="he" dir="rtl">' in form.text and "יצירת חשבון הבעלים" in form.text
    made = await web.post("/console/setup", data={"token": token, "lang": "he", **OWNER})

    assert made.status_code == 303
    landing = urlsplit(made.headers["location"])
    assert landing.path == "/console/login"
    assert parse_qs(landing.query)["business"] == [shop.slug]
    assert await _admins(runtime, shop) == [OWNER["email"]]
    welcome = await web.get(made.headers["location"])
    assert "חשבון הבעלים נוצר" in welcome.text and 'id="setup-offer"' not in welcome.text
    signed = await _sign_in_on(web, made.headers["location"], shop, OWNER["email"])
    assert signed.headers["location"] == "/console"
    console = await web.get("/console")
    assert console.status_code == 200 and "רות כהן" in console.text


async def test_a_wrong_setup_token_is_refused_and_makes_nobody(
    web: httpx.AsyncClient, app: FastAPI, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    token = _links(app).issue(shop, now=runtime.services.clock.now())

    wrong = await web.post("/console/setup", data={**OWNER, "token": token[:-1] + "x"})

    assert wrong.status_code == 403
    assert "קוד ההקמה שגוי, כבר נוצל או שפג תוקפו" in wrong.text
    assert await _admins(runtime, shop) == []
    # The right one still works.
    assert (await web.post("/console/setup", data={**OWNER, "token": token})).status_code == 303


async def test_an_expired_setup_token_is_refused(
    web: httpx.AsyncClient, app: FastAPI, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    now = runtime.services.clock.now()
    live = _links(app).issue(shop, now=now)
    old = _links(app).issue(shop, now=now - timedelta(hours=1, seconds=1))

    expired = await web.post("/console/setup", data={**OWNER, "token": old, "lang": "en"})

    assert expired.status_code == 403 and "wrong, used or expired" in expired.text
    assert await _admins(runtime, shop) == []
    assert (await web.post("/console/setup", data={**OWNER, "token": live})).status_code == 303


async def test_a_used_setup_token_makes_no_second_admin_and_the_page_is_gone(
    web: httpx.AsyncClient, app: FastAPI, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    token = _links(app).issue(shop, now=runtime.services.clock.now())
    assert (await web.post("/console/setup", data={**OWNER, "token": token})).status_code == 303

    again = await web.post(
        "/console/setup", data={**OWNER, "token": token, "email": "someone@else.test"}
    )

    assert again.status_code == 404 and "ההקמה הסתיימה" in again.text
    assert await _admins(runtime, shop) == [OWNER["email"]]
    assert (await web.get(f"/console/setup?token={token}")).status_code == 404


async def test_the_setup_page_is_gone_once_the_business_has_an_admin_made_otherwise(
    web: httpx.AsyncClient, app: FastAPI, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    token = _links(app).issue(shop, now=runtime.services.clock.now())
    assert (await web.get("/console/setup")).status_code == 200
    admin = await _agent(runtime, shop, role=AgentRole.ADMIN)  # as `kesher agent create` would

    gone = await web.get(f"/console/setup?token={token}&lang=en")
    used = await web.post("/console/setup", data={**OWNER, "token": token})

    assert gone.status_code == 404 and "Setup is done" in gone.text
    assert used.status_code == 404
    assert await _admins(runtime, shop) == [admin]
    assert 'id="setup-offer"' not in (await web.get("/console/login")).text
    assert 'id="setup-offer"' not in (await web.get("/")).text


async def test_the_owner_s_details_are_checked_in_the_page_s_language_and_the_link_kept(
    web: httpx.AsyncClient, app: FastAPI, runtime: Runtime, business: tuple[Business, str]
) -> None:
    shop, _ = business
    token = _links(app).issue(shop, now=runtime.services.clock.now())

    weak = await web.post(
        "/console/setup", data={**OWNER, "token": token, "password": "short", "lang": "he"}
    )
    long = await web.post("/console/setup", data={**OWNER, "token": "t" * 101, "lang": "en"})

    assert weak.status_code == 400 and "הסיסמה צריכה להיות באורך 10 עד 200 תווים" in weak.text
    assert 'value="רות כהן"' in weak.text and f'value="{token}"' in weak.text
    assert long.status_code == 400 and "One of the fields is too long" in long.text
    assert await _admins(runtime, shop) == []
    assert (await web.post("/console/setup", data={**OWNER, "token": token})).status_code == 303


@SQLITE_ONLY
async def test_without_a_setup_link_there_is_no_setup_page(web: httpx.AsyncClient) -> None:
    gone = await web.get("/console/setup")

    assert gone.status_code == 404 and '<html lang="he" dir="rtl">' in gone.text
    assert (await web.post("/console/setup", data={**OWNER, "token": "x"})).status_code == 404
