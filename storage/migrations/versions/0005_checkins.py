"""check-ins: schedules, custom flows, planned touches with their flow runs, survey answers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, storage.tables.UtcDateTime(timezone=True), nullable=nullable)


def _business(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["business_id"],
        ["businesses.id"],
        name=op.f(f"fk_{table}_business_id_businesses"),
        ondelete="CASCADE",
    )


def _customer(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["customer_id"],
        ["customers.id"],
        name=op.f(f"fk_{table}_customer_id_customers"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    with op.batch_alter_table("businesses") as batch:
        batch.add_column(
            sa.Column("contact_rules", JSON, nullable=False, server_default=sa.text("'{}'"))
        )
    with op.batch_alter_table("businesses") as batch:
        batch.alter_column("contact_rules", server_default=None)
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("flow", sa.String(length=80), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        _when("starts_at"),
        _when("planned_at", nullable=True),
        _when("created_at"),
        _when("updated_at"),
        _business("schedules"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("business_id", "name", name="uq_schedule_name"),
    )
    op.create_table(
        "custom_flows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        _when("created_at"),
        _when("updated_at"),
        _business("custom_flows"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_flows")),
        sa.UniqueConstraint("business_id", "name", name="uq_custom_flow_name"),
    )
    op.create_table(
        "checkins",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("flow", sa.String(length=80), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        _when("due_at"),
        _when("send_at"),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("run", JSON, nullable=True),
        _when("wake_at", nullable=True),
        _when("claimed_at", nullable=True),
        _when("sent_at", nullable=True),
        _when("finished_at", nullable=True),
        _when("created_at"),
        _when("updated_at"),
        _business("checkins"),
        _customer("checkins"),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_checkins_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_checkins_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
        sa.UniqueConstraint("business_id", "key", name="uq_checkin_key"),
    )
    op.create_index("ix_checkins_due", "checkins", ["status", "send_at"])
    op.create_index("ix_checkins_wake", "checkins", ["status", "wake_at"])
    op.create_index("ix_checkins_customer", "checkins", ["customer_id", "status"])
    op.create_index("ix_checkins_schedule_customer", "checkins", ["schedule_id", "customer_id"])
    op.create_table(
        "survey_answers",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("checkin_id", BIG_ID, nullable=True),
        sa.Column("flow", sa.String(length=80), nullable=False),
        sa.Column("question", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("score_kind", sa.String(length=16), nullable=True),
        _when("answered_at"),
        _business("survey_answers"),
        _customer("survey_answers"),
        sa.ForeignKeyConstraint(
            ["checkin_id"],
            ["checkins.id"],
            name=op.f("fk_survey_answers_checkin_id_checkins"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
    )
    op.create_index(
        "ix_survey_answers_business", "survey_answers", ["business_id", "score_kind", "answered_at"]
    )
    op.create_index("ix_survey_answers_customer", "survey_answers", ["customer_id", "answered_at"])


def downgrade() -> None:
    op.drop_table("survey_answers")
    op.drop_table("checkins")
    op.drop_table("custom_flows")
    op.drop_table("schedules")
    with op.batch_alter_table("businesses") as batch:
        batch.drop_column("contact_rules")
