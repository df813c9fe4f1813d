"""The owner's first run in a real headless Chromium against `kesher serve` on a fresh folder, as
`make run` starts it: the setup link the terminal shows makes the owner, who signs in and lands
in the console, in Hebrew, on a phone's width with nothing scrolling sideways."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Kesher, Process

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ARTEFACTS = Path("/tmp/kesher-artefacts")
PASSWORD = "correct horse battery"


def _setup_link(process: Process) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = re.search(
            r"first admin of demo: open (\S+/console/setup\?token=\S+)", process.output()
        )
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no setup link printed:\n{process.output()}")


def _fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def test_the_setup_link_makes_the_owner_who_lands_in_the_console_in_hebrew_on_a_phone(
    browser: Browser, kesher: Kesher
) -> None:
    process, base = kesher.serve()
    printed = _setup_link(process)
    assert f"console:       {base.replace('127.0.0.1', 'localhost')}/console" in process.output()
    link = printed.replace("localhost", "127.0.0.1")
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="he-IL")
    context.set_default_timeout(10_000)
    page = context.new_page()

    page.goto(link)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("h1")).to_have_text("יצירת חשבון הבעלים")
    _fits(page)
    page.fill("input[name=name]", "רות")
    page.fill("input[name=email]", "ruth@demo.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("#setup button[type=submit]")

    expect(page.locator("#owner-ready")).to_have_text("חשבון הבעלים נוצר. היכנסו איתו.")
    expect(page.locator("h1")).to_have_text("כניסה לניהול")
    _fits(page)
    page.fill("input[name=email]", "ruth@demo.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    expect(page).to_have_url(f"{base}/console")
    expect(page.locator("header h1")).to_contain_text("ניהול")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    _fits(page)
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "first-run-console-he-390.png"), full_page=True)
    page.goto(link)
    expect(page.locator("#setup-gone")).to_be_visible()  # the link made one owner, once
    context.close()
