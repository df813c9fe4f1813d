"""Secrets at rest: channel credentials sealed in the database, the key's rotation, no start
without a key where one must be given, and customers' deep links kept only as hashes that
expire. On SQLite + memory and on PostgreSQL + Redis."""

from __future__ import annotations

import contextlib
import json
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from twilio.request_validator import RequestValidator

from app.bootstrap import Runtime, build
from app.cli.secrets import reseal
from app.secret_keys import key_file
from app.settings import Settings, SettingsError
from app.web.app import create_app
from bot.accounts.businesses import create_business
from bot.accounts.channels import (
    connect_telegram,
    connect_whatsapp,
    link_digest,
    telegram_link,
)
from bot.domain import Business, ChannelName
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, SENDER, FakeTwilio
from tests.integration.conftest import TEST_SECRET_KEY, running, settled
from tests.integration.test_telegram import message

PUBLIC = "https://kesher.example"
OLD, NEW = TEST_SECRET_KEY, "C_zSvaLMaWRD-4VX7gkx0NeceVAG3q_inbydhcFH1uI="


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


class _Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture(params=["sqlite-memory", "postgres-redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def kesher(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, fake_telegram, fake_twilio
):  # type: ignore[no-untyped-def]
    """Starts Kesher on the test's one database with the settings given, as often as asked."""

    @contextlib.asynccontextmanager
    async def start(**values: object) -> AsyncIterator[Runtime]:
        on = SimpleNamespace(param=backend, getfixturevalue=request.getfixturevalue)
        values = {
            "telegram_api_url": fake_telegram.url,
            "twilio_api_url": fake_twilio.url,
            "public_url": PUBLIC,
            **values,
        }
        started = running(on, tmp_path, **values)  # type: ignore[arg-type]
        runtime = await anext(started)
        try:
            yield runtime
        finally:
            await started.aclose()

    return start


async def _connected(runtime: Runtime) -> Business:
    services = runtime.services
    async with services.uow() as uow:
        business, _ = await create_business(
            uow, "sealed", name="Sealed", sandbox=True, now=services.clock.now()
        )
        await uow.commit()
    await connect_telegram(services, business, token=TOKEN, public_base=PUBLIC)
    await connect_whatsapp(
        services,
        business,
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        sender=SENDER,
        public_base=PUBLIC,
    )
    return business


async def _raw(runtime: Runtime) -> dict[str, Any]:
    """The credentials column as the database holds it, by channel."""
    async with runtime.engine.connect() as connection:
        rows = (
            await connection.execute(text("SELECT channel, credentials FROM channel_accounts"))
        ).all()
    return {
        channel: json.loads(stored) if isinstance(stored, str) else stored
        for channel, stored in rows
    }


def _opens(stored: dict[str, Any], key: str) -> dict[str, str]:
    return dict(json.loads(Fernet(key.encode()).decrypt(stored["sealed"].encode())))


async def test_the_database_holds_no_plain_credential_and_webhooks_and_sends_still_work(
    kesher, fake_telegram: FakeTelegram, fake_twilio: FakeTwilio
) -> None:  # type: ignore[no-untyped-def]
    async with kesher() as runtime:
        business = await _connected(runtime)
        raw = await _raw(runtime)
        async with runtime.services.uow() as uow:
            account = await uow.accounts.get(business.id, ChannelName.TELEGRAM)
        assert account is not None
        secret = account.secret("webhook_secret")
        dump = json.dumps(raw)
        for plain in (TOKEN, TOKEN.split(":")[1], secret, AUTH_TOKEN):
            assert plain not in dump
        assert set(raw["telegram"]) == {"sealed"} and set(raw["whatsapp"]) == {"sealed"}

        app = create_app(runtime, manage_runtime=False)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://kesher.test"
        ) as client:
            path = "/webhooks/telegram/sealed"
            forged = await client.post(
                path, json=message(2001, "hi"), headers={"X-Telegram-Bot-Api-Secret-Token": "x"}
            )
            assert forged.status_code == 403
            telegram = await client.post(
                path,
                json=message(2001, "hi"),
                headers={"X-Telegram-Bot-Api-Secret-Token": secret},
            )
            assert telegram.status_code == 200
            params = {
                "MessageSid": "SM" + "a" * 32,
                "SmsMessageSid": "SM" + "a" * 32,
                "AccountSid": ACCOUNT_SID,
                "From": "whatsapp:+972501234567",
                "To": SENDER,
                "Body": "hello",
                "NumMedia": "0",
            }
            url = f"{PUBLIC}/webhooks/whatsapp/sealed"
            signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
            whatsapp = await client.post(
                "/webhooks/whatsapp/sealed",
                data=params,
                headers={"X-Twilio-Signature": signature},
            )
            assert whatsapp.status_code == 200
            await settled(runtime)
        # Both replies went out with the opened credentials: the bot token in the Bot API's
        # path, the auth token in Twilio's basic auth.
        assert [call["chat_id"] for call in fake_telegram.called("sendMessage")] == [2001]
        assert [call.params["To"] for call in fake_twilio.calls] == ["whatsapp:+972501234567"]


async def test_rotation_seals_with_the_new_key_and_the_old_key_alone_no_longer_starts(
    kesher, backend: str
) -> None:  # type: ignore[no-untyped-def]
    async with kesher(secret_key=OLD) as runtime:
        business = await _connected(runtime)
        before = await _raw(runtime)
    assert _opens(before["telegram"], OLD)["token"] == TOKEN

    async with kesher(secret_key=f"{NEW},{OLD}") as runtime:
        # Both keys given: rows sealed with the old one still read.
        async with runtime.services.uow() as uow:
            account = await uow.accounts.get(business.id, ChannelName.WHATSAPP)
        assert account is not None and account.secret("auth_token") == AUTH_TOKEN
        assert await reseal(runtime) == 2
        after = await _raw(runtime)
    assert after["telegram"] != before["telegram"]
    assert _opens(after["telegram"], NEW)["token"] == TOKEN
    assert _opens(after["whatsapp"], NEW)["auth_token"] == AUTH_TOKEN

    async with kesher(secret_key=NEW) as runtime:
        async with runtime.services.uow() as uow:
            account = await uow.accounts.get(business.id, ChannelName.TELEGRAM)
        assert account is not None and account.secret("token") == TOKEN

    with pytest.raises(SettingsError, match="cannot open the stored credentials of 2"):
        async with kesher(secret_key=OLD):
            pass


async def test_postgres_without_a_key_refuses_to_start_with_a_clear_message(
    redis_url: str, postgres_database: str
) -> None:
    settings = _settings(database_url=postgres_database, redis_url=redis_url, secret_key=None)
    with pytest.raises(SettingsError, match="KESHER_SECRET_KEY is not set"):
        build(settings)


def test_a_key_that_is_not_a_fernet_key_is_refused_by_the_settings() -> None:
    with pytest.raises(ValueError, match="Fernet keys"):
        _settings(secret_key="not-a-key")
    assert _settings(secret_key=f" {NEW} , {OLD}").secret_keys == (NEW, OLD)


async def test_sqlite_makes_its_key_file_once_next_to_the_database_owner_only(
    tmp_path: Path, sqlite_database: str
) -> None:
    settings = _settings(database_url=sqlite_database)
    path = key_file(settings)
    assert path == Path(sqlite_database.split("///")[1] + ".key")
    assert not path.exists()
    first = build(settings)
    await first.start()
    await first.stop()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kept = path.read_text()
    second = build(settings)
    await second.stop()
    assert path.read_text() == kept and second.secret_keys == (kept.strip(),)


async def test_a_customer_link_joins_once_within_its_lifetime_and_not_after(
    kesher, fake_telegram: FakeTelegram
) -> None:  # type: ignore[no-untyped-def]
    clock = _Clock()
    async with kesher(clock=clock, customer_link_days=7) as runtime:
        services = runtime.services
        business = await _connected(runtime)
        maya = await _customer(runtime, business, "Maya", "he")
        late = await _customer(runtime, business, "Late", "en")
        first = (await telegram_link(services, business, maya.id)).split("start=")[1]
        # A second link for Maya replaces the first: only the newest works.
        joins = (await telegram_link(services, business, maya.id)).split("start=")[1]
        expires = (await telegram_link(services, business, late.id)).split("start=")[1]
        async with runtime.engine.connect() as connection:
            kept = (await connection.execute(text("SELECT link_token_hash FROM customers"))).all()
        assert sorted(h for (h,) in kept) == sorted(
            link_digest(t.removeprefix("c_")) for t in (joins, expires)
        )

        app = create_app(runtime, manage_runtime=False)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://kesher.test"
        ) as client:
            secret = await _webhook_secret(runtime, business)

            async def start(chat: int, payload: str, language: str = "en") -> None:
                update = message(chat, f"/start {payload}")
                update["message"]["from"]["language_code"] = language
                response = await client.post(
                    "/webhooks/telegram/sealed",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": secret},
                )
                assert response.status_code == 200
                await settled(runtime)

            before = await _counts(runtime)
            await start(3001, first)
            clock.at += timedelta(days=6, hours=23)
            await start(3002, joins)
            await start(3003, joins)
            clock.at += timedelta(hours=2)
            await start(3004, expires, language="he")

            async with services.uow() as uow:
                joined = await uow.identities.find_with_customer(
                    business.id, ChannelName.TELEGRAM, "3002"
                )
            assert joined is not None and joined[1].id == maya.id
            # The replaced, used and expired links made and joined nothing.
            assert await _counts(runtime) == (before[0], before[1] + 1)

        said = {call["chat_id"]: call["text"] for call in fake_telegram.called("sendMessage")}
        assert "Maya" in said[3002]
        assert said[3001].startswith("This link was already used or has expired")
        assert said[3003].startswith("This link was already used or has expired")
        assert said[3004].startswith("הקישור הזה כבר שומש או שפג תוקפו")
        assert "Sealed" in said[3004]


async def _customer(runtime: Runtime, business: Business, name: str, language: str):  # type: ignore[no-untyped-def]
    async with runtime.services.uow() as uow:
        customer = await uow.customers.add(
            business.id,
            name=name,
            phone=None,
            language=language,
            timezone="Asia/Jerusalem",
            attributes={},
            created_at=runtime.services.clock.now(),
        )
        await uow.commit()
    return customer


async def _webhook_secret(runtime: Runtime, business: Business) -> str:
    async with runtime.services.uow() as uow:
        account = await uow.accounts.get(business.id, ChannelName.TELEGRAM)
    assert account is not None
    return account.secret("webhook_secret")


async def _counts(runtime: Runtime) -> tuple[int, int]:
    """Customers and channel identities in the database."""
    async with runtime.engine.connect() as connection:
        customers = await connection.scalar(text("SELECT count(*) FROM customers"))
        identities = await connection.scalar(text("SELECT count(*) FROM channel_identities"))
    return int(customers or 0), int(identities or 0)
