"""A new business, tried as a new user would, in a real headless Chromium against `kesher serve`:
the owner signs in, connects the business's Telegram bot (the fake Bot API on loopback),
uploads its customers, and builds a schedule with its preview. Nothing but the pages.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Kesher, clean_env
from tests.fakes.telegram_api import TOKEN, USERNAME, FakeTelegram

# One pytest-xdist worker runs the browser modules, each starting Kesher and Chromium once.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ARTEFACTS = Path("/tmp/kesher-artefacts")
PASSWORD = "correct horse battery"


@pytest.fixture
def shop(tmp_path: Path, fake_telegram: FakeTelegram) -> Iterator[tuple[Kesher, str]]:
    """`kesher serve` on SQLite, its Bot API the fake; a new business `bakery` and its owner."""
    kesher = Kesher(
        tmp_path,
        clean_env(
            KESHER_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/k.db",
            KESHER_TELEGRAM_API_URL=fake_telegram.url,
            KESHER_DEMO="false",
        ),
    )
    try:
        _, base = kesher.serve()
        made = kesher.run(
            "business", "create", "--slug", "bakery", "--name", "מאפיית השכונה", "--json"
        )
        assert made.returncode == 0, made.stderr
        assert json.loads(made.stdout)["slug"] == "bakery"
        owner = kesher.run(
            "agent", "create", "--business", "bakery", "--email", "owner@bakery.test",
            "--name", "שירה", "--role", "admin", "--language", "he", "--password-stdin",
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert owner.returncode == 0, owner.stderr
        yield kesher, base
    finally:
        kesher.stop()


def test_a_new_business_connects_telegram_imports_customers_and_previews_a_schedule(
    browser: Browser, shop: tuple[Kesher, str], tmp_path: Path
) -> None:
    kesher, base = shop
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/console")
    page.fill("input[name=business]", "bakery")
    page.fill("input[name=email]", "owner@bakery.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.click("a[href='/console']")
    expect(page.locator("h1")).to_contain_text("מאפיית השכונה")

    page.click("a[href='/console/channels']")
    page.fill("input[name=token]", TOKEN)
    page.click("#telegram-account button[type=submit]")
    expect(page.locator("#telegram-account")).to_have_attribute("data-status", "connected")
    expect(page.locator("#telegram-account")).to_contain_text(f"@{USERNAME}")

    customers = tmp_path / "customers.csv"
    marker = uuid.uuid4().hex[:6]
    customers.write_text(
        "external_id,name,phone,language\n"
        f"a-{marker},דנה כֹּהֵן,054-765-4321,he\n"
        f"b-{marker},Avi,not a phone,en\n"
        f"c-{marker},נועה,052-333-4455,he\n",
        encoding="utf-8",
    )
    page.click("a[href='/console/customers']")
    page.set_input_files("input[name=file]", str(customers))
    page.click("form[action='/console/customers/import'] button[type=submit]")
    expect(page.locator("#import-report")).to_contain_text("נוספו 2")
    expect(page.locator("#bad-rows")).to_contain_text("שורה 3")

    page.click("a[href='/console/schedules']")
    page.fill("input[name=name]", "after-purchase")
    page.select_option("select[name=flow]", "csat")
    page.check("input[name=when][value=after_event]")
    page.fill("input[name=event]", "purchase")
    page.fill("input[name=days]", "2")
    page.click("button[hx-post='/console/schedules/preview']")
    expect(page.locator("#preview")).to_contain_text("2 ימים אחרי כל רכישה")
    page.fill("input[name=name]", "monthly")
    page.select_option("select[name=flow]", "checkin")
    page.check("input[name=when][value=every]")
    page.fill("input[name=days]", "1")
    page.click("button[hx-post='/console/schedules/preview']")
    # Imported customers have no chat yet (a Telegram bot cannot write first): the preview
    # says so instead of a bare zero.
    expect(page.locator("#preview-total")).to_contain_text("0 לקוחות ייפנו אליהם")
    expect(page.locator("#preview-unreachable")).to_contain_text("2 לקוחות עוד לא זמינים")
    page.click("#new-schedule button[type=submit]")
    expect(page.locator("[data-schedule='monthly']")).to_contain_text("כל יום")
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "new-business-schedules.png"), full_page=True)
    context.close()
    assert kesher.processes[0].popen.poll() is None, "kesher serve kept running"
