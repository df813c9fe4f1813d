"""channel accounts: each business's credentials per channel; message edits; customer link tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "channel_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("credentials", JSON, nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", storage.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.tables.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_channel_accounts_business_id_businesses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_accounts")),
        sa.UniqueConstraint("business_id", "channel", name="uq_channel_account"),
    )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("edited_text", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("edited_at", storage.tables.UtcDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("link_token", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_customer_link_token", ["link_token"])


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_constraint("uq_customer_link_token", type_="unique")
        batch.drop_column("link_token")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("edited_at")
        batch.drop_column("edited_text")
    op.drop_table("channel_accounts")
