"""Reading an uploaded file as a table: a header and rows of text cells.

``read_table(file, filename)`` answers a ``Table`` whose ``rows`` are read lazily from
``file`` (a seekable binary file), so a large file is never held in memory, and reading it
again from the start gives the same rows with the same numbers (the import resumes after a
crash by skipping the rows it has done). A file that cannot be read at all raises
``FileRejected`` with a message for the user; a problem of one row (a cell too long, more
cells than the limit) is that row's ``problem``, and the import fails only that row.

This first version reads UTF-8 CSV with a comma; the formats, encodings and limits the
import promises are added here behind the same interface.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO


class FileRejected(Exception):
    """The file as a whole cannot be read; ``message`` says why, for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SourceRow:
    """One data row: ``number`` as a spreadsheet shows it (the header is row 1), the cells
    as text (as many as the header has columns), and what is wrong with it, if anything."""

    number: int
    cells: list[str]
    problem: str = ""


@dataclass
class Table:
    """A file read as a table: ``columns`` are the header cells as written; ``rows`` yields
    the data rows. ``format`` is ``csv``, ``xlsx`` or ``vcard``; ``encoding`` and
    ``delimiter`` say how a CSV file was read (shown to the user)."""

    columns: list[str]
    rows: Iterator[SourceRow]
    format: str
    encoding: str = ""
    delimiter: str = ""
    notes: list[str] = field(default_factory=list)


def read_table(file: BinaryIO, filename: str) -> Table:
    """The table in ``file`` (named ``filename`` by the user)."""
    file.seek(0)
    text = codecs.getreader("utf-8-sig")(file)
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise FileRejected("The file is empty.") from None
    except UnicodeDecodeError:
        raise FileRejected("The file is not UTF-8 text.") from None
    width = len(header)

    def rows() -> Iterator[SourceRow]:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            yield SourceRow(number, (cells + [""] * width)[:width])

    return Table(columns=header, rows=rows(), format="csv", encoding="utf-8", delimiter=",")
