"""the knowledge base: a business's entries, and the questions put to them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.tables

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
WHEN = storage.tables.UtcDateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "knowledge_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("question_he", sa.Text(), nullable=False),
        sa.Column("answer_he", sa.Text(), nullable=False),
        sa.Column("question_en", sa.Text(), nullable=False),
        sa.Column("answer_en", sa.Text(), nullable=False),
        sa.Column("vectors", JSON, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_knowledge_entries_business", "knowledge_entries", ["business_id", "id"])
    op.create_table(
        "knowledge_questions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("business_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first", sa.Boolean(), nullable=False),
        sa.Column("entries", JSON, nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reply_id", BIG_ID, nullable=True),
        sa.Column("unhelpful", sa.Boolean(), nullable=False),
        sa.Column("dismissed", sa.Boolean(), nullable=False),
        sa.Column("asked_at", WHEN, nullable=False),
        sa.Column("settled_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(["business_id"], ["businesses.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reply_id"], ["messages.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index(
        "ix_knowledge_questions_business",
        "knowledge_questions",
        ["business_id", "status", "asked_at"],
    )
    op.create_index(
        "ix_knowledge_questions_customer", "knowledge_questions", ["customer_id", "asked_at"]
    )
    op.create_index("ix_knowledge_questions_pending", "knowledge_questions", ["status", "asked_at"])


def downgrade() -> None:
    op.drop_table("knowledge_questions")
    op.drop_table("knowledge_entries")
