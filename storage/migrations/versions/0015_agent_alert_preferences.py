"""agents' own alert preferences: which events reach them by which media, and when

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-07

A JSON mapping on the agent (`flows.staff_alerts`); none means the defaults (Telegram and the
inbox's browser notifications for new handoffs and SLA warnings, at any hour).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column("alerts", sa.JSON().with_variant(JSONB, "postgresql"), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("alerts")
