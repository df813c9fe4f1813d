"""channel credentials sealed, customer link tokens kept as hashes with an expiry

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

Channel accounts' credentials (bot tokens, webhook secrets, Twilio auth tokens) are sealed
with Fernet: a row keeps {"sealed": "<token>"} instead of its secrets. The keys come from
whoever runs the migration (storage.schema.upgrade: KESHER_SECRET_KEY, or the SQLite key file),
newest first; a database holding plain credentials is refused without a key, one with none
migrates without. The downgrade opens them again, and needs a key for that too.

A customer's deep-link token is kept only as its SHA-256, with an expiry: a link made before
works for 30 more days. A downgrade cannot turn hashes back into tokens: those links stop
working.
"""

import hashlib
import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import context, op
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
SEALED = "sealed"
LINK_LIFETIME = timedelta(days=30)
accounts = sa.table("channel_accounts", sa.column("id", sa.Integer), sa.column("credentials", JSON))
customers = sa.table(
    "customers",
    sa.column("id", sa.Uuid),
    sa.column("link_token", sa.String),
    sa.column("link_token_hash", sa.String),
    sa.column("link_expires_at", sa.DateTime(timezone=True)),
)


def _fernet() -> MultiFernet | None:
    keys = context.config.attributes.get("secret_keys") or ()
    return MultiFernet([Fernet(key) for key in keys]) if keys else None


def _no_key(action: str) -> RuntimeError:
    return RuntimeError(
        f"migration 0021 {action} the stored channel credentials and was given no key: run it "
        "with `kesher db upgrade` (or `kesher serve` on SQLite) and KESHER_SECRET_KEY set"
    )


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(accounts.c.id, accounts.c.credentials)).all()
    plain = [(id_, stored) for id_, stored in rows if stored and SEALED not in stored]
    if plain:
        fernet = _fernet()
        if fernet is None:
            raise _no_key("seals")
        for id_, stored in plain:
            token = fernet.encrypt(json.dumps(stored, sort_keys=True).encode()).decode()
            connection.execute(
                accounts.update().where(accounts.c.id == id_).values(credentials={SEALED: token})
            )

    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("link_token_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("link_expires_at", sa.DateTime(timezone=True), nullable=True))
    expires = datetime.now(UTC) + LINK_LIFETIME
    linked = connection.execute(
        sa.select(customers.c.id, customers.c.link_token).where(
            customers.c.link_token.is_not(None)
        )
    ).all()
    for id_, token in linked:
        connection.execute(
            customers.update()
            .where(customers.c.id == id_)
            .values(
                link_token_hash=hashlib.sha256(token.encode()).hexdigest(), link_expires_at=expires
            )
        )
    with op.batch_alter_table("customers") as batch:
        batch.drop_constraint("uq_customer_link_token", type_="unique")
        batch.drop_column("link_token")
        batch.create_unique_constraint("uq_customer_link_token_hash", ["link_token_hash"])


def downgrade() -> None:
    # The credentials first: a missing key stops the downgrade before any table has changed.
    connection = op.get_bind()
    rows = connection.execute(sa.select(accounts.c.id, accounts.c.credentials)).all()
    sealed = [(id_, stored) for id_, stored in rows if stored and SEALED in stored]
    if sealed:
        fernet = _fernet()
        if fernet is None:
            raise _no_key("opens")
        for id_, stored in sealed:
            try:
                opened = json.loads(fernet.decrypt(stored[SEALED].encode()))
            except InvalidToken:
                raise RuntimeError(
                    f"migration 0021 cannot open channel account {id_}'s credentials with the "
                    "keys given"
                ) from None
            connection.execute(
                accounts.update().where(accounts.c.id == id_).values(credentials=opened)
            )

    with op.batch_alter_table("customers") as batch:
        batch.drop_constraint("uq_customer_link_token_hash", type_="unique")
        batch.drop_column("link_expires_at")
        batch.drop_column("link_token_hash")
        batch.add_column(sa.Column("link_token", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_customer_link_token", ["link_token"])
