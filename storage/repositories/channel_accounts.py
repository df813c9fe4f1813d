"""The SQLAlchemy channel accounts repository: each business's connection to a channel."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select

from bot.domain import AccountStatus, Business, ChannelAccount, ChannelName
from storage import records
from storage.repositories.repository import Repository
from storage.tables import BusinessRow, ChannelAccountRow


class SqlChannelAccounts(Repository):
    async def get(self, business_id: int, channel: ChannelName) -> ChannelAccount | None:
        row = await self._row(business_id, channel)
        return records.channel_account(row) if row else None

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
        return records.business(business), (
            records.channel_account(account) if account is not None else None
        )

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
        row.credentials = dict(credentials)
        row.settings = dict(settings)
        row.last_error = last_error
        row.updated_at = at
        await self.session.flush()
        return records.channel_account(row)
