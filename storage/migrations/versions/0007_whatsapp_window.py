"""whatsapp window: each identity's last inbound time; outbox rows that must use a template

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

import storage.tables

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_identities") as batch:
        batch.add_column(
            sa.Column(
                "last_inbound_at", storage.tables.UtcDateTime(timezone=True), nullable=True
            )
        )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("template_only", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("template_only")
    with op.batch_alter_table("channel_identities") as batch:
        batch.drop_column("last_inbound_at")
