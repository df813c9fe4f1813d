"""frustration: each inbound message's score and reasons, and each business's sensitivity

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("frustration", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column(
                "frustration_reasons",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
    with op.batch_alter_table("businesses") as batch:
        batch.add_column(
            sa.Column(
                "detector_sensitivity",
                sa.String(length=16),
                nullable=False,
                server_default="balanced",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("businesses") as batch:
        batch.drop_column("detector_sensitivity")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("frustration_reasons")
        batch.drop_column("frustration")
