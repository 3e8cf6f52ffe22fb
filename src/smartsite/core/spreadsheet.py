"""Writing stored text into .xlsx files without it turning into live formulas.

openpyxl makes any string that starts with "=" a formula cell, and a string equal to an error
code ("#N/A", ...) an error cell. Excel re-reads a text cell starting with "=", "+", "-" or "@"
(or a tab/CR before one of those) as a formula as soon as anyone edits it. Every workbook we
hand out passes text through here: such a cell is written as a string with Excel's quote
prefix (what typing a leading apostrophe does), so it shows and stays the same text and its
value is unchanged. Numbers, dates and all other text are left as they are.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES

__all__ = ["FORMULA_PREFIXES", "guard_cell", "guard_workbook", "looks_like_formula", "text_row"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: Any) -> bool:
    """True for text a spreadsheet would (or would on editing) treat as a formula or error."""
    return isinstance(value, str) and (value.startswith(FORMULA_PREFIXES) or value in ERROR_CODES)


def guard_cell(cell) -> None:
    """Make a cell holding such text a plain, quote-prefixed string cell."""
    if looks_like_formula(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True


def text_row(ws, values: Iterable[Any]) -> list[Any]:
    """`values` ready for `ws.append` (write-only sheets too): formula-like text as text cells."""
    out = []
    for value in values:
        if looks_like_formula(value):
            cell = WriteOnlyCell(ws, value)
            guard_cell(cell)
            value = cell
        out.append(value)
    return out


def guard_workbook(wb) -> None:
    """Guard every cell of a (not write-only) workbook just before it is saved."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                guard_cell(cell)
