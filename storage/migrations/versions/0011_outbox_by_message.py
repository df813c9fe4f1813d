"""outbox rows found by their message

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

Sending looks up the unsent rows of a message's conversation through this index, and deleting a
customer's messages cascades to their outbox rows through it; without it both scanned the
whole outbox.
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_message", "outbox", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_message", table_name="outbox")
