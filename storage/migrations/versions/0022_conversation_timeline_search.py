"""the inbox's search on trigram indexes; events found by business

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

On PostgreSQL the inbox's word search (`ILIKE '%words%'` over messages, customers' names and
channel addresses) reads `pg_trgm` GIN indexes; the extension is created if the database user
may (a superuser, or the extension already there). SQLite keeps scanning with LIKE. Events get
two indexes by business: the inbox's live marker reads the latest one, and the agents' weekly
"conversations handled" reads replies and resolutions by kind and time.
"""

import logging

import sqlalchemy as sa
from alembic import op

log = logging.getLogger(__name__)

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

TRIGRAMS = (
    ("ix_messages_text_trgm", "messages", "text"),
    ("ix_customers_name_trgm", "customers", "name"),
    ("ix_channel_identities_address_trgm", "channel_identities", "address"),
)


def upgrade() -> None:
    op.create_index("ix_events_business", "events", ["business_id", "id"])
    op.create_index("ix_events_business_kind", "events", ["business_id", "kind", "occurred_at"])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        # Not allowed to this user: the search still works, by scanning.
        log.warning("pg_trgm could not be created: the inbox's search will scan the messages")
        return
    for name, table, column in TRIGRAMS:
        op.create_index(
            name,
            table,
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )


def downgrade() -> None:
    # IF EXISTS: SQLite commits DDL as it goes, so a downgrade that an earlier revision refuses
    # further down (0021 without its key) has already dropped these; run again, it goes on.
    if op.get_bind().dialect.name == "postgresql":
        for name, table, _ in TRIGRAMS:
            op.drop_index(name, table_name=table, if_exists=True)
    op.drop_index("ix_events_business_kind", table_name="events", if_exists=True)
    op.drop_index("ix_events_business", table_name="events", if_exists=True)
