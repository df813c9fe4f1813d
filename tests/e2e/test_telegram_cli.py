"""`kesher telegram connect` and `disconnect` as a user runs them, against a fake Bot API."""

from __future__ import annotations

from tests.e2e.conftest import Kesher
from tests.fakes.telegram_api import TOKEN, FakeTelegram


def test_connect_sets_the_webhook_and_disconnect_removes_it(
    kesher: Kesher, fake_telegram: FakeTelegram
) -> None:
    kesher.env.update(
        KESHER_DATABASE_URL=f"sqlite+aiosqlite:///{kesher.directory}/kesher.db",
        KESHER_TELEGRAM_API_URL=fake_telegram.url,
        KESHER_PUBLIC_URL="https://kesher.example",
    )
    assert kesher.run("business", "create", "--slug", "cafe", "--name", "Cafe").returncode == 0

    connected = kesher.run("telegram", "connect", "--business", "cafe", "--token", TOKEN)

    assert connected.returncode == 0, connected.stderr
    assert "@kesher_test_bot" in connected.stdout
    (webhook,) = fake_telegram.called("setWebhook")
    assert webhook["url"] == "https://kesher.example/webhooks/telegram/cafe"
    assert len(webhook["secret_token"]) >= 32
    assert TOKEN not in connected.stdout + connected.stderr

    disconnected = kesher.run("telegram", "disconnect", "--business", "cafe")
    assert disconnected.returncode == 0, disconnected.stderr
    assert len(fake_telegram.called("deleteWebhook")) == 1


def test_a_refused_token_or_an_unknown_business_is_one_line_not_a_traceback(
    kesher: Kesher, fake_telegram: FakeTelegram
) -> None:
    kesher.env.update(
        KESHER_DATABASE_URL=f"sqlite+aiosqlite:///{kesher.directory}/kesher.db",
        KESHER_TELEGRAM_API_URL=fake_telegram.url,
    )
    assert kesher.run("business", "create", "--slug", "cafe", "--name", "Cafe").returncode == 0

    refused = kesher.run("telegram", "connect", "--business", "cafe", "--token", "42:" + "x" * 35)
    unknown = kesher.run("telegram", "connect", "--business", "nope", "--token", TOKEN)
    never = kesher.run("telegram", "disconnect", "--business", "cafe")

    last = [r.stderr.strip().splitlines()[-1] for r in (refused, unknown, never)]
    assert last == [
        "Telegram refused the bot token: Unauthorized",
        "no business 'nope'",
        "Telegram is not connected for 'cafe'",
    ]
    for result in (refused, unknown, never):
        assert result.returncode == 1
        assert "Traceback" not in result.stdout + result.stderr
