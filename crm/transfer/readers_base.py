"""What every reader answers (``Table``, ``SourceRow``), how it refuses a file
(``FileRejected``) and the limits all of them keep. ``crm.transfer.readers`` re-exports these
names; the format readers import them from here so that ``readers`` can import the readers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils.formats import number_format
from django.utils.translation import gettext as _

#: A header wider than this is refused: no record kind has that many fields, and a row of a
#: file that wide is a sign of a wrong separator or of a file that is not a table.
MAX_COLUMNS = 1000

#: A cell longer than this (Excel's own limit for a cell) makes its row fail; the reader keeps
#: no more than this many characters of any cell, so a huge cell never sits in memory whole.
MAX_CELL_CHARS = 32_767


class FileRejected(Exception):
    """The file as a whole cannot be read; ``message`` says why, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SourceRow:
    """One data row: ``number`` as a spreadsheet shows it (the header is row 1), the cells
    as text (as many as the header has columns), and what is wrong with it, if anything.

    A CSV record is one row even when a quoted cell holds line breaks, and blank records
    count (a spreadsheet shows them as empty rows) though they are not yielded. An XLSX row
    keeps the sheet's own row number. A vCard "row" is a card, numbered from 1."""

    number: int
    cells: list[str]
    problem: str = ""


@dataclass
class Table:
    """A file read as a table: ``columns`` are the header cells as written; ``rows`` yields
    the data rows. ``format`` is ``csv``, ``xlsx`` or ``vcard``; ``encoding`` and
    ``delimiter`` say how a CSV file (or a vCard's text) was read and ``sheet`` which sheet
    of a workbook was read (shown to the user); ``notes`` are remarks for the user."""

    columns: list[str]
    rows: Iterator[SourceRow]
    format: str
    encoding: str = ""
    delimiter: str = ""
    notes: list[str] = field(default_factory=list)
    sheet: str = ""


def file_is_empty() -> FileRejected:
    return FileRejected(_("The file is empty."))


def limit_text(limit: int) -> str:
    """A limit as the user's language writes numbers (32,767 or 32 767)."""
    return number_format(limit, force_grouping=True)


def cell_too_long(column: str) -> str:
    """The problem of a row whose cell in ``column`` is over ``MAX_CELL_CHARS``."""
    return _("The cell in column “%(column)s” is longer than %(limit)s characters.") % {
        "column": column,
        "limit": limit_text(MAX_CELL_CHARS),
    }


def too_many_cells(count: int, width: int) -> str:
    """The problem of a row with text in more cells than the header has columns."""
    return _("The row has %(count)s cells but the header has %(width)s columns.") % {
        "count": count,
        "width": width,
    }


def too_many_columns(count: int) -> FileRejected:
    return FileRejected(
        _("The header has %(count)s columns; a file can have at most %(limit)s.")
        % {"count": count, "limit": MAX_COLUMNS}
    )


def join_problems(problems: list[str]) -> str:
    return " ".join(problems)
