"""handoff alerts: agents link their Telegram chat with a one-time link; handoffs note when agents were told

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

import storage.tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

WHEN = storage.tables.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("telegram_link_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("telegram_link_expires_at", WHEN, nullable=True))
        batch.create_unique_constraint("uq_agents_telegram_link", ["telegram_link_hash"])
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("announced_at", WHEN, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("announced_at")
    with op.batch_alter_table("agents") as batch:
        batch.drop_constraint("uq_agents_telegram_link", type_="unique")
        batch.drop_column("telegram_link_expires_at")
        batch.drop_column("telegram_link_hash")
