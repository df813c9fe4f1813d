"""survey answers keep the label the customer chose

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-07

A tapped button's answer is stored by its id ('problem', 'yes'), which agents should not have
to read; the label the customer saw, in their language, is kept beside it (null for typed
words and for answers recorded before).
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("survey_answers", sa.Column("label", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("survey_answers", "label")
