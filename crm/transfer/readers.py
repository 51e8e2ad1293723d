"""Reading an uploaded file as a table: a header and rows of text cells.

``read_table(file, filename)`` answers a ``Table`` whose ``rows`` are read lazily from
``file`` (a seekable binary file), so a large file is never held in memory, and reading it
again from the start gives the same rows with the same numbers (the import resumes after a
crash by skipping the rows it has done). A file that cannot be read at all raises
``FileRejected`` with a message for the user; a problem of one row (a cell too long, more
cells than the header, characters outside the file's encoding) is that row's ``problem``,
and the import fails only that row. An XLSX file found broken in the middle of its rows
raises ``FileRejected`` from the iteration.

The content decides the format, the file name only breaks a tie: a zip is an XLSX
workbook (``readers_xlsx``), text starting with ``BEGIN:VCARD`` is contact cards
(``vcard``), other text is CSV (``readers_text``: encoding and separator detected). Old
Excel (.xls), OpenDocument, web pages saved as ".xls" (as Bitrix24's "Excel" export is),
programs, images and PDF are refused with a message saying what to do. The limits are
module constants: ``MAX_COLUMNS``, ``MAX_CELL_CHARS`` (``readers_base``),
``MAX_UNPACKED_BYTES`` and ``MAX_PACKING_RATIO`` (``readers_xlsx``), ``MAX_VALUES``
(``vcard``); the file's size is limited where it is uploaded.
"""

from __future__ import annotations

import os
from typing import BinaryIO

import filetype
from django.utils.translation import gettext as _

from .readers_base import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    FileRejected,
    SourceRow,
    Table,
    file_is_empty,
)
from .readers_text import SAMPLE_BYTES, Encoding, bom_encoding, detect_encoding, read_csv
from .readers_xlsx import read_xlsx
from .vcard import looks_like_vcard, read_vcard

__all__ = ["MAX_CELL_CHARS", "MAX_COLUMNS", "FileRejected", "SourceRow", "Table", "read_table"]

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted XLSX is an OLE2 file with this stream; its directory is near the start.
_ENCRYPTED_OOXML = "EncryptedPackage".encode("utf-16-le")
_OLE2_DIRECTORY_SCAN = 1024 * 1024
_HTML_STARTS = ("<!doctype html", "<html", "<table", "<meta", "<head", "<body")
# Documents whose first bytes look like text.
_TEXT_LIKE_DOCUMENTS = {b"%PDF-": "pdf", b"{\\rtf": "rtf", b"%!PS": "ps"}
# Bytes a text table never has: controls other than tab, line feed, form feed, return, ^Z.
_CONTROL_BYTES = frozenset(range(32)) - {9, 10, 12, 13, 26}


def read_table(file: BinaryIO, filename: str) -> Table:
    """The table in ``file`` (named ``filename`` by the user)."""
    file.seek(0)
    head = file.read(SAMPLE_BYTES)
    if not head:
        raise file_is_empty()
    extension = os.path.splitext(filename)[1].lower()
    if head.startswith(_ZIP):
        return read_xlsx(file)
    if head.startswith(_OLE2):
        if _ENCRYPTED_OOXML in head + file.read(_OLE2_DIRECTORY_SCAN):
            raise FileRejected(
                _(
                    "The workbook is protected with a password. Open it in Excel, remove the "
                    "password and save it again."
                )
            )
        raise FileRejected(
            _(
                "This is an old Excel workbook (.xls). Open it in Excel or LibreOffice and "
                "save it as XLSX or CSV."
            )
        )
    if extension in (".xlsx", ".xlsm"):
        raise FileRejected(
            _("The file is named %(extension)s but is not an Excel workbook: it may be damaged.")
            % {"extension": extension}
        )
    encoding = bom_encoding(head) or utf16_without_bom(head)
    if encoding is None:
        _refuse_binary(head)
        encoding = detect_encoding(head)
    start = head[:4096].decode(encoding.codec, errors="replace").lstrip("\ufeff")
    if not start.strip():
        raise file_is_empty()
    markup = start.lstrip().casefold()
    if markup.startswith(_HTML_STARTS):
        raise FileRejected(
            _(
                "This is a web page, not a table (Bitrix24 saves its “Excel” export so). Open "
                "it in Excel or LibreOffice and save it as XLSX or CSV."
            )
        )
    if markup.startswith("<?xml"):
        raise FileRejected(
            _(
                "This is an XML file, not a table (an Excel 2003 XML workbook?). Open it in "
                "Excel or LibreOffice and save it as XLSX or CSV."
            )
        )
    if looks_like_vcard(start):
        return read_vcard(file, encoding)
    if extension == ".vcf":
        raise FileRejected(_("The file is named .vcf but holds no contact cards (vCard)."))
    return read_csv(file, head, encoding)


def _refuse_binary(head: bytes) -> None:
    """Refuses content that is no text: NUL or other control bytes (a program, an image, an
    archive: ``filetype`` names it) or a document format that starts like text (PDF, RTF).
    ``filetype`` is not asked about clean text, where its two-letter signatures ("BM" of a
    bitmap, "MZ" of a program) would refuse a CSV whose first word is "BMW"."""
    controls = sum(1 for byte in head if byte in _CONTROL_BYTES)
    if b"\x00" in head or controls > len(head) // 100:
        found = filetype.guess(head)
        kind = found.extension if found is not None else ""
    else:
        kind = next(
            (kind for magic, kind in _TEXT_LIKE_DOCUMENTS.items() if head.startswith(magic)), ""
        )
        if not kind:
            return
    if kind:
        raise FileRejected(
            _(
                "The file is not a text table but a file of another kind (%(kind)s). Upload a "
                "CSV, XLSX or vCard file."
            )
            % {"kind": kind}
        )
    raise FileRejected(
        _("The file is not a text table: it holds binary data. Upload a CSV, XLSX or vCard file.")
    )


def utf16_without_bom(head: bytes) -> Encoding | None:
    """UTF-16 written without its mark: every other byte is the high byte of Latin or
    Cyrillic letters (0 or 4), the others are not NUL."""
    if len(head) < 4 or b"\x00" not in head:
        return None
    even = head[: len(head) // 2 * 2]
    for high, low, name in (
        (even[1::2], even[0::2], "utf-16-le"),
        (even[0::2], even[1::2], "utf-16-be"),
    ):
        if (
            sum(byte in (0, 4) for byte in high) >= 0.95 * len(high)
            and low.count(0) <= len(low) // 100
        ):
            return Encoding(name, name)
    return None
