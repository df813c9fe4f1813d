"""Secrets never reach the logs: the API key, the bot token (which Telegram puts in every Bot API
URL), the webhook secret, Twilio's auth token, an agent's password and session, all through a
day's work with the logs at DEBUG, as `kesher serve` configures them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.bootstrap import Runtime
from app.web.app import create_app
from app.web.pages import SESSION_COOKIE
from bot.telemetry import CHATTY, configure_logging
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER
from tests.integration.test_inbox import PASSWORD, _agent, _sign_in
from tests.integration.test_telegram import PUBLIC, Shop, message, post, sent
from tests.integration.test_telegram import runtime as runtime  # the fixture
from tests.integration.test_telegram import shop as shop  # the fixture


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """Over https, as PUBLIC is: the inbox's cookies are Secure there."""
    transport = httpx.ASGITransport(app=create_app(runtime, manage_runtime=False))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        yield http


@pytest.fixture(params=["text", "json"])
def logs(request: pytest.FixtureRequest, capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """The service's own logging at DEBUG, restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    chatty = {name: logging.getLogger(name).level for name in CHATTY}
    configure_logging("DEBUG", as_json=request.param == "json")
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, was in chatty.items():
        logging.getLogger(name).setLevel(was)


async def test_a_days_work_logs_no_secret(
    logs: None,
    capfd: pytest.CaptureFixture[str],
    client: httpx.AsyncClient,
    runtime: Runtime,
    shop: Shop,
    fake_telegram: FakeTelegram,
) -> None:
    slug = shop.business.slug
    # A customer writes on Telegram and is answered through the Bot API (the token in its URL).
    assert (await post(client, shop, message(8101, "hello, my order is late"))).status_code == 200
    await sent(fake_telegram, 1)
    # A forged delivery, a wrong key, and WhatsApp connected with its auth token.
    assert (await post(client, shop, message(8101, "x"), secret="forged")).status_code == 403
    wrong = await client.get(f"/api/v1/{slug}/customers", headers={"Authorization": "Bearer k_no"})
    assert wrong.status_code == 401
    whatsapp = await client.put(
        f"/api/v1/{slug}/channels/whatsapp",
        json={"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "sender": SENDER},
        headers=shop.auth,
    )
    assert whatsapp.status_code == 200
    # An agent signs in (a wrong password first) and works from the inbox.
    email = await _agent(runtime, shop.business)
    assert (await _sign_in(client, shop.business, email, "not the password")).status_code == 401
    assert (await _sign_in(client, shop.business, email)).status_code == 303
    session = client.cookies[SESSION_COOKIE]
    assert (await client.get("/inbox")).status_code == 200

    captured = capfd.readouterr()
    logged = captured.out + captured.err
    assert logged.count("\n") > 5, "the service did log its work"
    for name, secret in {
        "API key": shop.key,
        "bot token": TOKEN,
        "bot token's secret half": TOKEN.split(":")[1],
        "webhook secret": shop.secret,
        "Twilio auth token": AUTH_TOKEN,
        "password": PASSWORD,
        "session": session,
    }.items():
        assert secret not in logged, f"the {name} is in the logs"
