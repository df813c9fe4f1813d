"""Migration 0021 on a database with plain credentials and a customer's plain link token, on
SQLite and on PostgreSQL: sealed with the key it is given, refused without one, and opened
again by the downgrade."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from bot.domain import ChannelName
from storage.credentials import CredentialCipher
from storage.database import create_engine, create_sessionmaker
from storage.schema import alembic_config, upgrade
from storage.unit_of_work import SqlUnitOfWork
from tests.contract.test_migration_from_previous_release import empty_url  # noqa: F401
from tests.integration.conftest import TEST_SECRET_KEY

SCRIPTS = ScriptDirectory.from_config(alembic_config("sqlite://"))
BEFORE = str(SCRIPTS.get_revision("0021").down_revision)
CUSTOMER = uuid.UUID("7a1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b")
AT = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
BOT_TOKEN = "123456789:AAPlainTokenLeftByThePreviousRelease_01"
WEBHOOK_SECRET = "plain-webhook-secret-of-the-previous-release"
LINK_TOKEN = "plainLinkTokenOfThePreviousRelease"


async def _migrate(
    url: str, revision: str, *, keys: Sequence[str] = (), down: bool = False
) -> None:
    """Alembic to `revision` (up or down) with the keys given, foreign keys off on SQLite as
    storage.schema.upgrade has them (its batch copies would fire the cascades)."""

    def run(connection: Connection) -> None:
        config = alembic_config(url, secret_keys=keys)
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                await connection.commit()
            async with connection.begin():
                await connection.run_sync(run)
    finally:
        await engine.dispose()


async def _previous_release(url: str) -> None:
    await _migrate(url, BEFORE)
    engine = create_engine(url)
    postgres = engine.dialect.name == "postgresql"
    values: dict[str, Any] = {
        "customer": CUSTOMER if postgres else CUSTOMER.hex,
        "at": AT if postgres else AT.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "yes": True,
        "empty": "{}",
        "credentials": json.dumps({"token": BOT_TOKEN, "webhook_secret": WEBHOOK_SECRET}),
        "settings": json.dumps({"username": "shop_bot"}),
        "link": LINK_TOKEN,
    }
    async with engine.begin() as connection:
        for statement in (
            """INSERT INTO businesses (id, slug, name, language, timezone, sandbox_enabled,
                detector_sensitivity, contact_rules, handoff_rules, canned_replies,
                consent_words, opening_hours, created_at)
               VALUES (1, 'shop', 'Shop', 'he', 'Asia/Jerusalem', :yes, 'balanced', :empty,
                :empty, :empty, :empty, :empty, :at)""",
            """INSERT INTO channel_accounts (id, business_id, channel, status, credentials,
                settings, last_error, created_at, updated_at)
               VALUES (1, 1, 'telegram', 'connected', :credentials, :settings, NULL, :at, :at)""",
            """INSERT INTO channel_accounts (id, business_id, channel, status, credentials,
                settings, last_error, created_at, updated_at)
               VALUES (2, 1, 'whatsapp', 'disconnected', :empty, :empty, NULL, :at, :at)""",
            """INSERT INTO customers (id, business_id, external_id, link_token, name, phone,
                language, timezone, attributes, opted_out, opted_out_at, consent_at, created_at)
               VALUES (:customer, 1, NULL, :link, 'Noa', NULL, 'he', 'Asia/Jerusalem', :empty,
                false, NULL, NULL, :at)""",
        ):
            await connection.execute(text(statement), values)
    await engine.dispose()


async def _raw_credentials(url: str) -> list[Any]:
    engine = create_engine(url)
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT credentials FROM channel_accounts ORDER BY id")
        )
        found = [json.loads(c) if isinstance(c, str) else c for (c,) in rows]
    await engine.dispose()
    return found


async def test_the_upgrade_seals_plain_credentials_and_hashes_link_tokens(empty_url: str) -> None:  # noqa: F811
    await _previous_release(empty_url)
    started = datetime.now(UTC)

    await upgrade(empty_url, secret_keys=[TEST_SECRET_KEY])

    telegram, whatsapp = await _raw_credentials(empty_url)
    assert set(telegram) == {"sealed"} and whatsapp == {}
    assert BOT_TOKEN not in json.dumps(telegram) and WEBHOOK_SECRET not in json.dumps(telegram)
    assert json.loads(Fernet(TEST_SECRET_KEY).decrypt(telegram["sealed"].encode())) == {
        "token": BOT_TOKEN,
        "webhook_secret": WEBHOOK_SECRET,
    }
    engine = create_engine(empty_url)
    async with SqlUnitOfWork(
        create_sessionmaker(engine), cipher=CredentialCipher([TEST_SECRET_KEY])
    ) as uow:
        account = await uow.accounts.get(1, ChannelName.TELEGRAM)
        assert account is not None and account.secret("token") == BOT_TOKEN
        digest = hashlib.sha256(LINK_TOKEN.encode()).hexdigest()
        linked = await uow.customers.by_link(1, digest, now=started)
        assert linked is not None and linked.id == CUSTOMER
        # A link made before the upgrade works for 30 more days, then no longer.
        later = started + timedelta(days=30, minutes=5)
        assert await uow.customers.by_link(1, digest, now=later) is None
    async with engine.connect() as connection:
        columns = await connection.run_sync(
            lambda sync: [c["name"] for c in inspect(sync).get_columns("customers")]
        )
    await engine.dispose()
    assert "link_token" not in columns


async def test_the_upgrade_without_a_key_refuses_plain_credentials_and_changes_nothing(
    empty_url: str,  # noqa: F811
) -> None:
    await _previous_release(empty_url)

    with pytest.raises(RuntimeError, match="KESHER_SECRET_KEY"):
        await upgrade(empty_url)

    engine = create_engine(empty_url)
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT version_num FROM alembic_version")) == BEFORE
        assert await connection.scalar(text("SELECT link_token FROM customers")) == LINK_TOKEN
    await engine.dispose()
    telegram, _ = await _raw_credentials(empty_url)
    assert telegram["token"] == BOT_TOKEN


async def test_the_downgrade_opens_the_credentials_again_with_the_key(empty_url: str) -> None:  # noqa: F811
    await _previous_release(empty_url)
    await upgrade(empty_url, secret_keys=[TEST_SECRET_KEY])

    with pytest.raises(RuntimeError, match="KESHER_SECRET_KEY"):
        await _migrate(empty_url, BEFORE, down=True)
    await _migrate(empty_url, BEFORE, keys=[TEST_SECRET_KEY], down=True)

    telegram, whatsapp = await _raw_credentials(empty_url)
    assert telegram == {"token": BOT_TOKEN, "webhook_secret": WEBHOOK_SECRET}
    assert whatsapp == {}
    engine = create_engine(empty_url)
    async with engine.connect() as connection:
        # A hash cannot become a token again: links made before are gone.
        assert await connection.scalar(text("SELECT link_token FROM customers")) is None
    await engine.dispose()
