"""due check-ins indexed in the order they are claimed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05

The tick claims due touches by send time, then priority (highest first), then id. The index on
(status, send_at) alone made PostgreSQL read and sort every due touch for each claim of 500:
with a campaign's million touches due at once, a sequential scan and a sort of the whole table
per claim. With the claim's whole order in the index, a claim reads its batch and stops.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_checkins_due", table_name="checkins")
    op.create_index(
        "ix_checkins_due", "checkins", ["status", "send_at", sa.text("priority DESC"), "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_checkins_due", table_name="checkins")
    op.create_index("ix_checkins_due", "checkins", ["status", "send_at"])
