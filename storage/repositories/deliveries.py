"""The SQLAlchemy delivery log: every inbound delivery id a channel gave, stored once."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError

from bot.domain import ChannelName, DuplicateDelivery
from storage.repositories.repository import Repository
from storage.tables import InboundDeliveryRow

_DELIVERY_INSERT = insert(cast(Table, InboundDeliveryRow.__table__))


class SqlDeliveries(Repository):
    async def add(
        self,
        business_id: int,
        *,
        channel: ChannelName,
        delivery_id: str,
        message_id: int | None,
        received_at: datetime,
    ) -> None:
        values = {
            "business_id": business_id,
            "channel": channel.value,
            "delivery_id": delivery_id,
            "message_id": message_id,
            "received_at": received_at,
        }
        try:
            await self.session.execute(_DELIVERY_INSERT, values)
        except IntegrityError as error:
            raise DuplicateDelivery(
                f"{channel.value} delivery {delivery_id} already stored"
            ) from error

    async def find(self, business_id: int, channel: ChannelName, delivery_id: str) -> int | None:
        row = await self.session.execute(
            select(InboundDeliveryRow.message_id).where(
                InboundDeliveryRow.business_id == business_id,
                InboundDeliveryRow.channel == channel.value,
                InboundDeliveryRow.delivery_id == delivery_id,
            )
        )
        found = row.first()
        if found is None:
            return None
        return found[0] or 0
