"""The knowledge base page in a real headless Chromium against a real `kesher serve` (embedded).

An admin in Hebrew adds an entry, a customer's question is answered from it in the sandbox, a
question no entry answers is listed as a candidate and made into an entry, and an entry is
edited and deleted. Screenshots at 390 and 1280 px, in Hebrew and English, are kept as
artefacts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Kesher, Process
from tests.e2e.test_console_page import ARTEFACTS, _admin, _signed_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture(scope="module")
def kesher_base(embedded: tuple[Kesher, Process, str]) -> Iterator[tuple[Kesher, str]]:
    kesher, _, base = embedded
    yield kesher, base


def _ask(base: str, who: str, text: str) -> str:
    """The bot's first reply to a sandbox customer's question, once it has been sent."""
    httpx.post(
        f"{base}/api/v1/demo/sandbox/messages", json={"customer": who, "text": text}, timeout=10
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        sent = httpx.get(
            f"{base}/api/v1/demo/sandbox/messages", params={"customer": who}, timeout=10
        ).json()["messages"]
        sent = [m for m in sent if m["direction"] == "out"]
        if sent:
            return str(sent[0]["text"])
        time.sleep(0.1)
    raise AssertionError(f"no reply to {text!r}")


def _shots(page: Page, name: str) -> None:
    ARTEFACTS.mkdir(exist_ok=True)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTEFACTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 1000})


def test_an_admin_keeps_the_knowledge_base_and_a_customer_is_answered_from_it_in_hebrew(
    browser: Browser, kesher_base: tuple[Kesher, str]
) -> None:
    kesher, base = kesher_base
    page = _signed_in(browser, base, _admin(kesher, "דנה", "he"))
    page.goto("/console")
    page.click("a[href='/console/knowledge']")

    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#no-entries")).to_be_visible()
    form = page.locator("#new-entry")
    form.locator("select[name=kind]").select_option("fact")
    form.locator("input[name=question_he]").fill("שעות פתיחה")
    form.locator("textarea[name=answer_he]").fill("ראשון עד חמישי 09:00-18:00, שישי 08:00-13:00")
    form.locator("input[name=question_en]").fill("Opening hours")
    form.locator("textarea[name=answer_en]").fill(
        "Sunday to Thursday 9:00-18:00, Friday 8:00-13:00"
    )
    form.locator("button[type=submit]").click()
    entry = page.locator(".kb-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("שישי 08:00-13:00")

    answer = _ask(base, "noa", "באיזה שעה אתם פותחים בשישי?")
    assert answer.startswith("🤖 תשובה אוטומטית:") and "שישי 08:00-13:00" in answer
    assert "Thanks" in _ask(base, "tom", "Do you sell gift cards?")

    page.reload()
    candidate = page.locator("#candidates .candidate")
    expect(candidate).to_contain_text("Do you sell gift cards?")
    expect(candidate).to_contain_text("לא נענתה")
    _shots(page, "knowledge-he")
    candidate.locator("a").click()
    expect(page.locator("#new-entry input[name=question_en]")).to_have_value(
        "Do you sell gift cards?"
    )
    page.fill("#new-entry textarea[name=answer_en]", "Yes: 100, 200 or 300 NIS, at the counter.")
    page.click("#new-entry button[type=submit]")
    expect(page.locator(".kb-entry")).to_have_count(2)
    expect(page.locator("#candidates .candidate")).to_have_count(0)  # the entry answers it

    second = page.locator(".kb-entry").nth(1)
    second.locator("summary").click()
    second.locator(".kb-edit input[name=question_he]").fill("כרטיסי מתנה")
    second.locator(".kb-edit textarea[name=answer_he]").fill("כן: 100, 200 או 300 ש״ח, בקופה.")
    second.locator(".kb-edit button[type=submit]").click()
    expect(page.locator(".kb-entry").nth(1)).to_contain_text("כרטיסי מתנה")
    first = page.locator(".kb-entry").first
    first.locator(".kb-delete input[name=confirm]").check()
    first.locator(".kb-delete button[type=submit]").click()
    expect(page.locator(".kb-entry")).to_have_count(1)
    expect(page.locator(".kb-entry")).to_contain_text("כרטיסי מתנה")
    page.context.close()


def test_the_knowledge_base_page_in_english(
    browser: Browser, kesher_base: tuple[Kesher, str]
) -> None:
    kesher, base = kesher_base
    page = _signed_in(browser, base, _admin(kesher, "Dana", "en"))
    page.goto("/console/knowledge")

    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.locator("h2").first).to_have_text("Knowledge base")
    expect(page.locator("#new-entry label").first).to_contain_text("Kind")
    _shots(page, "knowledge-en")
    page.context.close()
