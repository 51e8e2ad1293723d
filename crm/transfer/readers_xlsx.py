"""Excel workbooks (XLSX), read safely.

Before openpyxl sees the file, the archive itself is checked: it must be a zip holding
``xl/workbook.xml``; the sizes its entries declare must add up to at most
``MAX_UNPACKED_BYTES`` and no large entry may be packed more than ``MAX_PACKING_RATIO``
times (a zip bomb), and no XML part may declare a DOCTYPE or an ENTITY (the "billion
laughs" entity expansion and external entities; a spreadsheet never needs them). Reading
an entry never yields more bytes than it declares (``zipfile`` cuts it there), so the
size check holds for lying archives too. openpyxl itself parses the sheets with
``defusedxml`` when it is installed (it is, in requirements.txt), which refuses the same
declarations a second time.

The first sheet with a non-blank row is read, in openpyxl's read-only (streaming) mode;
its first non-blank row is the header. Values come out as text: dates as ``YYYY-MM-DD``
(``YYYY-MM-DD HH:MM`` with a time of day), whole numbers without ``.0``, other numbers as
Python writes the float back (the shortest form that reads as the same number, which is
what the cell holds), TRUE/FALSE for logical cells, cached results for formulas.
"""

from __future__ import annotations

import datetime
import zipfile
from collections.abc import Iterator
from typing import Any, BinaryIO

from django.utils.translation import gettext as _

from .readers_base import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    FileRejected,
    SourceRow,
    Table,
    cell_too_long,
    join_problems,
    too_many_cells,
    too_many_columns,
)

MAX_UNPACKED_BYTES = 200 * 1024 * 1024
#: A sheet of real data packs 5 to 50 times; a bomb packs thousands of times.
MAX_PACKING_RATIO = 500
_RATIO_CHECKED_FROM = 1024 * 1024
_SCAN_CHUNK = 256 * 1024
_DECLARATIONS = tuple(
    word.encode(codec)
    for word in ("<!DOCTYPE", "<!ENTITY")
    for codec in ("utf-8", "utf-16-le", "utf-16-be")
)
_OPEN_DOCUMENT = b"application/vnd.oasis.opendocument"


def workbook_damaged() -> FileRejected:
    return FileRejected(_("The workbook could not be read: it may be damaged."))


def read_xlsx(file: BinaryIO) -> Table:
    """The table of the first non-empty sheet of the XLSX workbook in ``file``."""
    check_archive(file)
    workbook = _open(file)
    try:
        found = _first_sheet_with_data(workbook)
        if found is None:
            raise FileRejected(_("The workbook's sheets are empty."))
        sheet_index, header_number, header_values = found
        sheet_names = list(workbook.sheetnames)
    except FileRejected:
        raise
    except Exception:
        raise workbook_damaged() from None
    finally:
        workbook.close()
    if len(header_values) > MAX_COLUMNS:
        raise too_many_columns(len(header_values))
    columns = [" ".join(cell_text(value).split()) for value in header_values]
    width = len(columns)
    sheet_name = sheet_names[sheet_index]
    notes = []
    if len(sheet_names) > 1:
        notes.append(
            _("Only the sheet “%(sheet)s” is read; the workbook has %(count)s sheets.")
            % {"sheet": sheet_name, "count": len(sheet_names)}
        )

    def rows() -> Iterator[SourceRow]:
        workbook = _open(file)
        try:
            sheet = workbook.worksheets[sheet_index]
            values = _sheet_rows(sheet)
            for number, row in values:
                if number > header_number and any(cell_text(value).strip() for value in row):
                    yield _source_row(number, row, columns, width)
        except FileRejected:
            raise
        except Exception:
            raise workbook_damaged() from None
        finally:
            workbook.close()

    return Table(columns=columns, rows=rows(), format="xlsx", sheet=sheet_name, notes=notes)


def check_archive(file: BinaryIO) -> None:
    """Refuses a zip that is not a workbook, too big when unpacked, packed like a bomb or
    with XML declarations that a spreadsheet never has."""
    file.seek(0)
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, ValueError, OSError):
        raise workbook_damaged() from None
    with archive:
        entries = archive.infolist()
        names = {entry.filename for entry in entries}
        if "mimetype" in names and _OPEN_DOCUMENT in _start_of(archive, "mimetype"):
            raise FileRejected(
                _(
                    "This is an OpenDocument spreadsheet (.ods). Open it in LibreOffice or "
                    "Excel and save it as XLSX or CSV."
                )
            )
        if "xl/workbook.bin" in names:
            raise FileRejected(
                _(
                    "This is a binary Excel workbook (.xlsb). Open it in Excel and save it as "
                    "XLSX or CSV."
                )
            )
        if "xl/workbook.xml" not in names:
            raise FileRejected(_("The archive is not an Excel workbook (XLSX)."))
        unpacked = sum(entry.file_size for entry in entries)
        if unpacked > MAX_UNPACKED_BYTES:
            raise FileRejected(
                _(
                    "The workbook unpacks to more than %(limit)s MB. Split it into smaller "
                    "files or save it as CSV."
                )
                % {"limit": MAX_UNPACKED_BYTES // (1024 * 1024)}
            )
        for entry in entries:
            if entry.file_size >= _RATIO_CHECKED_FROM and entry.file_size > MAX_PACKING_RATIO * max(
                entry.compress_size, 1
            ):
                raise FileRejected(
                    _(
                        "The workbook is packed suspiciously tightly (a zip bomb?); it was not "
                        "opened."
                    )
                )
        for entry in entries:
            if entry.filename.endswith((".xml", ".rels", ".vml")) and _declares(archive, entry):
                raise FileRejected(
                    _(
                        "The workbook contains XML declarations (DOCTYPE or ENTITY) that a "
                        "spreadsheet never has; it was not opened."
                    )
                )


def _start_of(archive: zipfile.ZipFile, name: str) -> bytes:
    try:
        with archive.open(name) as part:
            return part.read(100)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        raise workbook_damaged() from None


def _declares(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> bool:
    overlap = max(len(word) for word in _DECLARATIONS) - 1
    tail = b""
    try:
        with archive.open(entry) as part:
            while chunk := part.read(_SCAN_CHUNK):
                window = tail + chunk
                if any(word in window for word in _DECLARATIONS):
                    return True
                tail = window[-overlap:]
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        raise workbook_damaged() from None
    return False


def _open(file: BinaryIO) -> Any:
    from openpyxl import load_workbook

    file.seek(0)
    try:
        return load_workbook(file, read_only=True, data_only=True)
    except Exception:
        raise workbook_damaged() from None


def _sheet_rows(sheet: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """The sheet's rows with their numbers; missing rows come as empty tuples. The
    declared dimension is dropped first: writers get it wrong and read-only mode trusts it."""
    sheet.reset_dimensions()
    return enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)


def _first_sheet_with_data(workbook: Any) -> tuple[int, int, list[Any]] | None:
    for index, sheet in enumerate(workbook.worksheets):
        for number, row in _sheet_rows(sheet):
            values = list(row)
            while values and cell_text(values[-1]).strip() == "":
                values.pop()
            if values:
                return index, number, values
    return None


def _source_row(number: int, row: tuple[Any, ...], columns: list[str], width: int) -> SourceRow:
    cells = [cell_text(value) for value in row[:width]]
    cells += [""] * (width - len(cells))
    problems = [
        cell_too_long(columns[index] or str(index + 1))
        for index, cell in enumerate(cells)
        if len(cell) > MAX_CELL_CHARS
    ]
    cells = [cell[:MAX_CELL_CHARS] for cell in cells]
    extra = [value for value in row[width:] if cell_text(value).strip()]
    if extra:
        last = max(i for i, value in enumerate(row) if cell_text(value).strip()) + 1
        problems.append(too_many_cells(last, width))
    return SourceRow(number, cells, join_problems(problems))


def cell_text(value: Any) -> str:
    """A cell's value as the text a user would type for it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time():
            return value.strftime("%Y-%m-%d")
        if value.second or value.microsecond:
            return value.strftime("%Y-%m-%d %H:%M:%S")
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M:%S" if value.second else "%H:%M")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)
