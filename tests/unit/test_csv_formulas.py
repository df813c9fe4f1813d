"""The export's guard against spreadsheet formulas (CSV injection) covers OWASP's list, in the
full-width and small forms too and after leading spaces or line breaks; the import undoes it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.accounts.formulas import guarded, is_formula, unguarded

FORMULAS = [
    "=1+1",
    "+1+1",
    "-1+cmd|' /C calc'!A0",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "\uff1d1+1",  # full-width =
    "\uff0bcmd",  # full-width +
    "\uff0d1",  # full-width -
    "\uff20SUM(A1)",  # full-width @
    "\ufe66HYPERLINK()",  # small =
    ' =HYPERLINK("http://x")',
    "   @x",
    "\n=1+1",
    "\r\n+A1",
    " \n\t-2+3",
    "\u00a0=1",
    "\u3000\uff1d1",
]
PLAIN = ["hello", "+972501234567", "+972 50 123 4567", "-3.5", "a=b", "", "שלום =", "name@x.com"]


@pytest.mark.parametrize("text", FORMULAS, ids=repr)
def test_a_cell_a_spreadsheet_would_run_is_written_behind_a_quote(text: str) -> None:
    assert is_formula(text)
    assert guarded(text) == "'" + text
    assert unguarded(guarded(text)) == text


@pytest.mark.parametrize("text", PLAIN, ids=repr)
def test_text_and_signed_numbers_are_written_as_they_are(text: str) -> None:
    assert guarded(text) == text
    assert unguarded(text) == text


@given(st.text().filter(lambda t: not t.startswith("'")))
def test_the_import_reads_back_what_the_export_wrote(text: str) -> None:
    assert unguarded(guarded(text)) == text
