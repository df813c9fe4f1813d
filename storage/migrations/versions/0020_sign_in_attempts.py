"""sign-in attempts counted per login before the password is checked; agents' e-mails unique
per business

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

Failed sign-ins were counted on the agent's row after the password was checked, so concurrent
guesses all read the same count, and unknown e-mails were never counted. Each attempt now
takes its place in `sign_in_attempts` (one row per business and e-mail, known or not) in one
statement before the password is checked. The agent's old counters go.

An agent's e-mail was unique across all businesses, so a business adding an agent learned
that another business used the address, and could take it first.
"""

import sqlalchemy as sa
from alembic import op

import storage.tables

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

WHEN = storage.tables.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sign_in_attempts",
        sa.Column("login_hash", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", WHEN, nullable=True),
        sa.Column("last_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("login_hash", name="pk_sign_in_attempts"),
    )
    op.create_index("ix_sign_in_attempts_last_at", "sign_in_attempts", ["last_at"])
    with op.batch_alter_table("agents") as batch:
        batch.drop_constraint("uq_agents_email", type_="unique")
        batch.create_unique_constraint("uq_agents_business_email", ["business_id", "email"])
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("locked_until", WHEN, nullable=True))
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.drop_constraint("uq_agents_business_email", type_="unique")
        batch.create_unique_constraint("uq_agents_email", ["email"])
    op.drop_index("ix_sign_in_attempts_last_at", table_name="sign_in_attempts")
    op.drop_table("sign_in_attempts")
