"""agents can be disabled and deleted; an outbox row remembers since when it is being sent

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

A disabled agent keeps their row but cannot sign in; a deleted one keeps it only so their
history keeps their name. `outbox.sending_since` is when an unfinished send was first handed
to the provider: a row claimed again with it set asks the provider before sending once more.
"""

import sqlalchemy as sa
from alembic import op

from storage.columns import UtcDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as agents:
        agents.add_column(sa.Column("disabled_at", UtcDateTime(timezone=True), nullable=True))
        agents.add_column(sa.Column("deleted_at", UtcDateTime(timezone=True), nullable=True))
    op.add_column("outbox", sa.Column("sending_since", UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "sending_since")
    with op.batch_alter_table("agents") as agents:
        agents.drop_column("deleted_at")
        agents.drop_column("disabled_at")
