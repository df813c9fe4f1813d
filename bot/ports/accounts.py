"""Repositories of who Kesher serves: businesses, customers, their channel identities and accounts, and the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from bot.domain import (
    AccountStatus,
    ApiKey,
    AuditEntry,
    Business,
    CannedReply,
    ChannelAccount,
    ChannelName,
    Customer,
    CustomerFields,
    Identity,
    LikelyDuplicates,
)


class BusinessRepository(Protocol):
    async def add(
        self,
        slug: str,
        *,
        name: str,
        sandbox_enabled: bool,
        created_at: datetime,
        language: str = "he",
    ) -> Business: ...

    async def get_by_slug(self, slug: str) -> Business | None: ...

    async def get(self, business_id: int) -> Business: ...

    async def all(self) -> Sequence[Business]:
        """Every business, by slug."""
        ...

    async def set_consent_words(
        self, business_id: int, *, opt_out: Sequence[str], opt_in: Sequence[str]
    ) -> None:
        """The business's own opt-out and opt-in words, on top of the standard ones."""
        ...

    async def add_api_key(
        self, business_id: int, *, key_hash: str, created_at: datetime
    ) -> ApiKey: ...

    async def find_by_api_key(self, key_hash: str) -> Business | None:
        """The business whose key this is, unless the key was revoked."""
        ...

    async def api_keys(self, business_id: int) -> Sequence[ApiKey]:
        """The business's keys, revoked ones included, oldest first."""
        ...

    async def revoke_api_key(self, business_id: int, key_id: int, *, at: datetime) -> ApiKey | None:
        """Revoke the key (a revoked one keeps its first time); None when the business has no
        such key."""
        ...

    async def set_detector_sensitivity(self, business_id: int, sensitivity: str) -> None: ...

    async def set_opening_hours(self, business_id: int, hours: Mapping[str, Any]) -> None: ...

    async def set_contact_rules(self, business_id: int, rules: Mapping[str, Any]) -> None: ...

    async def set_handoff_rules(self, business_id: int, rules: Mapping[str, Any]) -> None: ...

    async def set_canned_replies(
        self, business_id: int, replies: Sequence[CannedReply]
    ) -> None: ...


class CustomerRepository(Protocol):
    async def add(
        self,
        business_id: int,
        *,
        name: str | None,
        phone: str | None,
        language: str,
        timezone: str,
        attributes: Mapping[str, Any],
        created_at: datetime,
        external_id: str | None = None,
    ) -> Customer: ...

    async def get(self, business_id: int, customer_id: uuid.UUID) -> Customer | None: ...

    async def find_by_external_id(self, business_id: int, external_id: str) -> Customer | None: ...

    async def find_by_phone(self, business_id: int, phone: str) -> Customer | None: ...

    async def unreachable(self, business_id: int) -> int:
        """How many customers (not opted out) have no channel they can be reached on yet."""
        ...

    async def find_refs(
        self,
        business_id: int,
        *,
        external_ids: Sequence[str],
        phones: Sequence[str],
        ids: Sequence[uuid.UUID] = (),
    ) -> Sequence[Customer]:
        """The customers with any of these external ids, phones or ids, newest first."""
        ...

    async def update(self, customer_id: uuid.UUID, fields: CustomerFields) -> None:
        """Set every field that is not None; attributes are merged into the existing ones."""
        ...

    async def list(self, business_id: int, *, limit: int, offset: int) -> Sequence[Customer]: ...

    async def search(
        self, business_id: int, *, text: str, phone: str | None, limit: int
    ) -> Sequence[Customer]:
        """Customers whose id, external id or phone is `text`, whose phone is `phone` (already
        normalised), or whose name holds `text` (any case); newest first."""
        ...

    async def delete(self, business_id: int, customer_id: uuid.UUID) -> bool:
        """Remove the customer and, by the foreign keys, everything recorded about them."""
        ...

    async def set_name(self, customer_id: uuid.UUID, name: str) -> None: ...

    async def set_opted_out(
        self, customer_id: uuid.UUID, opted_out: bool, *, at: datetime
    ) -> None: ...

    async def set_link(
        self, customer_id: uuid.UUID, token_hash: str | None, *, expires_at: datetime | None
    ) -> None:
        """Keep the SHA-256 of the customer's deep-link token and when it expires (None: none)."""
        ...

    async def by_link(self, business_id: int, token_hash: str, *, now: datetime) -> Customer | None:
        """The customer whose unexpired deep link has this hash."""
        ...

    async def lock(self, customer_ids: Sequence[uuid.UUID]) -> None:
        """Hold the customers' rows until the commit, so no row is added for them meanwhile."""
        ...

    async def holdings(self, customer_id: uuid.UUID) -> dict[str, int]:
        """How many rows of each table keyed by customer are the customer's: identities,
        conversations, messages, events, answers, checkins, handoffs, questions."""
        ...

    async def duplicates(self, business_id: int, *, limit: int) -> Sequence[LikelyDuplicates]:
        """Groups of customers with one phone (unless each has an external id of their own: a
        family), one e-mail attribute, or one external id in another form; up to `limit`
        groups of each reason, oldest customer first in each."""
        ...


class IdentityRepository(Protocol):
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
        """A new identity; `last_inbound_at` when it is made for a message the customer wrote."""
        ...

    async def add_from_phones(
        self,
        business_id: int,
        channel: ChannelName,
        *,
        prefix: str,
        at: datetime,
        customer_ids: Sequence[uuid.UUID] | None = None,
    ) -> int:
        """An identity `prefix + phone` for each customer with a phone and none such yet (of
        customers sharing a phone, the oldest); how many were added."""
        ...

    async def find(
        self, business_id: int, channel: ChannelName, address: str
    ) -> Identity | None: ...

    async def holders(
        self, business_id: int, channel: ChannelName, addresses: Sequence[str]
    ) -> dict[str, uuid.UUID]:
        """The customer at each of these addresses that has an identity, by address."""
        ...

    async def find_with_customer(
        self, business_id: int, channel: ChannelName, address: str
    ) -> tuple[Identity, Customer] | None:
        """The identity, as `find` has it, with its customer, in one read."""
        ...

    async def get(self, identity_id: int) -> Identity: ...

    async def set_last_inbound(self, identity_id: int, *, at: datetime) -> None:
        """The customer wrote at `at` (it opens WhatsApp's window); never moves back in time."""
        ...

    async def for_customer(self, customer_id: uuid.UUID) -> Sequence[Identity]: ...

    async def set_reachable(self, identity_id: int, reachable: bool) -> None: ...

    async def move(self, identity_id: int, customer_id: uuid.UUID) -> None:
        """Give the identity to another customer of the same business."""
        ...

    async def reassign_customer(self, from_id: uuid.UUID, to_id: uuid.UUID) -> int:
        """Give every channel identity of one customer to another (a merge); how many moved."""
        ...


class ChannelAccountRepository(Protocol):
    async def get(self, business_id: int, channel: ChannelName) -> ChannelAccount | None: ...

    async def by_slug(
        self, slug: str, channel: ChannelName
    ) -> tuple[Business, ChannelAccount | None] | None:
        """The business named `slug` and its account on `channel` (None if it has none), in one
        read; None when no business has that slug."""
        ...

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
        """Create or replace the business's account on the channel."""
        ...

    async def reseal(self, *, after: int, limit: int) -> tuple[int, int] | None:
        """Seal the stored credentials again with the newest key, up to `limit` accounts with
        an id above `after`: how many and the last id, or None when none is left."""
        ...

    async def unreadable(self) -> int:
        """How many accounts keep credentials that none of the keys opens."""
        ...


class AuditRepository(Protocol):
    async def add(
        self,
        business_id: int,
        *,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        details: Mapping[str, Any],
    ) -> AuditEntry: ...

    async def list(self, business_id: int, *, limit: int) -> Sequence[AuditEntry]:
        """Newest first."""
        ...
