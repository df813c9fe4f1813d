"""Alembic environment: runs the migrations on the async engine Kesher is configured with."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from storage.database import create_engine
from storage.schema import declared_here
from storage.tables import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=declared_here(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


async def _upgrade(url: str) -> None:
    engine = create_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


connectable = context.config.attributes.get("connection")
if connectable is not None:
    _run(connectable)
else:
    asyncio.run(_upgrade(context.config.get_main_option("sqlalchemy.url") or ""))
