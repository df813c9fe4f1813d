"""Customers a business tells Kesher about: validation, create-or-update, and CSV import.

A customer is matched on the business's own id (`external_id`) first, then on the phone
number: the customer whose WhatsApp identity is that number, else the oldest with that phone.
So importing the same file twice updates instead of duplicating, and a customer who wrote on
WhatsApp first is the one an import by their phone updates. Two people who each have their
own external id keep a record each, even on one phone (a family).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import phonenumbers

from bot.accounts.formulas import unguarded
from bot.domain import (
    WHATSAPP_PREFIX,
    AccountStatus,
    Business,
    ChannelName,
    Customer,
    CustomerFields,
    EventKind,
    InvalidInput,
)
from bot.ports import UnitOfWork, UnitOfWorkFactory

LANGUAGES = {"he": "he", "en": "en", "hebrew": "he", "english": "en", "עברית": "he", "אנגלית": "en"}
KNOWN_COLUMNS = ("external_id", "name", "phone", "language", "timezone", "tags")
# Columns of Kesher's own in an export (its id, opt-out, creation time): an import skips them.
READ_ONLY_PREFIX = "kesher_"
# csv_rows keeps a row's cells past the header under this key (no header name can be it).
EXTRA = "\x00extra"
MAX_ATTRIBUTE_LENGTH = 1000
BATCH = 500


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def normalise_phone(raw: str, *, region: str = "IL") -> str:
    """E.164 (+972501234567); local Israeli numbers (050-123-4567) are read as Israeli."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"phone: '{raw}' is not a valid phone number", code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _text(record: Mapping[str, Any], name: str, *, limit: int) -> str | None:
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidInput(f"{name}: must be text", code="invalid_field")
    text = str(value).strip()
    if len(text) > limit:
        raise InvalidInput(f"{name}: longer than {limit} characters", code="invalid_field")
    return text or None


def parse_customer(record: Mapping[str, Any]) -> CustomerFields:
    """Validate one customer record (an API body or a CSV row); unknown keys become attributes."""
    if record.get(EXTRA):
        raise InvalidInput(
            f"more cells than the header names: {record[EXTRA]!r}", code="invalid_row"
        )
    phone = _text(record, "phone", limit=40)
    external_id = _text(record, "external_id", limit=128)
    if phone is None and external_id is None:
        raise InvalidInput("give 'external_id' or 'phone' (or both)", code="missing_field")
    language = _text(record, "language", limit=20)
    if language is not None:
        if language.casefold() not in LANGUAGES:
            raise InvalidInput(f"language: '{language}' is not one of he, en", code="invalid_field")
        language = LANGUAGES[language.casefold()]
    timezone = _text(record, "timezone", limit=64)
    if timezone is not None and timezone not in _timezones():
        raise InvalidInput(
            f"timezone: '{timezone}' is not an IANA time zone such as Asia/Jerusalem",
            code="invalid_field",
        )
    attributes: dict[str, Any] = {}
    given = record.get("attributes")
    if isinstance(given, Mapping):
        attributes.update(given)
    elif given is not None:
        raise InvalidInput("attributes: must be an object", code="invalid_field")
    for key, value in record.items():
        if key in KNOWN_COLUMNS or key in ("attributes", EXTRA) or value in (None, ""):
            continue
        if str(key).startswith(READ_ONLY_PREFIX):
            continue
        attributes[str(key).strip()] = _text(record, key, limit=MAX_ATTRIBUTE_LENGTH)
    tags = _text(record, "tags", limit=MAX_ATTRIBUTE_LENGTH)
    if tags:
        attributes["tags"] = [t.strip() for t in tags.replace(";", ",").split(",") if t.strip()]
    return CustomerFields(
        name=_text(record, "name", limit=200),
        phone=normalise_phone(phone) if phone else None,
        language=language,
        timezone=timezone,
        external_id=external_id,
        attributes=attributes,
    )


async def upsert_customer(
    uow: UnitOfWork, business: Business, fields: CustomerFields, *, now: datetime, source: str
) -> tuple[Customer, bool]:
    """Create the customer, or update the one with the same external id or phone; True if new."""
    existing = None
    if fields.external_id:
        existing = await uow.customers.find_by_external_id(business.id, fields.external_id)
    if existing is None and fields.phone:
        existing = _by_phone(await phone_holder(uow, business, fields.phone), fields)
    if existing is not None:
        await uow.customers.update(existing.id, fields)
        updated = await uow.customers.get(business.id, existing.id)
        assert updated is not None
        return updated, False
    customer = await _create(uow, business, fields, now=now, source=source)
    await reach_on_whatsapp(uow, business, now=now, customer_ids=[customer.id])
    return customer, True


async def phone_holder(uow: UnitOfWork, business: Business, phone: str) -> Customer | None:
    """The customer a phone (E.164) is: the one whose WhatsApp identity is that number (their
    messages go there), else the oldest customer with the phone."""
    identity = await uow.identities.find(business.id, ChannelName.WHATSAPP, WHATSAPP_PREFIX + phone)
    if identity is not None:
        return await uow.customers.get(business.id, identity.customer_id)
    return await uow.customers.find_by_phone(business.id, phone)


def _by_phone(found: Customer | None, fields: CustomerFields) -> Customer | None:
    """The customer with the phone, unless both have ids and they differ: a family may share
    one phone, and each keeps their own record."""
    if found is None or (
        fields.external_id and found.external_id not in (None, fields.external_id)
    ):
        return None
    return found


async def search_customers(
    uow: UnitOfWork, business: Business, text: str, *, limit: int
) -> Sequence[Customer]:
    """The business's customers known by `text`: their Kesher id, the business's own id, the
    phone in any form (054-…, +972…), or a part of the name; newest first."""
    text = text.replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL
    if not text:
        return []
    try:
        phone: str | None = normalise_phone(text)
    except InvalidInput:
        phone = None
    return await uow.customers.search(business.id, text=text, phone=phone, limit=limit)


async def reach_on_whatsapp(
    uow: UnitOfWork,
    business: Business,
    *,
    now: datetime,
    customer_ids: Sequence[uuid.UUID] | None = None,
) -> int:
    """With WhatsApp connected, a customer known by phone is reachable there: they get the
    identity `whatsapp:<phone>` (its first messages go as approved templates, the 24-hour
    window being closed), and when they write, their messages join their record."""
    account = await uow.accounts.get(business.id, ChannelName.WHATSAPP)
    if account is None or account.status is not AccountStatus.CONNECTED:
        return 0
    return await uow.identities.add_from_phones(
        business.id, ChannelName.WHATSAPP, prefix=WHATSAPP_PREFIX, at=now, customer_ids=customer_ids
    )


async def _create(
    uow: UnitOfWork, business: Business, fields: CustomerFields, *, now: datetime, source: str
) -> Customer:
    customer = await uow.customers.add(
        business.id,
        name=fields.name,
        phone=fields.phone,
        language=fields.language or business.language,
        timezone=fields.timezone or business.timezone,
        attributes=dict(fields.attributes),
        created_at=now,
        external_id=fields.external_id,
    )
    await uow.events.add(
        business.id,
        customer.id,
        kind=EventKind.CUSTOMER_CREATED,
        occurred_at=now,
        data={"source": source},
    )
    return customer


async def _upsert_batch(
    uow: UnitOfWork, business: Business, batch: Sequence[CustomerFields], *, now: datetime
) -> tuple[int, int]:
    """`upsert_customer` for a batch, with one lookup for all its rows: (created, updated)."""
    phones = [f.phone for f in batch if f.phone]
    holders = await uow.identities.holders(
        business.id, ChannelName.WHATSAPP, [WHATSAPP_PREFIX + p for p in phones]
    )
    known = await uow.customers.find_refs(
        business.id,
        external_ids=[f.external_id for f in batch if f.external_id],
        phones=phones,
        ids=list(holders.values()),
    )
    # Oldest last, so the oldest wins, as find_by_phone's does.
    by_external = {c.external_id: c for c in known if c.external_id}
    by_phone = {c.phone: c for c in known if c.phone}
    by_id = {c.id: c for c in known}
    for address, customer_id in holders.items():
        by_phone[address.removeprefix(WHATSAPP_PREFIX)] = by_id[customer_id]
    created = updated = 0
    for fields in batch:
        existing = by_external.get(fields.external_id) if fields.external_id else None
        if existing is None and fields.phone:
            existing = _by_phone(by_phone.get(fields.phone), fields)
        if existing is not None:
            await uow.customers.update(existing.id, fields)
            _remember(by_external, by_phone, existing, fields)
            updated += 1
            continue
        customer = await _create(uow, business, fields, now=now, source="import")
        if customer.external_id:
            by_external[customer.external_id] = customer
        if customer.phone:
            by_phone.setdefault(customer.phone, customer)
        created += 1
    return created, updated


def _remember(
    by_external: dict[str, Customer],
    by_phone: dict[str, Customer],
    existing: Customer,
    fields: CustomerFields,
) -> None:
    """The batch's lookups see an update: a later row with the same phone meets the customer
    as this row left them (with their new external id, so a family's next id is another)."""
    now = replace(
        existing,
        external_id=fields.external_id or existing.external_id,
        phone=fields.phone or existing.phone,
    )
    if now.external_id:
        by_external[now.external_id] = now
    for phone, customer in list(by_phone.items()):
        if customer.id == existing.id:
            by_phone[phone] = now


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)


class UnreadableCsv(InvalidInput):
    """The CSV breaks at `line`; rows before it were read."""

    code = "invalid_csv"

    def __init__(self, message: str, *, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def csv_rows(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; header names are trimmed and lower-cased.

    Commas separate cells, or semicolons or tabs when the header has no comma (Excel in many
    locales saves so). A cell the export guarded against spreadsheet formulas ("'=...")
    comes back as it was, so an exported file imports unchanged. A row with more cells than
    the header has names keeps the extra ones under EXTRA, for parse_customer to refuse.
    """
    end = text.find("\n")  # the header line, without copying the rest of a large file
    first = text if end < 0 else text[:end]
    delimiter = "," if "," in first else next((d for d in ";\t" if d in first), ",")
    reader = csv.DictReader(
        io.StringIO(text, newline=""), strict=True, delimiter=delimiter, restkey=EXTRA
    )
    read_to = 0
    try:
        header = reader.fieldnames
        if not header:
            raise InvalidInput("the file is empty: a header row is needed", code="empty_file")
        reader.fieldnames = [name.strip().lower() for name in header]
        read_to = reader.line_num
        for row in reader:
            read_to = reader.line_num
            extra = [v for v in row.pop(EXTRA, []) if v.strip()]
            cells = {k: unguarded(v or "") for k, v in row.items()}
            yield read_to, {**cells, EXTRA: ",".join(extra)} if extra else cells
    except csv.Error as error:
        raise UnreadableCsv(str(error), line=read_to + 1) from None


def decode_csv(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"the file is not UTF-8 (byte {error.start}); save it as 'CSV UTF-8'",
            code="invalid_utf8",
        ) from None


async def import_customers(
    uow_factory: UnitOfWorkFactory,
    business: Business,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    *,
    now: Callable[[], datetime],
    progress: Callable[[int], None] = lambda _: None,
) -> ImportReport:
    """Import rows in batches; a bad row is reported by line and the good ones are kept."""
    report = ImportReport()
    batch: list[tuple[int, CustomerFields]] = []

    async def flush() -> None:
        async with uow_factory() as uow:
            created, updated = await _upsert_batch(
                uow, business, [fields for _, fields in batch], now=now()
            )
            await uow.commit()
        report.created += created
        report.updated += updated
        progress(len(batch))
        batch.clear()

    try:
        for line, row in rows:
            try:
                batch.append((line, parse_customer(row)))
            except InvalidInput as error:
                report.errors.append(RowError(line, error.message))
                progress(1)
            if len(batch) >= BATCH:
                await flush()
    except UnreadableCsv as error:
        report.errors.append(RowError(error.line, f"the file cannot be read from here on: {error}"))
    if batch:
        await flush()
    async with uow_factory() as uow:
        await reach_on_whatsapp(uow, business, now=now())
        await uow.commit()
    return report
