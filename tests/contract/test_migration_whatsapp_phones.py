"""0019: a customer who first wrote on WhatsApp, saved without a phone, gets their number as
their phone; a phone already on record and a customer without WhatsApp are left as they are.
On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from storage.database import create_engine
from tests.contract.test_migration_from_previous_release import _upgrade_to, empty_url

__all__ = ["empty_url"]  # the fixture, on both databases

AT = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
WROTE = uuid.UUID("00000000-0000-4000-8000-000000000001")
KNOWN = uuid.UUID("00000000-0000-4000-8000-000000000002")
TELEGRAM = uuid.UUID("00000000-0000-4000-8000-000000000003")

BUSINESS = """INSERT INTO businesses (id, slug, name, language, timezone, sandbox_enabled,
    detector_sensitivity, contact_rules, handoff_rules, canned_replies, consent_words, created_at)
    VALUES (1, 'shop', 'Shop', 'he', 'Asia/Jerusalem', :no, 'balanced', '{}', '{}', '{}', '{}',
    :at)"""
CUSTOMER = """INSERT INTO customers (id, business_id, name, phone, language, timezone,
    attributes, opted_out, created_at)
    VALUES (:id, 1, :name, :phone, 'he', 'Asia/Jerusalem', '{}', :no, :at)"""
IDENTITY = """INSERT INTO channel_identities (id, business_id, customer_id, channel, address,
    reachable, created_at) VALUES (:id, 1, :customer, :channel, :address, :yes, :at)"""


async def test_a_whatsapp_customer_without_a_phone_gets_their_number(empty_url: str) -> None:
    await _upgrade_to(empty_url, "0017")
    engine = create_engine(empty_url)
    postgres = engine.dialect.name == "postgresql"

    def key(customer: uuid.UUID) -> uuid.UUID | str:
        return customer if postgres else customer.hex

    at = AT if postgres else AT.strftime("%Y-%m-%d %H:%M:%S.%f")
    flags = {"yes": True, "no": False, "at": at}
    async with engine.begin() as connection:
        await connection.execute(text(BUSINESS), flags)
        for customer, name, phone in (
            (WROTE, "wrote", None),
            (KNOWN, "known", "+972527654321"),
            (TELEGRAM, "telegram", None),
        ):
            values = {**flags, "id": key(customer), "name": name, "phone": phone}
            await connection.execute(text(CUSTOMER), values)
        for number, (customer, channel, address) in enumerate(
            (
                (WROTE, "whatsapp", "whatsapp:+972505551234"),
                (KNOWN, "whatsapp", "whatsapp:+972505559999"),
                (TELEGRAM, "telegram", "4242"),
            ),
            start=1,
        ):
            values = {
                **flags,
                "id": number,
                "customer": key(customer),
                "channel": channel,
                "address": address,
            }
            await connection.execute(text(IDENTITY), values)
    await engine.dispose()

    await _upgrade_to(empty_url, "0019")

    engine = create_engine(empty_url)
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT name, phone FROM customers ORDER BY name"))
        phones = [tuple(row) for row in rows]
    await engine.dispose()
    assert phones == [
        ("known", "+972527654321"),
        ("telegram", None),
        ("wrote", "+972505551234"),
    ]
