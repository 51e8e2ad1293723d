"""The file formats of a list export: CSV, XLSX and vCard 3.0, each written from chunks
of rows (what an ``Exporter``'s ``chunks`` give) without holding the list in memory.

Spreadsheet safety: a text cell that a spreadsheet would read as a formula (it starts
with ``= + - @``, a tab or a carriage return) is written in CSV with a leading apostrophe
(Excel and LibreOffice show the text, never run it), except a plain number such as a phone
``+79123456789``, which cannot carry a formula; in XLSX it is written as a string cell
(``t="inlineStr"``), which no spreadsheet evaluates, so it keeps its exact text. Numbers
stay numbers and dates stay dates in XLSX, so sums and sorting work in the sheet.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import IO, Any

from django.utils import timezone
from django.utils.translation import gettext as _

from crm.core.records import Card, ExportColumn
from crm.core.spreadsheets import FORMULA_STARTS

Chunks = Iterable[Sequence[Any]]
Progress = Callable[[int], None]
"""Called with the number of rows written after each chunk."""

_PLAIN_NUMBER = re.compile(r"\+?[\d ,()-]+")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "vcard": ("text/vcard; charset=utf-8", "vcf"),
}
"""Each format's content type and file name extension."""


def _no_progress(rows: int) -> None:
    return None


# --- CSV -------------------------------------------------------------------------------------


_FIRST = frozenset(FORMULA_STARTS)


def csv_text(value: object, zone: dt.tzinfo | None = None) -> str:
    """A value as a CSV cell: text neutralised, dates as ISO dates, moments in the local
    time (``zone``, the current one by default) to the minute, yes/no in words, nothing
    as empty. Called for every cell: the common cases come first."""
    if type(value) is str:
        if value and value[0] in _FIRST and not _PLAIN_NUMBER.fullmatch(value):
            return "'" + value
        return value
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(zone or timezone.get_current_timezone()).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, (int, Decimal, float, dt.date)):
        return str(value)
    return csv_text(str(value))


def csv_chunks(
    columns: Sequence[ExportColumn], chunks: Chunks, progress: Progress = _no_progress
) -> Iterator[bytes]:
    """The CSV file (UTF-8 with a byte-order mark, so Excel reads Cyrillic) in pieces of
    one chunk of rows each."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_text(str(column.label)) for column in columns])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    values = [column.value for column in columns]
    zone = timezone.get_current_timezone()
    done = 0
    for chunk in chunks:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([[csv_text(value(row), zone) for value in values] for row in chunk])
        done += len(chunk)
        progress(done)
        yield buffer.getvalue().encode("utf-8")


class _RecordEnds:
    """Turns the line ends of PostgreSQL's CSV rows (``\n``) into those of ``csv.writer``
    (``\r\n``), keeping the line breaks inside quoted cells as they are, and counts the rows.
    Outside a quoted cell a CSV file has no quote mark, and inside one each quote is doubled,
    so a line end is a row's end exactly when an even number of quotes came before it: the
    state carried from one block to the next is whether a quoted cell is open."""

    def __init__(self) -> None:
        self.quoted = False
        self.rows = 0

    def __call__(self, block: bytes) -> bytes:
        if b'"' not in block:
            if self.quoted:
                return block
            self.rows += block.count(b"\n")
            return block.replace(b"\n", b"\r\n")
        parts = block.split(b'"')
        outside = 1 if self.quoted else 0  # the parity of the parts outside quotes
        for index in range(outside, len(parts), 2):
            part = parts[index]
            if b"\n" in part:
                self.rows += part.count(b"\n")
                parts[index] = part.replace(b"\n", b"\r\n")
        self.quoted ^= len(parts) % 2 == 0
        return b'"'.join(parts)


def csv_copied_chunks(
    columns: Sequence[ExportColumn],
    blocks: Iterable[bytes],
    progress: Progress = _no_progress,
    size: int = 1 << 18,
) -> Iterator[bytes]:
    """The CSV file of ``csv_chunks`` from the rows PostgreSQL wrote (``COPY … TO STDOUT
    WITH (FORMAT csv)`` of an ``Exporter``'s ``copy_sql``): the same heading written here,
    then the rows in pieces of about ``size`` bytes with ``csv.writer``'s line ends."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([csv_text(str(column.label)) for column in columns])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    ends = _RecordEnds()
    pending: list[bytes] = []
    held = 0
    for block in blocks:
        pending.append(block)
        held += len(block)
        if held >= size:
            yield ends(b"".join(pending))
            pending, held = [], 0
            progress(ends.rows)
    if pending:
        yield ends(b"".join(pending))
    progress(ends.rows)


# --- XLSX ------------------------------------------------------------------------------------


def xlsx_write(
    target: IO[bytes],
    title: str,
    columns: Sequence[ExportColumn],
    chunks: Chunks,
    progress: Progress = _no_progress,
) -> None:
    """Write the rows as one XLSX sheet named ``title`` to ``target`` (openpyxl's
    write-only mode: rows go to a temporary file as they come, memory stays flat)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31] or "Sheet")

    def cell(value: object) -> object:
        if type(value) is str:
            if _ILLEGAL_XML.search(value):
                value = _ILLEGAL_XML.sub("", value)
            if value[:1] in FORMULA_STARTS:
                text = WriteOnlyCell(sheet, value)
                text.data_type = "s"  # a string cell, never a formula
                return text
            return value
        if isinstance(value, dt.datetime):
            return timezone.localtime(value).replace(tzinfo=None)  # Excel has no zones
        if value is None or isinstance(value, (int, float, Decimal, dt.date)):
            return value
        return cell(str(value))

    sheet.append([cell(str(column.label)) for column in columns])
    values = [column.value for column in columns]
    done = 0
    for chunk in chunks:
        for row in chunk:
            sheet.append([cell(value(row)) for value in values])
        done += len(chunk)
        progress(done)
    book.save(target)


# --- vCard -----------------------------------------------------------------------------------


def vcard_escape(text: str) -> str:
    """A text value escaped as vCard 3.0 wants (RFC 2426 §4): backslash, comma, semicolon
    and line breaks."""
    return (
        text.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def vcard_fold(line: str) -> str:
    """``line`` folded at 75 octets (RFC 2425 §5.8.1): each continuation starts with a
    space; a UTF-8 character is never split."""
    if len(line.encode("utf-8")) <= 75:
        return line + "\r\n"
    parts: list[str] = []
    current: list[str] = []
    size = 0
    limit = 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, 74  # the leading space takes one octet
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts) + "\r\n"


def _typed(name: str, kind: str, extra: str = "") -> str:
    types = ",".join(item for item in (extra, kind) if item)
    return f"{name};TYPE={types}" if types else name


def vcard(card: Card) -> str:
    """One person as a vCard 3.0 entry (CRLF line ends, folded)."""
    full = " ".join(part for part in (card.family, card.given, card.additional) if part)
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        "N:"
        + ";".join(vcard_escape(part) for part in (card.family, card.given, card.additional))
        + ";;",
        "FN:" + vcard_escape(full or card.organization or "—"),
    ]
    if card.organization:
        lines.append("ORG:" + vcard_escape(card.organization))
    if card.title:
        lines.append("TITLE:" + vcard_escape(card.title))
    lines += [
        f"{_typed('TEL', kind, 'VOICE')}:{vcard_escape(value)}" for kind, value in card.phones
    ]
    lines += [
        f"{_typed('EMAIL', kind, 'INTERNET')}:{vcard_escape(value)}" for kind, value in card.emails
    ]
    # The whole address is the street part: the CRM keeps an address as one line of text.
    lines += [f"{_typed('ADR', kind)}:;;{vcard_escape(text)};;;;" for kind, text in card.addresses]
    if card.birthday:
        lines.append(f"BDAY:{card.birthday.isoformat()}")
    if card.note:
        lines.append("NOTE:" + vcard_escape(card.note))
    lines.append("END:VCARD")
    return "".join(vcard_fold(line) for line in lines)


def vcard_chunks(
    card: Callable[[Any], Card], chunks: Chunks, progress: Progress = _no_progress
) -> Iterator[bytes]:
    """The vCard file, one chunk of entries at a time."""
    done = 0
    for chunk in chunks:
        done += len(chunk)
        text = "".join(vcard(card(row)) for row in chunk)
        progress(done)
        yield text.encode("utf-8")
