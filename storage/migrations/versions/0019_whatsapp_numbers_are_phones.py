"""a WhatsApp customer's number is their phone

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

Customers who first wrote on WhatsApp were saved without a phone (the number was only in the
identity's address, `whatsapp:+972…`, E.164 as Twilio writes it). Each such customer takes the
number of their oldest WhatsApp identity as their phone, so a search or an import by phone
finds them; new ones are saved with it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_NUMBER = """
    SELECT substr(i.address, 10) FROM channel_identities i
    WHERE i.customer_id = customers.id AND i.channel = 'whatsapp'
      AND i.address LIKE 'whatsapp:+%' AND length(i.address) <= 41
    ORDER BY i.id LIMIT 1
"""


def upgrade() -> None:
    op.execute(
        sa.text(f"UPDATE customers SET phone = ({_NUMBER}) WHERE phone IS NULL AND EXISTS ({_NUMBER})")
    )


def downgrade() -> None:
    # The phones stay: they are the customers' numbers either way.
    pass
