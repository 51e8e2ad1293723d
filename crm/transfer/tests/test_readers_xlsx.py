"""Reading XLSX workbooks, and the workbooks that must not be opened."""

from __future__ import annotations

import datetime
import io
import tracemalloc
import zipfile
from collections.abc import Iterator

import openpyxl
import pytest
from defusedxml import DefusedXmlException
from django.utils import translation

from crm.transfer.readers import FileRejected, SourceRow, read_table
from crm.transfer.readers_xlsx import cell_text


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def workbook_bytes(*sheets: tuple[str, list[list[object]]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rejected(data: bytes, name: str = "book.xlsx") -> str:
    with pytest.raises(FileRejected) as caught:
        list(read_table(io.BytesIO(data), name).rows)
    return caught.value.message


def test_the_first_sheet_with_data_is_read_with_its_own_row_numbers() -> None:
    data = workbook_bytes(
        ("Пусто", []),
        (
            "Контакты",
            [
                [None],
                ["Фамилия", "Имя", "Телефон", None],
                ["Ёлкина", "Алёна", 79161234567],
                [],
                ["Жуков", "Юрий", "+7 999 000-00-00"],
            ],
        ),
    )
    table = read_table(io.BytesIO(data), "contacts.xlsx")
    assert (table.format, table.sheet) == ("xlsx", "Контакты")
    assert table.columns == ["Фамилия", "Имя", "Телефон"]
    assert table.notes == ["Only the sheet “Контакты” is read; the workbook has 2 sheets."]
    assert list(table.rows) == [
        SourceRow(3, ["Ёлкина", "Алёна", "79161234567"]),
        SourceRow(5, ["Жуков", "Юрий", "+7 999 000-00-00"]),
    ]


def test_dates_and_numbers_come_out_as_a_person_would_type_them() -> None:
    data = workbook_bytes(
        (
            "Сделки",
            [
                ["Дата", "Когда", "Сумма", "Доля", "Оплачено", "Время"],
                [
                    datetime.datetime(2024, 12, 31),
                    datetime.datetime(2024, 1, 2, 9, 30),
                    1500,
                    1234.5,
                    True,
                    datetime.time(14, 5),
                ],
                [datetime.date(1980, 7, 5), None, 12500.0, 0.1, False, None],
            ],
        )
    )
    rows = list(read_table(io.BytesIO(data), "deals.xlsx").rows)
    assert rows[0].cells == ["2024-12-31", "2024-01-02 09:30", "1500", "1234.5", "TRUE", "14:05"]
    assert rows[1].cells == ["1980-07-05", "", "12500", "0.1", "FALSE", ""]


def test_cell_text_of_each_kind_of_value() -> None:
    assert cell_text(None) == ""
    assert cell_text(79991234567.0) == "79991234567"
    assert cell_text(datetime.datetime(2024, 5, 1, 10, 0, 15)) == "2024-05-01 10:00:15"
    assert cell_text("  as is ") == "  as is "


def test_a_row_wider_than_the_header_and_a_long_cell_are_problems() -> None:
    # openpyxl cuts what it writes at Excel's limit, so the long cell is written by hand.
    long_cell = "x" * 40_000
    data = with_sheet(
        SHEET.format(
            rows=f"""
<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c><c r="B1" t="inlineStr"><is><t>notes</t></is></c></row>
<row r="2"><c r="A2" t="inlineStr"><is><t>Ivan</t></is></c><c r="B2" t="inlineStr"><is><t>{long_cell}</t></is></c></row>
<row r="3"><c r="A3" t="inlineStr"><is><t>Petr</t></is></c><c r="D3" t="inlineStr"><is><t>extra</t></is></c></row>
"""
        ).encode()
    )
    rows = list(read_table(io.BytesIO(data), "book.xlsx").rows)
    assert rows[0].problem == "The cell in column “notes” is longer than 32,767 characters."
    assert len(rows[0].cells[1]) == 32_767
    assert rows[1].cells == ["Petr", ""]
    assert rows[1].problem == "The row has 4 cells but the header has 2 columns."


def test_the_content_decides_not_the_name() -> None:
    data = workbook_bytes(("Sheet", [["a"], ["1"]]))
    table = read_table(io.BytesIO(data), "export.csv")
    assert table.format == "xlsx"


def test_a_workbook_with_empty_sheets_only_is_refused() -> None:
    assert rejected(workbook_bytes(("A", []), ("B", [[None, ""]]))) == (
        "The workbook's sheets are empty."
    )


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert rejected(buffer.getvalue()) == "The archive is not an Excel workbook (XLSX)."

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<x/>")
    assert rejected(buffer.getvalue(), "book.ods").startswith("This is an OpenDocument")


def test_a_damaged_workbook_is_refused() -> None:
    data = workbook_bytes(("Sheet", [["a"], ["1"]]))
    assert rejected(data[:-200]) == "The workbook could not be read: it may be damaged."
    assert rejected(b"PK\x03\x04" + bytes(100)) == (
        "The workbook could not be read: it may be damaged."
    )


def test_a_zip_bomb_is_refused_before_anything_is_unpacked() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (60 * 1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < 200_000
    tracemalloc.start()
    try:
        message = rejected(data)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (
        message == "The workbook is packed suspiciously tightly (a zip bomb?); it was not opened."
    )
    assert peak < 5_000_000


def test_a_workbook_unpacking_past_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("crm.transfer.readers_xlsx.MAX_UNPACKED_BYTES", 10_000)
    data = workbook_bytes(("Sheet", [["name"], *[[f"row {i}"] for i in range(500)]]))
    assert rejected(data) == (
        "The workbook unpacks to more than 0 MB. Split it into smaller files or save it as CSV."
    )


BOMB_SHEET = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>
</sheetData></worksheet>"""


SHEET = (
    '<?xml version="1.0"?><worksheet '
    'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    "{rows}</sheetData></worksheet>"
)


def with_sheet(sheet_xml: bytes) -> bytes:
    """A real workbook whose first sheet's XML is replaced by ``sheet_xml``."""
    source = zipfile.ZipFile(io.BytesIO(workbook_bytes(("Sheet", [["a"]]))))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in source.infolist():
            content = source.read(entry)
            if entry.filename == "xl/worksheets/sheet1.xml":
                content = sheet_xml
            archive.writestr(entry, content)
    return buffer.getvalue()


def entity_bomb_workbook() -> bytes:
    """A real workbook whose sheet is the "billion laughs"."""
    return with_sheet(BOMB_SHEET)


def test_an_entity_expansion_bomb_is_refused() -> None:
    assert rejected(entity_bomb_workbook()) == (
        "The workbook contains XML declarations (DOCTYPE or ENTITY) that a spreadsheet never "
        "has; it was not opened."
    )


def test_openpyxl_itself_refuses_the_entity_bomb_through_defusedxml() -> None:
    """The second line of defence: openpyxl parses sheets with defusedxml when it is
    installed, so even without our check the entities are never expanded."""
    from openpyxl import DEFUSEDXML

    assert DEFUSEDXML is True
    with pytest.raises(ValueError) as caught:
        openpyxl.load_workbook(io.BytesIO(entity_bomb_workbook()), read_only=True)
    assert isinstance(caught.value.__cause__, DefusedXmlException)


def test_a_header_over_the_column_limit_is_refused() -> None:
    data = workbook_bytes(("Sheet", [[f"c{index}" for index in range(1001)], ["x"]]))
    assert rejected(data) == "The header has 1001 columns; a file can have at most 1000."


def test_a_binary_workbook_says_what_to_do() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.bin", b"\x83\x01\x00")
    assert rejected(buffer.getvalue(), "book.xlsb") == (
        "This is a binary Excel workbook (.xlsb). Open it in Excel and save it as XLSX or CSV."
    )
