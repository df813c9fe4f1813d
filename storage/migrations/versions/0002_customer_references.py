"""customer references: the business's own id for a customer, and lookup by phone

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=128), nullable=True))
        batch.create_unique_constraint("uq_customer_external_id", ["business_id", "external_id"])
        batch.create_index("ix_customers_business_phone", ["business_id", "phone"])


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_index("ix_customers_business_phone")
        batch.drop_constraint("uq_customer_external_id", type_="unique")
        batch.drop_column("external_id")
