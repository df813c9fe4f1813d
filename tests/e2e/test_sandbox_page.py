"""The sandbox chat page in a real headless Chromium against a real `kesher serve`.

The browser is the system Chromium driven by Playwright (the `browser` fixture in conftest).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Kesher, Process, demo_key

# One pytest-xdist worker runs the browser modules, each starting Kesher and Chromium once.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SCREENSHOT = Path("/tmp/sandbox-he.png")
MIXED = "שָׁלוֹם! the app לא עובד 😡"
OPTED_OUT = re.compile("unsubscribed|הוסרתם")


@dataclass(frozen=True)
class Server:
    base: str
    api_key: str

    def get(self, path: str, **params: str) -> Any:
        response = httpx.get(
            self.base + path,
            params=params,
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=5,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def sent_to(self, customer: str) -> list[str]:
        """The texts sent to a customer, as the sandbox transcript lists them, oldest first."""
        messages = self.get("/api/v1/demo/sandbox/messages", customer=customer)["messages"]
        return [m["text"] for m in messages if m["direction"] == "out"]

    def customer(self, address: str) -> dict[str, Any]:
        found = self.get("/api/v1/demo/customers", channel="sandbox", address=address)
        (customer,) = found["customers"]
        return dict(customer)

    def received_from(self, address: str) -> list[str]:
        """The texts the customer's timeline records as received from them."""
        customer_id = self.customer(address)["id"]
        items = self.get(f"/api/v1/demo/customers/{customer_id}/timeline")["items"]
        return [i["text"] for i in items if i["type"] == "message" and i["direction"] == "in"]


@pytest.fixture(scope="module")
def server(embedded: tuple[Kesher, Process, str]) -> Server:
    _, process, base = embedded
    return Server(base, demo_key(process))


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    context = browser.new_context(base_url=server.base, viewport={"width": 480, "height": 720})
    context.set_default_timeout(8000)
    opened = context.new_page()
    yield opened
    context.close()


def _open_chat(page: Page, *, lang: str = "he") -> str:
    """The chat page as a new customer; that customer's id."""
    customer = f"e2e-{uuid.uuid4().hex[:10]}"
    page.goto(f"/sandbox?business=demo&lang={lang}")
    field = page.locator("#customer")
    field.fill(customer)
    field.press("Enter")
    expect(field).to_have_value(customer)
    return customer


def _is_post(request: Any) -> bool:
    return bool(request.method == "POST" and request.url.endswith("/sandbox/messages"))


def _say(page: Page, text: str) -> dict[str, Any]:
    """Type a message and press Enter; the JSON body the page posted."""
    page.locator("#text").fill(text)
    with (
        page.expect_request(_is_post) as sent,
        page.expect_response(lambda r: _is_post(r.request)),
    ):
        page.locator("#text").press("Enter")
    expect(page.locator("#send")).to_be_enabled()  # the page is done waiting for replies
    body: dict[str, Any] = sent.value.post_data_json
    return body


def test_hebrew_page_is_right_to_left_and_english_left_to_right(page: Page) -> None:
    page.goto("/sandbox?business=demo&lang=he")
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "he")
    expect(page.locator("#send")).to_have_text("שליחה")
    customer = page.locator("#customer").input_value()
    assert re.fullmatch(r"web-[0-9a-f]{8}", customer)

    page.locator("#lang-switch").click()

    expect(html).to_have_attribute("dir", "ltr")
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator("#send")).to_have_text("Send")
    assert "lang=en" in page.url and "business=demo" in page.url
    expect(page.locator("#customer")).to_have_value(customer)  # kept in localStorage


def test_mixed_hebrew_emoji_and_english_message_round_trips_exactly(
    page: Page, server: Server
) -> None:
    customer = _open_chat(page)

    posted = _say(page, MIXED)

    assert posted["customer"] == customer
    assert posted["text"] == MIXED
    assert uuid.UUID(posted["message_id"])
    mine = page.locator(".msg.customer .text")
    expect(mine).to_have_count(1)
    assert mine.first.text_content() == MIXED
    expect(page.locator(".msg.customer").first).to_have_attribute("dir", "auto")
    assert server.received_from(customer) == [MIXED]
    bot = page.locator(".msg.bot .text")
    expect(bot).not_to_have_count(0)
    assert bot.all_text_contents() == server.sent_to(customer)

    _say(page, "תודה, ועוד משהו קטן: ה־login נתקע ב־iPhone")
    expect(page.locator(".msg.customer")).to_have_count(2)
    page.screenshot(path=str(SCREENSHOT))

    with page.expect_response(lambda r: "/sandbox/messages?customer=" in r.url, timeout=7000):
        pass  # the next 5-second poll
    assert bot.all_text_contents() == server.sent_to(customer), "a reply shown twice or lost"

    # A reload shows the whole chat again: the customer's own messages, each once, in order.
    page.reload()
    expect(bot).to_have_count(len(server.sent_to(customer)))
    expect(mine).to_have_count(2)
    assert mine.first.text_content() == MIXED


def test_stop_unsubscribes_and_a_later_message_is_still_answered(
    page: Page, server: Server
) -> None:
    customer = _open_chat(page, lang="en")

    _say(page, "STOP")
    bot = page.locator(".msg.bot")
    expect(bot.last).to_contain_text(OPTED_OUT)
    replies = bot.count()
    assert server.customer(customer)["opted_out"] is True

    # Opting out stops check-ins and surveys; a customer who writes is still served.
    _say(page, "hello, anyone there?")

    expect(page.locator(".msg.customer")).to_have_count(2)
    expect(bot).to_have_count(replies + 1)
    # The team's honest reply, in opening hours ("a person from the team will answer") or out
    # of them ("... and a person will answer you here then").
    expect(bot.last).to_contain_text(re.compile("a person (from the|will answer)", re.IGNORECASE))
    assert len(server.sent_to(customer)) == replies + 1
    assert server.customer(customer)["opted_out"] is True
    expect(page.locator("#error")).to_be_hidden()


def test_an_over_long_paste_is_refused_whole_with_a_message(page: Page) -> None:
    _open_chat(page, lang="en")
    text = page.locator("#text")
    assert text.get_attribute("maxlength") == "4096"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("n => navigator.clipboard.writeText('א'.repeat(n))", 5000)

    text.focus()
    page.keyboard.press("Control+V")

    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("5000")
    expect(error).to_contain_text("4096")
    expect(text).to_have_value("")  # refused whole, not silently cut to 4096
    page.keyboard.press("Enter")
    expect(page.locator(".msg.customer")).to_have_count(0)


def test_a_server_error_message_is_shown_in_the_pages_language(page: Page) -> None:
    _open_chat(page, lang="he")
    refusal = {"error": {"code": "rate_limited", "message": "at most 60 messages a minute"}}
    page.route(
        "**/api/v1/demo/sandbox/messages",
        lambda route: (
            route.fulfill(status=429, content_type="application/json", body=json.dumps(refusal))
            if route.request.method == "POST"
            else route.continue_()
        ),
    )

    page.locator("#text").fill("שלום")
    page.locator("#text").press("Enter")

    expect(page.locator("#error")).to_have_text("שגיאה: at most 60 messages a minute")
    expect(page.locator(".msg.customer.failed")).to_have_count(1)
    expect(page.locator("#text")).to_have_value("שלום")  # kept, to send again
    expect(page.locator(".msg.bot")).to_have_count(0)


def test_tapping_a_choice_posts_its_id_and_disables_that_set(page: Page) -> None:
    customer = f"e2e-{uuid.uuid4().hex[:10]}"
    question = {
        "id": 1,
        "text": "<b>How was your visit?</b>",
        "choices": [{"id": "good", "label": "😀 טוב"}, {"id": "bad", "label": "Bad"}],
        "sent_at": "2026-01-01T10:00:00+00:00",
        "status": "delivered",
    }
    answered = {"replies": [], "customer_id": "c", "message_id": 2, "duplicate": False}
    page.route(
        "**/api/v1/demo/sandbox/messages**",
        lambda route: route.fulfill(
            json=answered if route.request.method == "POST" else {"messages": [question]}
        ),
    )
    page.add_init_script(
        f"localStorage.setItem('kesher.sandbox.customer.demo', {json.dumps(customer)})"
    )
    page.goto("/sandbox?business=demo&lang=en")
    buttons = page.locator(".choices button")
    expect(buttons).to_have_count(2)
    expect(page.locator(".msg.bot .text")).to_have_text(question["text"])  # shown as text
    expect(page.locator(".msg.bot b")).to_have_count(0)

    with page.expect_request(_is_post) as sent:
        buttons.first.click()

    body = sent.value.post_data_json
    assert body["customer"] == customer
    assert body["choice"] == "good"
    assert "text" not in body
    assert uuid.UUID(body["message_id"])
    expect(page.locator(".msg.customer .text")).to_have_text("😀 טוב")
    expect(buttons.first).to_be_disabled()
    expect(buttons.last).to_be_disabled()
    expect(page.locator(".msg.bot")).to_have_count(1)  # polled again, not shown twice
