"""Cells a spreadsheet would run as a formula, after OWASP's list for CSV injection: one that
starts with =, +, -, @, a tab or a carriage return, in their ASCII, full-width or small forms,
also after leading spaces or line breaks. An export writes such a cell with a leading `'`
(shown as text, never run), and an import takes that `'` off again. A plain signed number
(+972 50 123 4567, -3.5) is no formula and is left as it is."""

from __future__ import annotations

import re

# = + - @ (ASCII, full-width U+FF1D U+FF0B U+FF0D U+FF20, small U+FE66 U+FE62 U+FE63 U+FE6B),
# tab and carriage return.
STARTS = "=+-@\t\r\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b"
_FORMULA = re.compile(rf"^[\s\u00a0\u3000\ufeff]*[{re.escape(STARTS)}]")
_SIGNED_NUMBER = re.compile(r"^ *[+-][\d. ]*$")
GUARD = "'"


def is_formula(text: str) -> bool:
    return bool(_FORMULA.match(text)) and not _SIGNED_NUMBER.match(text)


def guarded(text: str) -> str:
    """The cell as an export writes it: a would-be formula behind a `'`."""
    return GUARD + text if is_formula(text) else text


def unguarded(cell: str) -> str:
    """The cell as an export's guard found it: the `'` it added taken off."""
    return cell[1:] if cell.startswith(GUARD) and is_formula(cell[1:]) else cell
