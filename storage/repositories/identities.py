"""The SQLAlchemy identities repository: the channel addresses customers are reached at."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, insert, literal, or_, select, update
from sqlalchemy.orm import aliased

from bot.domain import ChannelName, Customer, Identity
from storage import records
from storage.repositories.repository import Repository
from storage.tables import CustomerRow, IdentityRow


class SqlIdentities(Repository):
    async def add(
        self,
        business_id: int,
        customer_id: uuid.UUID,
        *,
        channel: ChannelName,
        address: str,
        created_at: datetime,
        last_inbound_at: datetime | None = None,
    ) -> Identity:
        row = IdentityRow(
            business_id=business_id,
            customer_id=customer_id,
            channel=channel.value,
            address=address,
            reachable=True,
            created_at=created_at,
            last_inbound_at=last_inbound_at,
        )
        return records.identity(await self.store(row))

    async def add_from_phones(
        self,
        business_id: int,
        channel: ChannelName,
        *,
        prefix: str,
        at: datetime,
        customer_ids: Sequence[uuid.UUID] | None = None,
    ) -> int:
        address = literal(prefix) + CustomerRow.phone
        earlier = aliased(CustomerRow)
        taken = select(IdentityRow.id).where(
            IdentityRow.business_id == business_id,
            IdentityRow.channel == channel.value,
            IdentityRow.address == address,
        )
        # Two customers with one phone: the oldest has it, as a phone lookup finds it.
        older_twin = select(earlier.id).where(
            earlier.business_id == business_id,
            earlier.phone == CustomerRow.phone,
            or_(
                earlier.created_at < CustomerRow.created_at,
                and_(earlier.created_at == CustomerRow.created_at, earlier.id < CustomerRow.id),
            ),
        )
        chosen = select(
            CustomerRow.business_id,
            CustomerRow.id,
            literal(channel.value),
            address,
            literal(True),
            literal(at, type_=IdentityRow.__table__.c.created_at.type),
        ).where(
            CustomerRow.business_id == business_id,
            CustomerRow.phone.is_not(None),
            ~taken.exists(),
            ~older_twin.exists(),
        )
        if customer_ids is not None:
            chosen = chosen.where(CustomerRow.id.in_(customer_ids))
        result = await self.session.execute(
            insert(IdentityRow).from_select(
                ["business_id", "customer_id", "channel", "address", "reachable", "created_at"],
                chosen,
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def find(self, business_id: int, channel: ChannelName, address: str) -> Identity | None:
        row = await self.session.scalar(
            select(IdentityRow).where(
                IdentityRow.business_id == business_id,
                IdentityRow.channel == channel.value,
                IdentityRow.address == address,
            )
        )
        return records.identity(row) if row else None

    async def holders(
        self, business_id: int, channel: ChannelName, addresses: Sequence[str]
    ) -> dict[str, uuid.UUID]:
        if not addresses:
            return {}
        rows = await self.session.execute(
            select(IdentityRow.address, IdentityRow.customer_id).where(
                IdentityRow.business_id == business_id,
                IdentityRow.channel == channel.value,
                IdentityRow.address.in_(addresses),
            )
        )
        return {address: customer_id for address, customer_id in rows}

    async def find_with_customer(
        self, business_id: int, channel: ChannelName, address: str
    ) -> tuple[Identity, Customer] | None:
        found = (
            await self.session.execute(
                select(IdentityRow, CustomerRow)
                .join(
                    CustomerRow,
                    and_(
                        CustomerRow.id == IdentityRow.customer_id,
                        CustomerRow.business_id == IdentityRow.business_id,
                    ),
                )
                .where(
                    IdentityRow.business_id == business_id,
                    IdentityRow.channel == channel.value,
                    IdentityRow.address == address,
                )
            )
        ).first()
        return (records.identity(found[0]), records.customer(found[1])) if found else None

    async def get(self, identity_id: int) -> Identity:
        return records.identity(await self.session.get_one(IdentityRow, identity_id))

    async def set_last_inbound(self, identity_id: int, *, at: datetime) -> None:
        await self.session.execute(
            update(IdentityRow)
            .where(
                IdentityRow.id == identity_id,
                or_(IdentityRow.last_inbound_at.is_(None), IdentityRow.last_inbound_at < at),
            )
            .values(last_inbound_at=at)
            .execution_options(synchronize_session=False)
        )

    async def for_customer(self, customer_id: uuid.UUID) -> Sequence[Identity]:
        rows = await self.session.scalars(
            select(IdentityRow)
            .where(IdentityRow.customer_id == customer_id)
            .order_by(IdentityRow.id)
        )
        return [records.identity(r) for r in rows]

    async def set_reachable(self, identity_id: int, reachable: bool) -> None:
        await self.session.execute(
            update(IdentityRow).where(IdentityRow.id == identity_id).values(reachable=reachable)
        )

    async def move(self, identity_id: int, customer_id: uuid.UUID) -> None:
        await self.session.execute(
            update(IdentityRow).where(IdentityRow.id == identity_id).values(customer_id=customer_id)
        )

    async def reassign_customer(self, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
        """Give every channel identity of one customer to another (a merge); how many moved."""
        result = await self.session.execute(
            update(IdentityRow).where(IdentityRow.customer_id == from_id).values(customer_id=to_id)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
