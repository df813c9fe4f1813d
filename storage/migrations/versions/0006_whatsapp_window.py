"""whatsapp window: each identity's last inbound time; outbox rows that must use a template;
a business's own opt-out and opt-in words

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.tables

revision = "0006"
down_revision = "0005"
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
    with op.batch_alter_table("businesses") as batch:
        batch.add_column(
            sa.Column(
                "consent_words",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default=sa.text("'{}'"),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("businesses") as batch:
        batch.drop_column("consent_words")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("template_only")
    with op.batch_alter_table("channel_identities") as batch:
        batch.drop_column("last_inbound_at")
