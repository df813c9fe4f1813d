"""The pages under their Content-Security-Policy, in a real headless Chromium against a real
`kesher serve`: the inbox's live list, htmx replies, canned replies, the online switch and the
resolve, every console page and the sandbox chat work, and the browser reports no violation."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.e2e.conftest import Kesher, Process, demo_key
from tests.e2e.test_inbox_page import PASSWORD
from tests.integration.test_authorization import CONSOLE

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Every violation the page sees, kept where the test can read it (Playwright's init script is
# not itself subject to the page's policy).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


class Watched:
    """A page with CSP violations counted from the console and from the violation events."""

    def __init__(self, browser: Browser, base: str) -> None:
        self.context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 860})
        self.context.set_default_timeout(10_000)
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", self._heard)
        self.page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))

    def _heard(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.console.append(message.text)

    def violations(self) -> list[str]:
        seen: list[str] = self.page.evaluate("window.__violations || []")
        return [*self.console, *seen]


def _sign_in(page: Page, base: str, email: str) -> None:
    page.goto("/inbox")
    expect(page).to_have_url(f"{base}/inbox/login")
    page.fill("input[name=business]", "demo")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/inbox")


def _say(base: str, customer: str, text: str) -> None:
    answer = httpx.post(
        f"{base}/api/v1/demo/sandbox/messages",
        json={"customer": customer, "text": text},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def test_the_inbox_console_and_sandbox_work_under_the_policy_with_no_violation(
    browser: Browser, embedded: tuple[Kesher, Process, str]
) -> None:
    kesher, process, base = embedded
    key = demo_key(process)
    canned = httpx.put(
        f"{base}/api/v1/demo/canned-replies",
        json=[{"title": "Thanks", "text": "Thanks for waiting, checking now."}],
        headers={"Authorization": f"Bearer {key}"},
        timeout=5,
    )
    assert canned.status_code == 200, canned.text
    email = f"admin-{uuid.uuid4().hex[:8]}@demo.test"
    made = kesher.run(
        "agent", "create", "--business", "demo", "--email", email, "--name", "Dana",
        "--role", "admin", "--language", "en", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr + made.stdout
    watched = Watched(browser, base)
    page = watched.page

    first = page.goto("/inbox/login")
    assert first is not None
    assert "script-src 'self';" in first.headers["content-security-policy"]
    assert first.headers["x-frame-options"] == "DENY"
    _sign_in(page, base, email)
    online = page.locator("input[name=online]")
    for _ in range(2):  # the switch sends its form (a page load) and comes back changed
        was = online.is_checked()
        with page.expect_navigation():
            online.click()
        (expect(online).not_to_be_checked if was else expect(online).to_be_checked)()

    customer = f"csp-{uuid.uuid4().hex[:8]}"
    _say(base, customer, "I want to talk to a real person")
    entry = page.locator("#queue a", has_text=customer)
    expect(entry).to_be_visible()  # over the event stream, swapped in by htmx
    entry.click()
    page.locator("#reply button[data-fill]", has_text="Thanks").click()
    expect(page.locator("#reply-text")).to_have_value("Thanks for waiting, checking now.")
    page.click("#reply button[type=submit]")
    expect(page.locator("#thread")).to_contain_text("Thanks for waiting, checking now.")
    page.click("#resolve")
    expect(page.locator("#handoff")).to_have_attribute("data-state", "resolved")

    for path in CONSOLE:
        if path.endswith(".csv"):
            continue
        assert (page.goto(path) or pytest.fail(path)).status == 200, path
    page.goto("/sandbox?business=demo&lang=he")
    page.locator("#text").fill("שלום")
    page.locator("#text").press("Enter")
    expect(page.locator("#messages .msg.bot").first).to_be_visible()

    assert watched.violations() == []
