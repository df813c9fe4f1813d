"""The SQLAlchemy channel accounts repository: each business's connection to a channel, its
credentials sealed (storage.credentials) on the way in and opened on the way out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import AccountStatus, Business, ChannelAccount, ChannelName
from storage import records
from storage.credentials import CredentialCipher, UnreadableCredentials
from storage.repositories.repository import Repository
from storage.tables import BusinessRow, ChannelAccountRow


class SqlChannelAccounts(Repository):
    def __init__(self, session: AsyncSession, *, cipher: CredentialCipher) -> None:
        super().__init__(session)
        self._cipher = cipher

    async def get(self, business_id: int, channel: ChannelName) -> ChannelAccount | None:
        row = await self._row(business_id, channel)
        return self._account(row) if row else None

    async def by_slug(
        self, slug: str, channel: ChannelName
    ) -> tuple[Business, ChannelAccount | None] | None:
        found = (
            await self.session.execute(
                select(BusinessRow, ChannelAccountRow)
                .outerjoin(
                    ChannelAccountRow,
                    and_(
                        ChannelAccountRow.business_id == BusinessRow.id,
                        ChannelAccountRow.channel == channel.value,
                    ),
                )
                .where(BusinessRow.slug == slug)
            )
        ).first()
        if found is None:
            return None
        business, account = found
        return records.business(business), (self._account(account) if account is not None else None)

    async def _row(self, business_id: int, channel: ChannelName) -> ChannelAccountRow | None:
        return await self.session.scalar(
            select(ChannelAccountRow).where(
                ChannelAccountRow.business_id == business_id,
                ChannelAccountRow.channel == channel.value,
            )
        )

    async def save(
        self,
        business_id: int,
        channel: ChannelName,
        *,
        status: AccountStatus,
        credentials: Mapping[str, str],
        settings: Mapping[str, Any],
        last_error: str | None,
        at: datetime,
    ) -> ChannelAccount:
        row = await self._row(business_id, channel)
        if row is None:
            row = ChannelAccountRow(business_id=business_id, channel=channel.value, created_at=at)
            self.session.add(row)
        row.status = status.value
        row.credentials = self._cipher.seal(credentials)
        row.settings = dict(settings)
        row.last_error = last_error
        row.updated_at = at
        await self.session.flush()
        return self._account(row)

    async def reseal(self, *, after: int, limit: int) -> tuple[int, int] | None:
        """Seal again with the newest key the accounts with credentials whose id is above
        `after`, at most `limit` of them, rows locked; how many and the last id, or None when
        none is left."""
        rows = (
            await self.session.scalars(
                select(ChannelAccountRow)
                .where(ChannelAccountRow.id > after)
                .order_by(ChannelAccountRow.id)
                .limit(limit)
                .with_for_update()
            )
        ).all()
        if not rows:
            return None
        for row in rows:
            row.credentials = self._cipher.reseal(row.credentials)
        await self.session.flush()
        return len(rows), rows[-1].id

    async def unreadable(self) -> int:
        """How many accounts keep credentials that none of the keys opens."""
        count = 0
        for stored in await self.session.scalars(select(ChannelAccountRow.credentials)):
            try:
                self._cipher.open(stored)
            except UnreadableCredentials:
                count += 1
        return count

    def _account(self, row: ChannelAccountRow) -> ChannelAccount:
        return records.channel_account(row, self._cipher.open(row.credentials))
