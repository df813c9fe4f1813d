"""The base of the SQLAlchemy repositories: each works in a session it is given and never commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


class Repository:
    """A repository over one session, which it flushes and never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store(self, row: Any) -> Any:
        """Add the row and flush it, so what the database generates (its id) is read back."""
        self.session.add(row)
        await self.session.flush()
        return row
