"""agents' own alert preferences (which events reach them by which media, and when); handoffs
indexed by first answer and resolution for agent performance

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

A JSON mapping on the agent (`flows.staff_alerts`); none means the defaults (Telegram and the
inbox's browser notifications for new handoffs and SLA warnings, at any hour).

Agent performance counts a business's first answers and resolutions week by week: without
the two indexes each count read every handoff the business ever had.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column("alerts", sa.JSON().with_variant(JSONB, "postgresql"), nullable=True)
        )
    op.create_index(
        "ix_handoffs_business_first_reply", "handoffs", ["business_id", "first_reply_at"]
    )
    op.create_index("ix_handoffs_business_resolved", "handoffs", ["business_id", "resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_handoffs_business_resolved", table_name="handoffs")
    op.drop_index("ix_handoffs_business_first_reply", table_name="handoffs")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("alerts")
