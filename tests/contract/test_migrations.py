"""The migrations build exactly the schema the tables declare, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from storage.database import create_engine
from storage.schema import declared_here, upgrade
from storage.tables import Base
from tests.conftest import admin_sql


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "include_object": declared_here(connection.dialect.name)},
    )
    return list(compare_metadata(context, Base.metadata))


@pytest.fixture(params=["sqlite", "postgres"])
async def migrated_url(request: pytest.FixtureRequest, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/migrated.db"
        await upgrade(url)
        yield url
        return
    base: str = request.getfixturevalue("postgres_url")
    name = f"kesher_migrations_{uuid.uuid4().hex[:8]}"
    await admin_sql(base, f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + "/" + name
    await upgrade(url)
    yield url
    await admin_sql(base, f'DROP DATABASE "{name}" WITH (FORCE)')


async def test_the_migrated_schema_matches_the_declared_tables(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    await engine.dispose()

    assert differences == []


async def test_upgrading_twice_changes_nothing(migrated_url: str) -> None:
    await upgrade(migrated_url)
    engine = create_engine(migrated_url)
    async with engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
    await engine.dispose()
