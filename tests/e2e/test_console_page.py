"""The business console in a real headless Chromium against a real `kesher serve` (embedded).

An admin signs in, sees the insights of seeded answers with their charts, builds a schedule in
the form, previews who it would contact and saves it, and builds a custom flow in the form
builder. Screenshots in Hebrew and English are kept as artefacts.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from app.bootstrap import build
from app.settings import Settings
from tests.e2e.conftest import Kesher, Process
from tests.seeds import add_answers, add_remarks, hand_worked, remarks

# One pytest-xdist worker runs the browser modules, each starting Kesher and Chromium once.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ARTEFACTS = Path("/tmp/kesher-artefacts")
PASSWORD = "correct horse battery"


def _admin(kesher: Kesher, name: str, language: str) -> str:
    email = f"admin-{uuid.uuid4().hex[:8]}@demo.test"
    done = kesher.run(
        "agent", "create", "--business", "demo", "--email", email, "--name", name,
        "--role", "admin", "--language", language, "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    return email


def _seed(kesher: Kesher, base: str) -> None:
    """Two customers write in; their NPS and CSAT answers are put on record, as surveys would."""
    ids = []
    for who in ("dana", "avi"):
        response = httpx.post(
            f"{base}/api/v1/demo/sandbox/messages",
            json={"customer": who, "text": "hello"},
            timeout=10,
        )
        ids.append(uuid.UUID(response.json()["customer_id"]))
    now = datetime.now(UTC)

    async def write() -> None:
        runtime = build(
            Settings(_env_file=None, database_url=str(kesher.env["KESHER_DATABASE_URL"]))  # type: ignore[call-arg]
        )
        async with runtime.services.uow() as uow:
            business = await uow.businesses.get_by_slug("demo")
            assert business is not None
            await add_answers(uow, business.id, hand_worked(*ids), now=now)
            await add_remarks(uow, business.id, remarks(*ids), now=now)
            await uow.commit()
        await runtime.engine.dispose()

    # Its own thread: Playwright's event loop owns this one.
    seeding = threading.Thread(target=lambda: asyncio.run(write()))
    seeding.start()
    seeding.join(30)


@pytest.fixture(scope="module")
def console(embedded: tuple[Kesher, Process, str]) -> tuple[Kesher, str]:
    kesher, _, base = embedded
    _seed(kesher, base)
    return kesher, base


def _signed_in(browser: Browser, base: str, email: str) -> Page:
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))
    page.goto("/inbox/login")
    page.fill("input[name=business]", "demo")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/inbox")
    return page


def test_an_admin_sees_the_insights_and_makes_a_schedule_with_its_preview_in_hebrew(
    browser: Browser, console: tuple[Kesher, str]
) -> None:
    kesher, base = console
    page = _signed_in(browser, base, _admin(kesher, "רות", "he"))
    page.click("a[href='/console']")

    expect(page).to_have_url(f"{base}/console")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    # 9 and 10 are promoters, 4 a detractor: 100 × (2 − 1) / 3 = 33; CSAT (5 + 2) / 2 = 3.5.
    expect(page.locator("#nps-score")).to_have_text("33")
    expect(page.locator("#csat-average")).to_have_text("3.5")
    expect(page.locator(".chart svg")).to_have_count(5)
    assert page.locator("#nps-trend svg").bounding_box()["height"] > 100  # type: ignore[index]
    themes = page.locator("#themes")
    expect(themes.locator("article h3 bdi")).to_have_text(["parking", "משלוח"])
    expect(themes).to_contain_text("המשלוח הגיע קר")
    assert themes.locator("svg").bounding_box()["height"] > 100  # type: ignore[index]
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "console-he.png"), full_page=True)

    page.click("a[href='/console/schedules']")
    page.fill("input[name=name]", "weekly-checkin")
    page.fill("input[name=days]", "1")
    page.click("button[hx-post='/console/schedules/preview']")
    expect(page.locator("#preview-total")).to_contain_text("2 לקוחות ייפנו אליהם")
    expect(page.locator("#preview")).to_contain_text("כל יום מאז הפנייה האחרונה")
    page.click("#new-schedule button[type=submit]")

    card = page.locator("[data-schedule='weekly-checkin']")
    expect(card).to_contain_text("כל יום מאז הפנייה האחרונה")
    card.locator("form[action$='/pause'] button").click()
    expect(page.locator("[data-schedule='weekly-checkin']")).to_contain_text("מושהה")
    page.screenshot(path=str(ARTEFACTS / "console-schedules-he.png"), full_page=True)
    page.context.close()


def test_the_console_in_english(browser: Browser, console: tuple[Kesher, str]) -> None:
    kesher, base = console
    page = _signed_in(browser, base, _admin(kesher, "Ruth", "en"))
    page.goto("/console")

    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.locator("h2").first).to_have_text("NPS")
    expect(page.locator("#risk")).to_contain_text("NPS fell from 9 to 4")
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "console-en.png"), full_page=True)
    page.context.close()


def test_the_weekly_digest_page_and_its_pdf_in_hebrew(
    browser: Browser, console: tuple[Kesher, str]
) -> None:
    kesher, base = console
    page = _signed_in(browser, base, _admin(kesher, "נועה", "he"))
    page.goto("/console")
    page.click("a[href='/console/digest']")

    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#digest h2")).to_contain_text("סיכום שבועי")
    expect(page.locator("#digest")).to_contain_text("NPS")
    paper = page.request.get(page.locator("#digest-pdf").get_attribute("href") or "")
    assert paper.status == 200 and paper.body().startswith(b"%PDF-")
    ARTEFACTS.mkdir(exist_ok=True)
    (ARTEFACTS / "digest-he.pdf").write_bytes(paper.body())
    page.screenshot(path=str(ARTEFACTS / "console-digest-he.png"), full_page=True)
    page.context.close()


def test_an_admin_builds_a_custom_flow_from_the_form_in_hebrew(
    browser: Browser, console: tuple[Kesher, str]
) -> None:
    kesher, base = console
    page = _signed_in(browser, base, _admin(kesher, "מיכל", "he"))
    page.goto("/console")
    page.click("a[href='/console/flows']")

    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("[data-flow='nps']")).to_contain_text("עד כמה סביר שתמליצו")
    page.click("#new-flow")
    page.fill("input[name=name]", "quick-visit")
    page.fill("textarea[name=intro_he]", "שָׁלוֹם מ־{business} 🌸")
    page.fill("textarea[name=q0_he]", "מה אהבתם?")
    page.fill("textarea[name=q0_en]", "What did you like?")
    page.fill("textarea[name=q0_choices]", "food | אוכל | Food\nstaff | צוות | Staff")
    page.click("#add-question")
    page.locator("select[name=q1_type]").select_option("scale")
    expect(page.locator("[data-question='1'] .for-choice")).to_be_hidden()  # CSS, no script
    page.fill("textarea[name=q1_he]", "כמה תמליצו עלינו?")
    page.fill("input[name=q1_min]", "7")
    page.fill("input[name=q1_max]", "3")
    page.click("#flow-form button[type=submit]")

    problem = page.locator("[data-path='q1.bounds']")
    expect(problem).to_contain_text("questions[1]: min and max")
    expect(page.locator("textarea[name=intro_he]")).to_have_value("שָׁלוֹם מ־{business} 🌸")
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "console-flows-problem-he.png"), full_page=True)
    page.fill("input[name=q1_min]", "1")
    page.fill("input[name=q1_max]", "5")
    page.click("#add-question")  # the form again, as typed, with a third question
    expect(page.locator("input[name=q2_key]")).to_be_focused()
    expect(page.locator("#flow-problems")).to_have_count(0)
    page.locator("select[name=q2_type]").select_option("text")
    page.fill("textarea[name=q2_he]", "משהו נוסף?")
    page.fill("textarea[name=q2_en]", "Anything else?")
    page.screenshot(path=str(ARTEFACTS / "console-flows-he.png"), full_page=True)
    page.click("#flow-form button[type=submit]")

    card = page.locator("[data-flow='quick-visit']")
    expect(card).to_contain_text("שָׁלוֹם מ־Demo")
    expect(card).to_contain_text("מספר מ־1 עד 5")
    expect(card.locator(".questions > li")).to_have_count(3)
    page.screenshot(path=str(ARTEFACTS / "console-flows-list-he.png"), full_page=True)
    page.click("a[href='/console/schedules']")
    expect(page.locator("select[name=flow] option[value='custom:quick-visit']")).to_have_count(1)
    page.context.close()


def test_an_admin_answers_a_handoff_and_sees_it_in_the_agents_performance_in_hebrew(
    browser: Browser, console: tuple[Kesher, str]
) -> None:
    kesher, base = console
    page = _signed_in(browser, base, _admin(kesher, "דנה", "he"))
    customer = f"ביצועים-{uuid.uuid4().hex[:6]}"
    said = httpx.post(
        f"{base}/api/v1/demo/sandbox/messages",
        json={"customer": customer, "text": "אני רוצה לדבר עם נציג"},
        timeout=10,
    )
    assert said.status_code == 200
    page.locator("#queue a", has_text=customer).click()
    # Routing may have given it to an admin of an earlier test: the figures go to its holder.
    expect(page.locator("#reply-text")).to_be_visible()
    claim = page.locator('#handoff button[hx-post$="/claim"]')
    if claim.count():
        with page.expect_response(lambda r: r.url.endswith("/claim")):
            claim.click()
    page.fill("#reply-text", "שלום, אני כאן")
    page.click("#reply button[type=submit]")
    expect(page.locator("#thread")).to_contain_text("שלום, אני כאן")
    page.click("#resolve")
    expect(page.locator("#handoff")).to_have_attribute("data-state", "resolved")

    page.goto("/console/agents")
    section = page.locator("#performance")
    expect(section.locator("h2")).to_have_text("ביצועי נציגים")
    row = section.locator("tr", has_text="דנה")
    # week, agent, conversations handled, handoffs resolved, first response, ...
    expect(row.locator("td").nth(2)).to_have_text("1")
    expect(row.locator("td").nth(3)).to_have_text("1")
    expect(row.locator("td").nth(4)).to_contain_text("שנ׳")
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "console-agents-he.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTEFACTS / "console-agents-he-390.png"), full_page=True)
    page.context.close()
