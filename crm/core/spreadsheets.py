"""Tables written as CSV or XLSX for download: values only, never formulas.

A text cell that a spreadsheet would read as a formula (starting with ``= + - @``, a tab
or a carriage return) is written with a leading apostrophe, in both formats: opened in
Excel or LibreOffice it shows as the text it was. Numbers stay numbers (``Decimal``,
``int``, ``float``), so sums work in the sheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

Cell = str | int | float | Decimal | None

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: Cell) -> Cell:
    """``value`` safe to put in a cell: text that would start a formula gets an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """The table as CSV in UTF-8 with a byte order mark (so Excel reads Cyrillic)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralised(cell) for cell in header])
    for row in rows:
        writer.writerow(["" if cell is None else neutralised(cell) for cell in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(title: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """The table as one XLSX sheet named ``title`` (cut to Excel's 31 characters)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31] or "Sheet")
    sheet.append([neutralised(cell) for cell in header])
    for row in rows:
        sheet.append([neutralised(cell) for cell in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
