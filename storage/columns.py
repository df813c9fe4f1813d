"""The column types and index kinds the tables share: ids, JSON, timestamps kept in UTC on
every database, and PostgreSQL's trigram indexes for the inbox's search."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

# SQLite only autoincrements a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")
Json = JSON().with_variant(JSONB, "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, also on SQLite (which stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# An index's `info` key naming the one dialect it exists on.
ONLY_ON = "only_on"


def trigram_index(name: str, column: str) -> Index:
    """A PostgreSQL `pg_trgm` GIN index on a text column, which serves the inbox's
    `ILIKE '%words%'` search; SQLite has none and scans (`storage.schema.declared_here`)."""
    return Index(
        name,
        column,
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
        info={ONLY_ON: "postgresql"},
    ).ddl_if(dialect="postgresql")
