"""every conversation in the team's queue, and the business's opening hours

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

A conversation gets a status in the inbox (open, pending, snoozed, resolved; none while no
person is needed), who it is assigned to, its labels and its unread count. The inbox lists a
status's conversations by their last message, counts those waiting longer than a new one,
and the tick wakes snoozed ones whose time came: one index each. Existing conversations with
an open handoff start open, so the queue holds what people are already working on.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("businesses") as batch:
        batch.add_column(
            sa.Column("opening_hours", JSON, nullable=False, server_default=sa.text("'{}'"))
        )
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("status_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("auto_answered", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("labels", sa.String(length=400), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("unread", sa.Integer(), nullable=False, server_default="0"))
        batch.create_foreign_key(
            "fk_conversations_assignee_id_agents",
            "agents",
            ["assignee_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(
            "ix_conversations_queue", ["business_id", "status", "last_message_at"]
        )
        batch.create_index("ix_conversations_waiting", ["business_id", "status", "status_at"])
        batch.create_index("ix_conversations_snoozed", ["status", "snoozed_until"])
    op.execute(
        "UPDATE conversations SET status = 'open', status_at = last_message_at "
        "WHERE id IN (SELECT conversation_id FROM handoffs WHERE state <> 'resolved')"
    )


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_snoozed")
        batch.drop_index("ix_conversations_waiting")
        batch.drop_index("ix_conversations_queue")
        batch.drop_constraint("fk_conversations_assignee_id_agents", type_="foreignkey")
        for name in (
            "unread",
            "labels",
            "assignee_id",
            "snoozed_until",
            "auto_answered",
            "status_at",
            "status",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("businesses") as batch:
        batch.drop_column("opening_hours")
