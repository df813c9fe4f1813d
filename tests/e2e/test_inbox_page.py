"""The agent inbox in a real headless Chromium against a real `kesher serve` (embedded default).

An agent signs in; a sandbox customer asks for a person; the handoff appears live (no reload);
the agent replies and the customer receives it; the agent resolves and the bot answers again.
Screenshots of the inbox in Hebrew and English are kept as artefacts.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Kesher, Process

# One pytest-xdist worker runs the browser modules, each starting Kesher and Chromium once.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ARTEFACTS = Path("/tmp/kesher-artefacts")
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Inbox:
    base: str
    kesher: Kesher

    def agent(self, name: str, *, language: str) -> str:
        email = f"agent-{uuid.uuid4().hex[:8]}@demo.test"
        done = self.kesher.run(
            "agent", "create", "--business", "demo", "--email", email, "--name", name,
            "--language", language, "--password-stdin",
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr + done.stdout
        return email

    def say(self, customer: str, text: str) -> list[str]:
        response = httpx.post(
            f"{self.base}/api/v1/demo/sandbox/messages",
            json={"customer": customer, "text": text},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return [r["text"] for r in response.json()["replies"]]

    def sent_to(self, customer: str) -> list[str]:
        response = httpx.get(
            f"{self.base}/api/v1/demo/sandbox/messages", params={"customer": customer}, timeout=5
        )
        return [m["text"] for m in response.json()["messages"] if m["direction"] == "out"]


@pytest.fixture(scope="module")
def inbox(embedded: tuple[Kesher, Process, str]) -> Inbox:
    kesher, _, base = embedded
    return Inbox(base, kesher)


def _signed_in(browser: Browser, inbox: Inbox, email: str) -> Page:
    context = browser.new_context(base_url=inbox.base, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a script ran: {dialog.message}"))
    page.goto("/inbox")
    expect(page).to_have_url(f"{inbox.base}/inbox/login")
    page.fill("input[name=business]", "demo")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{inbox.base}/inbox")
    return page


# The conversation's thread overflows and shows its newest message.
AT_BOTTOM = """(() => {
  const t = document.querySelector("#thread");
  return t.scrollHeight > t.clientHeight + 50 && t.scrollHeight - t.scrollTop - t.clientHeight < 2;
})()"""


def _wait_for(condition: Callable[[], bool], *, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.1)


def test_a_handoff_appears_live_is_answered_resolved_and_the_bot_takes_over_again(
    browser: Browser, inbox: Inbox
) -> None:
    page = _signed_in(browser, inbox, inbox.agent("Noa", language="en"))
    expect(page.locator("#queue")).to_contain_text("No open handoffs")

    customer = f"e2e-{uuid.uuid4().hex[:8]}"
    inbox.say(customer, "<script>alert(1)</script>")
    (ack,) = inbox.say(customer, "I want to talk to a real person")
    assert ack.startswith("Got it.") and "answer you here" in ack

    entry = page.locator("#queue a", has_text=customer)
    expect(entry).to_be_visible()  # arrived over the event stream, with no reload
    entry.click()
    thread = page.locator("#thread")
    expect(thread).to_contain_text("<script>alert(1)</script>")
    expect(thread).to_contain_text("I want to talk to a real person")

    page.fill("#reply-text", "Hi, I'm Noa. What happened?")
    page.click("#reply button[type=submit]")
    expect(page.locator("#thread")).to_contain_text("Hi, I'm Noa. What happened?")
    _wait_for(lambda: "Hi, I'm Noa. What happened?" in inbox.sent_to(customer))

    # Long enough to overflow the thread: it arrives live and the thread stays at the bottom.
    inbox.say(customer, "My order never came. " + "It was due on Tuesday, then Friday. " * 40)
    expect(page.locator("#thread")).to_contain_text("My order never came")
    _wait_for(lambda: page.evaluate(AT_BOTTOM))
    assert inbox.sent_to(customer)[-1] == "Hi, I'm Noa. What happened?", "the bot stayed quiet"

    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "inbox-en.png"), full_page=True)
    page.click("#resolve")
    expect(page.locator("#handoff")).to_have_attribute("data-state", "resolved")
    # Writing again after the resolve puts the conversation back in the team's queue.
    (again,) = inbox.say(customer, "thanks!")
    assert again.startswith("Thanks for writing again. A person from the team")
    page.context.close()


def test_the_inbox_in_hebrew_is_right_to_left_and_shows_hebrew_text_intact(
    browser: Browser, inbox: Inbox
) -> None:
    page = _signed_in(browser, inbox, inbox.agent("נועה", language="he"))
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    customer = f"לקוחה-{uuid.uuid4().hex[:4]}"
    text = "שָׁלוֹם, אני רוצה לדבר עם נציג 🙏"
    inbox.say(customer, text)

    page.locator("#queue a", has_text=customer).click()
    expect(page.locator("#thread")).to_contain_text(text)
    expect(page.locator("h2").first).to_contain_text("העברות לנציג")
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "inbox-he.png"), full_page=True)

    # A reply refused in the background (here its form token went stale, as after signing in
    # again in another tab) says so in the banner, instead of looking sent.
    banner = page.locator("#request-error")
    expect(banner).to_be_hidden()
    page.evaluate(
        """document.querySelector('[hx-headers]')
            .setAttribute('hx-headers', JSON.stringify({'X-CSRF-Token': 'stale'}))"""
    )
    page.fill("#reply-text", "שלום, כאן נועה")
    page.click("#reply button[type=submit]")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("הפעולה לא בוצעה")
    assert "שלום, כאן נועה" not in inbox.sent_to(customer)
    page.context.close()


# A stand-in for the browser's Notification API that keeps what the page shows: headless
# Chromium has no notification centre to look at.
FAKE_NOTIFICATIONS = """
window.shownNotifications = [];
window.Notification = class {
  constructor(title, options) { window.shownNotifications.push(title); }
  static requestPermission() { window.Notification.permission = "granted"; return Promise.resolve("granted"); }
};
window.Notification.permission = "default";
"""


def test_a_hebrew_agent_sets_their_alerts_and_gets_browser_notifications_after_asking(
    browser: Browser, inbox: Inbox
) -> None:
    page = _signed_in(browser, inbox, inbox.agent("נועה", language="he"))
    page.context.add_init_script(FAKE_NOTIFICATIONS)
    page.reload()
    notify = page.locator("#notify")
    expect(notify).to_have_text("הפעלת התראות בדפדפן")
    assert page.evaluate("window.Notification.permission") == "default", "not asked on load"
    notify.click()
    expect(notify).to_have_text("התראות בדפדפן פעילות")
    expect(page.locator("#queue nav")).to_be_visible()

    customer = f"התראה-{uuid.uuid4().hex[:6]}"
    inbox.say(customer, "אני רוצה לדבר עם נציג אנושי")
    expect(page.locator("#queue a", has_text=customer)).to_be_visible()
    _wait_for(lambda: f"פנייה חדשה: {customer}" in page.evaluate("window.shownNotifications"))

    page.click("#alerts-link")
    expect(page).to_have_url(f"{inbox.base}/inbox/alerts")
    assert page.locator("html").get_attribute("dir") == "rtl"
    expect(page.locator("h1")).to_contain_text("ההתראות שלי")
    page.check("#new_handoff_email")
    page.uncheck("#new_handoff_telegram")
    page.check("#sla_warning_email")
    page.fill("input[name=whatsapp]", "+972501112233")
    page.check("input[name=hours]")
    page.check("input[name=day_5]")
    page.fill("input[name=from]", "08:30")
    page.check("input[name=off_hours][value=email]")
    page.click("#alert-settings button[type=submit]")

    expect(page.locator("#alert-settings [role=status]")).to_have_text("נשמר.")
    expect(page.locator("#new_handoff_email")).to_be_checked()
    expect(page.locator("#new_handoff_telegram")).not_to_be_checked()
    expect(page.locator("input[name=day_5]")).to_be_checked()
    expect(page.locator("input[name=from]")).to_have_value("08:30")
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "alerts-he-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTEFACTS / "alerts-he-390.png"), full_page=True)
    page.click("button[lang=en]")
    expect(page.locator("h1")).to_contain_text("My alerts")
    page.screenshot(path=str(ARTEFACTS / "alerts-en-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 860})
    page.screenshot(path=str(ARTEFACTS / "alerts-en-1280.png"), full_page=True)

    handoff = page.goto("/inbox")
    assert handoff is not None
    link = page.locator("#queue a", has_text=customer)
    expect(link).to_be_visible()
    alert_link = f"/inbox/handoffs/{link.get_attribute('data-handoff')}"
    page.goto(alert_link)  # as from an alert: the whole inbox, with the conversation open
    expect(page.locator("#queue a", has_text=customer)).to_be_visible()
    expect(page.locator("#thread")).to_contain_text("אני רוצה לדבר עם נציג אנושי")
    expect(page.locator("#reply-text")).to_be_visible()


def _shots(page: Page, name: str) -> None:
    """The page at a desktop's width and a phone's (390 px), as artefacts to look at."""
    ARTEFACTS.mkdir(exist_ok=True)
    for width, height in ((1280, 860), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTEFACTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 860})


def test_in_hebrew_an_agent_assigns_labels_replies_to_and_resolves_a_conversation(
    browser: Browser, inbox: Inbox
) -> None:
    page = _signed_in(browser, inbox, inbox.agent("דנה", language="he"))
    customer = f"לקוח-{uuid.uuid4().hex[:4]}"
    (told,) = inbox.say(customer, "אפשר להזמין עוגה ליום שישי?")
    assert "מישהו מהצוות יענה לכם כאן בשעות הפעילות (א׳–ה׳ 09:00-18:00)" in told

    entry = page.locator("#conversations a", has_text=customer)
    expect(entry).to_be_visible()  # the list refreshes over the event stream
    expect(entry.locator(".unread")).to_have_text("1")
    expect(page.locator("#conversations button.tab.on")).to_contain_text("פתוחות")
    entry.click()
    conv = page.locator("#conv")
    expect(conv).to_have_attribute("data-status", "open")
    expect(page.locator("#conv-thread")).to_contain_text("אפשר להזמין עוגה ליום שישי?")

    page.locator("#conv-assign select").select_option(label="דנה")
    with page.expect_response(lambda r: r.url.endswith("/assign")):
        page.click("#conv-assign button")
    expect(page.locator("#conversations a", has_text=customer)).to_contain_text("דנה")
    page.fill("#conv-labels input", "עוגות, VIP")
    with page.expect_response(lambda r: r.url.endswith("/labels")):
        page.click("#conv-labels button")
    expect(conv).to_contain_text("#עוגות")
    expect(page.locator("#conversations a", has_text=customer)).to_contain_text("#vip")
    _shots(page, "conversations-he")

    page.fill("#conv-reply-text", "כן! עד 12:00 ביום שישי.")
    page.click("#conv-reply button[type=submit]")
    expect(conv).to_have_attribute("data-status", "pending")
    expect(page.locator("#conv-thread")).to_contain_text("כן! עד 12:00 ביום שישי.")
    _wait_for(lambda: "כן! עד 12:00 ביום שישי." in inbox.sent_to(customer))
    page.click("#conv-resolve")
    expect(conv).to_have_attribute("data-status", "resolved")
    expect(page.locator("#conv-status")).to_have_text("טופלה")
    expect(page.locator("#conversations a", has_text=customer)).to_have_count(0)
    page.locator("#conversations button.tab", has_text="טופלו").click()
    expect(page.locator("#conversations a", has_text=customer)).to_be_visible()
    english = page.evaluate("document.body.innerText")
    assert not any(word in english for word in ("Resolve", "Assign", "Labels", "Open")), english
    page.context.close()


def test_the_conversations_view_in_english_at_both_widths(browser: Browser, inbox: Inbox) -> None:
    page = _signed_in(browser, inbox, inbox.agent("Noa", language="en"))
    customer = f"cust-{uuid.uuid4().hex[:4]}"
    inbox.say(customer, "Do you deliver to Haifa?")
    page.reload()  # this test is about the view; the live refresh is the Hebrew test's
    page.locator("#conversations a", has_text=customer).click()
    expect(page.locator("#conv")).to_have_attribute("data-status", "open")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    _shots(page, "conversations-en")
    page.context.close()


def test_the_list_follows_a_colleague_who_only_relabels_reassigns_and_resolves(
    browser: Browser, inbox: Inbox
) -> None:
    page = _signed_in(browser, inbox, inbox.agent("רוני", language="he"))
    colleague = inbox.agent("עדי", language="he")
    issued = inbox.kesher.run("business", "key", "--business", "demo", "--json")
    assert issued.returncode == 0, issued.stderr + issued.stdout
    auth = {"Authorization": f"Bearer {json.loads(issued.stdout)['api_key']}"}
    api = f"{inbox.base}/api/v1/demo"
    customer = f"לקוח-{uuid.uuid4().hex[:4]}"
    inbox.say(customer, "מה שעות הפתיחה בחג?")
    entry = page.locator("#conversations a", has_text=customer)
    expect(entry).to_be_visible()
    found = httpx.get(f"{api}/conversations", params={"q": customer}, headers=auth, timeout=10)
    (conversation,) = found.json()["items"]
    agents = httpx.get(f"{api}/agents", headers=auth, timeout=10).json()
    adi = next(a["id"] for a in agents if a["email"] == colleague)
    one = f"{api}/conversations/{conversation['id']}"

    # No message, no handoff: only the colleague's changes, and the page is not reloaded.
    labelled = httpx.put(f"{one}/labels", json={"labels": ["חג"]}, headers=auth, timeout=10)
    assert labelled.status_code == 200, labelled.text
    expect(entry).to_contain_text("#חג")
    assigned = httpx.post(f"{one}/assign", json={"assignee": adi}, headers=auth, timeout=10)
    assert assigned.status_code == 200, assigned.text
    expect(entry).to_contain_text("עדי")
    resolved = httpx.post(f"{one}/resolve", json={"agent": adi}, headers=auth, timeout=10)
    assert resolved.status_code == 200, resolved.text
    expect(page.locator("#conversations a", has_text=customer)).to_have_count(0)
    page.context.close()
