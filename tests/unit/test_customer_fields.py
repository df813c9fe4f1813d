"""What a business may say about a customer, checked before anything is stored."""

from __future__ import annotations

import pytest

from bot.accounts.customers import csv_rows, normalise_phone, parse_customer
from bot.domain import InvalidInput


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("050-555-1234", "+972505551234"),
        ("0505551234", "+972505551234"),
        ("+972 50 555 1234", "+972505551234"),
        ("972505551234", "+972505551234"),
        ("+1 (212) 555-0123", "+12125550123"),
    ],
)
def test_phone_numbers_are_stored_in_e164_with_israel_as_the_home_region(
    raw: str, e164: str
) -> None:
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12", "not a phone", "050-123", "+972 1"])
def test_a_phone_number_that_cannot_be_dialled_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="not a valid phone number"):
        normalise_phone(raw)


def test_a_row_keeps_hebrew_names_exactly_and_turns_other_columns_into_attributes() -> None:
    fields = parse_customer(
        {
            "external_id": " c-17 ",
            "name": "שִׁירָה כ״ץ",
            "phone": "052-765-4321",
            "language": "עברית",
            "timezone": "Asia/Jerusalem",
            "tags": "vip; חדש ,",
            "plan": "gold",
            "renewal": "",
        }
    )

    assert fields.external_id == "c-17"
    assert fields.name == "שִׁירָה כ״ץ"
    assert fields.phone == "+972527654321"
    assert fields.language == "he"
    assert fields.attributes == {"plan": "gold", "tags": ["vip", "חדש"]}


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"name": "Dana"}, "give 'external_id' or 'phone'"),
        ({"phone": "0505551234", "language": "fr"}, "language: 'fr' is not one of he, en"),
        ({"phone": "0505551234", "timezone": "Mars/Olympus"}, "timezone: 'Mars/Olympus'"),
        ({"external_id": "x" * 129}, "external_id: longer than 128"),
        ({"external_id": "a", "attributes": [1]}, "attributes: must be an object"),
        ({"external_id": True}, "external_id: must be text"),
    ],
)
def test_a_bad_record_is_refused_with_the_field_named(record: dict, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_customer(record)
    assert message in error.value.message


def test_csv_rows_carry_their_line_numbers_even_across_quoted_newlines() -> None:
    text = 'External_ID , name\nc-1,"Dana\nCohen"\nc-2,Avi\n'
    assert list(csv_rows(text)) == [
        (3, {"external_id": "c-1", "name": "Dana\nCohen"}),
        (4, {"external_id": "c-2", "name": "Avi"}),
    ]


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        list(csv_rows(""))


def test_a_csv_that_breaks_midway_says_on_which_line() -> None:
    from bot.accounts.customers import UnreadableCsv

    rows = csv_rows('external_id,name\nc-1,Dana\nc-2,"never closed\n')
    assert next(rows) == (2, {"external_id": "c-1", "name": "Dana"})
    with pytest.raises(UnreadableCsv) as error:
        next(rows)
    assert error.value.line == 3


def test_windows_line_endings_and_a_byte_order_mark_are_read() -> None:
    from bot.accounts.customers import decode_csv

    text = decode_csv("\ufeffexternal_id,name\r\nc-1,דנה\r\n".encode())
    assert list(csv_rows(text)) == [(2, {"external_id": "c-1", "name": "דנה"})]
