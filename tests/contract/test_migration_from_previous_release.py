"""A database of the previous release (revision 0009) keeps every row through the upgrade to head.

Rows are written with plain SQL at 0009, as that release would have left them: a business, a
customer with a Hebrew name, an identity, a conversation, messages, a schedule, a check-in of
that schedule and a survey answer of that check-in. 0010 rebuilds the check-ins' foreign key to
the schedules (on SQLite by copying the table), so the check-in and the answer pointing at it
are what it could lose.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.credentials import CredentialCipher
from storage.database import create_engine, create_sessionmaker
from storage.schema import alembic_config, upgrade
from storage.unit_of_work import SqlUnitOfWork
from tests.conftest import admin_sql
from tests.contract.test_migrations import _differences
from tests.integration.conftest import TEST_SECRET_KEY

PREVIOUS = "0009"
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
AT = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
CUSTOMER = uuid.UUID("6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b")
CONVERSATION = uuid.UUID("0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d")
NAME = "נֹעָה כֹּהֵן"
WORDS = "ההזמנה שלי לא הגיעה 😡"


async def _upgrade_to(url: str, revision: str) -> None:
    """storage.schema.upgrade, stopped at `revision` (it only goes to head)."""

    def run(connection: Connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_url(request: pytest.FixtureRequest, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/previous.db"
        return
    base: str = request.getfixturevalue("postgres_url")
    name = f"kesher_previous_{uuid.uuid4().hex[:8]}"
    await admin_sql(base, f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + "/" + name
    await admin_sql(base, f'DROP DATABASE "{name}" WITH (FORCE)')


def _values(postgres: bool) -> dict[str, Any]:
    """Parameters as each driver takes them: SQLAlchemy keeps a UUID on SQLite as 32 hex digits
    and a time as 'YYYY-MM-DD HH:MM:SS.ffffff'; asyncpg wants the Python objects."""
    return {
        "customer": CUSTOMER if postgres else CUSTOMER.hex,
        "conversation": CONVERSATION if postgres else CONVERSATION.hex,
        "at": AT if postgres else AT.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "yes": True,
        "no": False,
        "empty": "{}",
        "attributes": json.dumps({"tags": ["vip"], "עיר": "חיפה"}, ensure_ascii=False),
        "definition": json.dumps({"every": "30d", "flow": "nps"}),
        "run": json.dumps({"step": "score", "answers": {}}),
        "choices": json.dumps([{"id": "9", "label": "9"}]),
        "name": NAME,
        "words": WORDS,
    }


ROWS = [
    """INSERT INTO businesses (id, slug, name, language, timezone, sandbox_enabled,
        detector_sensitivity, contact_rules, handoff_rules, canned_replies, consent_words,
        created_at)
       VALUES (1, 'mispara', 'מספרת שלום', 'he', 'Asia/Jerusalem', :yes, 'balanced', :empty,
        :empty, :empty, :empty, :at)""",
    """INSERT INTO customers (id, business_id, external_id, link_token, name, phone, language,
        timezone, attributes, opted_out, opted_out_at, consent_at, created_at)
       VALUES (:customer, 1, 'crm-17', NULL, :name, '+972501234567', 'he', 'Asia/Jerusalem',
        :attributes, :no, NULL, :at, :at)""",
    """INSERT INTO channel_identities (id, business_id, customer_id, channel, address, reachable,
        created_at, last_inbound_at)
       VALUES (1, 1, :customer, 'whatsapp', 'whatsapp:+972501234567', :yes, :at, :at)""",
    """INSERT INTO conversations (id, business_id, customer_id, identity_id, mode, is_open,
        started_at, last_message_at, closed_at)
       VALUES (:conversation, 1, :customer, 1, 'bot', :yes, :at, :at, NULL)""",
    """INSERT INTO messages (id, business_id, conversation_id, customer_id, direction, channel,
        text, choices, status, channel_message_id, reply_to_id, frustration, frustration_reasons,
        edited_text, edited_at, created_at, status_at)
       VALUES (1, 1, :conversation, :customer, 'out', 'whatsapp', 'כמה תמליצי עלינו?', :choices,
        'delivered', 'SM00000000000000000000000000000001', NULL, NULL, NULL, NULL, NULL, :at,
        :at)""",
    """INSERT INTO messages (id, business_id, conversation_id, customer_id, direction, channel,
        text, choices, status, channel_message_id, reply_to_id, frustration, frustration_reasons,
        edited_text, edited_at, created_at, status_at)
       VALUES (2, 1, :conversation, :customer, 'in', 'whatsapp', :words, '[]', 'received',
        'SM00000000000000000000000000000002', 1, 0.83, '["angry_emoji"]', NULL, NULL, :at, :at)""",
    """INSERT INTO inbound_deliveries (id, business_id, channel, delivery_id, message_id,
        received_at)
       VALUES (1, 1, 'whatsapp', 'SM00000000000000000000000000000002', 2, :at)""",
    """INSERT INTO schedules (id, business_id, name, flow, definition, active, priority,
        starts_at, planned_at, created_at, updated_at)
       VALUES (1, 1, 'monthly-nps', 'nps', :definition, :yes, 5, :at, :at, :at, :at)""",
    """INSERT INTO checkins (id, business_id, schedule_id, customer_id, key, flow, priority,
        status, reason, due_at, send_at, channel, conversation_id, run, wake_at, claimed_at,
        sent_at, finished_at, created_at, updated_at)
       VALUES (1, 1, 1, :customer, 'monthly-nps:2026-11', 'nps', 5, 'sent', NULL, :at, :at,
        'whatsapp', :conversation, :run, NULL, :at, :at, NULL, :at, :at)""",
    """INSERT INTO survey_answers (id, business_id, customer_id, checkin_id, flow, question,
        value, score, score_kind, answered_at)
       VALUES (1, 1, :customer, 1, 'nps', 'score', '9', 9, 'nps', :at)""",
    """INSERT INTO handoffs (id, business_id, customer_id, conversation_id, state, is_open,
        trigger, reason, details, agent_id, requested_at, sla_due_at, updated_at)
       VALUES (1, 1, :customer, :conversation, 'waiting', :yes, 'detector', 'angry', '{}',
        NULL, :at, :at, :at)""",
]

CHECKS = {
    "SELECT slug, name FROM businesses": [("mispara", "מספרת שלום")],
    "SELECT name, phone, external_id FROM customers": [(NAME, "+972501234567", "crm-17")],
    "SELECT channel, address FROM channel_identities": [("whatsapp", "whatsapp:+972501234567")],
    # A conversation with an open handoff starts open in the team's queue.
    "SELECT mode, identity_id, status, unread, labels FROM conversations": [
        ("bot", 1, "open", 0, "")
    ],
    "SELECT id, direction, text, reply_to_id FROM messages ORDER BY id": [
        (1, "out", "כמה תמליצי עלינו?", None),
        (2, "in", WORDS, 1),
    ],
    "SELECT delivery_id, message_id FROM inbound_deliveries": [
        ("SM00000000000000000000000000000002", 2)
    ],
    "SELECT name, flow, priority FROM schedules": [("monthly-nps", "nps", 5)],
    "SELECT id, schedule_id, key, status, channel FROM checkins": [
        (1, 1, "monthly-nps:2026-11", "sent", "whatsapp")
    ],
    "SELECT checkin_id, value, score FROM survey_answers": [(1, "9", 9)],
}


async def test_an_upgrade_from_the_previous_release_keeps_every_row(empty_url: str) -> None:
    await _upgrade_to(empty_url, PREVIOUS)
    engine = create_engine(empty_url)
    values = _values(engine.dialect.name == "postgresql")
    async with engine.begin() as connection:
        assert await connection.scalar(text("SELECT version_num FROM alembic_version")) == PREVIOUS
        for statement in ROWS:
            await connection.execute(text(statement), values)
    await engine.dispose()

    await upgrade(empty_url)

    engine = create_engine(empty_url)
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT version_num FROM alembic_version")) == HEAD
        assert await connection.run_sync(_differences) == []
        for query, expected in CHECKS.items():
            assert [tuple(row) for row in await connection.execute(text(query))] == expected, query
    await engine.dispose()


async def test_after_the_upgrade_the_app_reads_the_old_rows_and_a_deleted_schedule_keeps_its_history(
    empty_url: str,
) -> None:
    await _upgrade_to(empty_url, PREVIOUS)
    engine = create_engine(empty_url)
    values = _values(engine.dialect.name == "postgresql")
    async with engine.begin() as connection:
        for statement in ROWS:
            await connection.execute(text(statement), values)
    await engine.dispose()
    await upgrade(empty_url)

    engine = create_engine(empty_url)
    cipher = CredentialCipher([TEST_SECRET_KEY])
    async with SqlUnitOfWork(create_sessionmaker(engine), cipher=cipher) as uow:
        customer = await uow.customers.get(1, CUSTOMER)
        assert customer is not None
        assert customer.name == NAME
        assert customer.attributes == {"tags": ["vip"], "עיר": "חיפה"}
        assert customer.created_at == AT
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM schedules WHERE id = 1"))
    async with engine.connect() as connection:
        kept = [tuple(row) for row in await connection.execute(text(CHECKIN_AND_ANSWER))]
    await engine.dispose()

    # 0010: the check-in stays, without its schedule, and so does the answer to it.
    assert kept == [(1, None, "sent", 1)]


CHECKIN_AND_ANSWER = """SELECT checkins.id, checkins.schedule_id, checkins.status,
    survey_answers.checkin_id FROM checkins JOIN survey_answers ON survey_answers.checkin_id =
    checkins.id"""
