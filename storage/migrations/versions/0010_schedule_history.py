"""a deleted schedule keeps the history of the touches it made

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FK = "fk_checkins_schedule_id_schedules"


def upgrade() -> None:
    with op.batch_alter_table("checkins") as batch:
        batch.drop_constraint(FK, type_="foreignkey")
        batch.create_foreign_key(FK, "schedules", ["schedule_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("checkins") as batch:
        batch.drop_constraint(FK, type_="foreignkey")
        batch.create_foreign_key(FK, "schedules", ["schedule_id"], ["id"], ondelete="CASCADE")
