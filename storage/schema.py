"""Bringing a database to the newest schema with Alembic, from code (no alembic.ini)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Index
from sqlalchemy.engine import Connection

from storage.columns import ONLY_ON
from storage.database import create_engine

MIGRATIONS = Path(__file__).with_name("migrations")
log = logging.getLogger(__name__)


def alembic_config(url: str, *, secret_keys: Sequence[str] = ()) -> Config:
    config = Config()
    # The keys sealing the stored credentials, for the migrations that seal or open them (0021).
    config.attributes["secret_keys"] = tuple(secret_keys)
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(url: str, *, secret_keys: Sequence[str] = ()) -> None:
    """Migrate the database at `url` to head. `secret_keys` (newest first) seal the channel
    credentials that 0021 finds in plain text; without them a database that has any refuses
    the migration."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # SQLite's batch migrations copy a table and drop the old one; with foreign keys
                # on, the drop fires the ON DELETE actions of the rows pointing at it (0010 set
                # every survey answer's check-in to NULL). The pragma only works between
                # transactions, so it is set and committed before the migration's own.
                await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                await connection.commit()
            async with connection.begin():
                await connection.run_sync(_upgrade_on, url, tuple(secret_keys))
            if sqlite:
                broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                await connection.commit()
                if broken:
                    raise RuntimeError(f"the migration left rows with broken references: {broken}")
    finally:
        await engine.dispose()


def _upgrade_on(connection: Connection, url: str, secret_keys: tuple[str, ...]) -> None:
    config = alembic_config(url, secret_keys=secret_keys)
    config.attributes["connection"] = connection
    before = MigrationContext.configure(connection).get_current_revision()
    command.upgrade(config, "head")
    after = MigrationContext.configure(connection).get_current_revision()
    if after != before:
        log.info("database schema migrated from %s to %s", before or "empty", after)


def declared_here(dialect: str) -> Callable[[object, str | None, str, bool, object], bool]:
    """Alembic's `include_object` for a database of `dialect`: what the tables declare for
    another dialect only (PostgreSQL's trigram indexes) is not expected there."""

    def include(
        declared: object, name: str | None, kind: str, reflected: bool, compare_to: object
    ) -> bool:
        if kind == "index" and not reflected and isinstance(declared, Index):
            return bool(declared.info.get(ONLY_ON, dialect) == dialect)
        return True

    return include
