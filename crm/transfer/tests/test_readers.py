"""Reading CSV files: encodings, separators, row numbers, and files that must be refused."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation

from crm.transfer.readers import MAX_CELL_CHARS, FileRejected, SourceRow, Table, read_table
from crm.transfer.readers_text import detect_encoding

FILES = Path(__file__).parent / "files"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def read(data: bytes, name: str = "people.csv") -> tuple[Table, list[SourceRow]]:
    table = read_table(io.BytesIO(data), name)
    return table, list(table.rows)


def read_fixture(name: str) -> tuple[Table, list[SourceRow]]:
    with (FILES / name).open("rb") as file:
        table = read_table(file, name)
        return table, list(table.rows)


def rejected(data: bytes, name: str = "people.csv") -> str:
    with pytest.raises(FileRejected) as caught:
        read(data, name)
    return caught.value.message


# --- the fixtures shaped like real exports ---------------------------------------------------


def test_amocrm_contacts_export_is_utf8_with_bom_and_semicolons() -> None:
    table, rows = read_fixture("amocrm_contacts.csv")
    assert (table.format, table.encoding, table.delimiter) == ("csv", "utf-8", ";")
    assert table.columns[:4] == ["ID", "Полное имя контакта", "Имя", "Фамилия"]
    assert [row.number for row in rows] == [2, 3]
    assert rows[0].cells[1] == "Ёлкина Алёна"
    assert rows[0].cells[13] == "Звонить после 14:00; просила КП"
    assert rows[1].cells[10] == "89035550203"
    assert all(row.problem == "" for row in rows)


def test_amocrm_leads_export_keeps_a_multiline_note_in_one_row() -> None:
    table, rows = read_fixture("amocrm_leads.csv")
    assert (table.encoding, table.delimiter) == ("utf-8", ",")
    assert len(table.columns) == 16
    assert table.columns[12] == "Рабочий телефон (контакт)"
    assert rows[0].cells[7] == "Нужна доставка\nдо склада"
    assert rows[0].cells[2] == "150 000"
    assert [row.number for row in rows] == [2, 3]  # the line break does not shift numbers


def test_bitrix24_exports_are_read_as_cp1251() -> None:
    table, rows = read_fixture("bitrix24_contacts.csv")
    assert (table.encoding, table.delimiter) == ("cp1251", ";")
    assert rows[0].cells[2:5] == ["Сергей", "Викторович", "Морозов"]
    assert rows[0].cells[17] == "Санкт-Петербург, Невский пр., д. 1"
    assert rows[1].cells[4] == "Щукина"

    table, rows = read_fixture("bitrix24_companies.csv")
    assert table.encoding == "cp1251"
    assert rows[1].cells[1] == "ИП Щёголев Д. А."
    assert rows[1].cells[5] == "ИП; работает без НДС"
    assert rows[1].cells[10] == "500100732259"


def test_hubspot_and_salesforce_exports_are_utf8_with_commas() -> None:
    table, rows = read_fixture("hubspot_contacts.csv")
    assert (table.encoding, table.delimiter) == ("utf-8", ",")
    assert rows[0].cells[6] == "Acme, Inc."
    assert rows[1].cells[1:3] == ["Олег", "Петров"]

    table, rows = read_fixture("hubspot_deals.csv")
    assert rows[1].cells[1] == "Вектор — пилот"

    table, rows = read_fixture("salesforce_contacts.csv")
    assert table.encoding == "utf-8"
    assert rows[0].cells[5] == "313 Constitution Place\nAustin, TX 78767"
    assert rows[1].cells[4] == "ООО Альфа"
    assert [row.number for row in rows] == [2, 3]

    table, rows = read_fixture("salesforce_opportunities.csv")
    assert table.columns[-1] == "Probability (%)"
    assert rows[1].cells[1] == "Альфа: внедрение"


def test_excel_csv_in_cp1251_skips_blank_rows_but_counts_them() -> None:
    table, rows = read_fixture("excel_cp1251.csv")
    assert (table.encoding, table.delimiter) == ("cp1251", ";")
    assert [row.number for row in rows] == [2, 4]  # row 3 is ";;;;;;;;"
    assert rows[0].cells[:3] == ["Щербаков", "Фёдор", "Ильич"]
    assert rows[0].cells[8] == "Просил перезвонить;\nпосле праздников"
    assert rows[1].cells == ["Юдина", "Эльвира", "", "+79990000001", "", "", "", "", ""]


def test_excel_unicode_text_is_utf16_with_tabs() -> None:
    table, rows = read_fixture("excel_unicode.txt")
    assert (table.encoding, table.delimiter) == ("utf-16-le", "\t")
    assert table.columns == ["Имя", "Телефон", "Город"]
    assert rows[0].cells == ["Светлана Ёжикова", "+7 900 111-22-33", "Екатеринбург"]
    assert rows[1].cells[0] == "Zoë Müller"


# --- encodings and separators ---------------------------------------------------------------

RUSSIAN = "Фамилия;Имя;Город\nЁлкина;Алёна;Щёлково\nЖуков;Юрий;Москва\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (RUSSIAN.encode("utf-8"), "utf-8"),
        (RUSSIAN.encode("utf-8-sig"), "utf-8"),
        (RUSSIAN.encode("cp1251"), "cp1251"),
        (RUSSIAN.encode("koi8-r"), "koi8-r"),
        (RUSSIAN.encode("cp866"), "cp866"),
        (RUSSIAN.encode("utf-16-le").join([b"\xff\xfe", b""]), "utf-16-le"),
        (b"\xfe\xff" + RUSSIAN.encode("utf-16-be"), "utf-16-be"),
    ],
)
def test_russian_text_comes_out_right_in_every_encoding(data: bytes, encoding: str) -> None:
    table, rows = read(data)
    assert table.encoding == encoding
    assert table.columns == ["Фамилия", "Имя", "Город"]
    assert [row.cells for row in rows] == [
        ["Ёлкина", "Алёна", "Щёлково"],
        ["Жуков", "Юрий", "Москва"],
    ]


def test_western_single_byte_text_is_cp1252_not_cyrillic() -> None:
    table, rows = read("Name,City\nMüller,Köln\nJosé,Málaga\n".encode("cp1252"))
    assert table.encoding == "cp1252"
    assert rows[0].cells == ["Müller", "Köln"]


def test_utf8_is_recognised_when_the_sample_ends_inside_a_character() -> None:
    data = ("Имя\n" + "Ж" * 40_000 + "\n").encode()
    assert detect_encoding(data[:65_535]).name == "utf-8"


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n", ";"),
        ("a\tb\n1\t2\n", "\t"),
        ("a|b|c\n1|2|3\n", "|"),
        ('name;note\nИван;"один, два, три"\nПётр;"x, y"\n', ";"),
        ("single column\nvalue\n", ","),
    ],
)
def test_the_separator_is_detected(text: str, delimiter: str) -> None:
    table, _rows = read(text.encode())
    assert table.delimiter == delimiter


def test_quoted_cells_keep_separators_quotes_and_line_breaks() -> None:
    data = b'a,b\r\n"x, ""y""","line 1\r\nline 2"\r\nplain,last\r\n'
    _table, rows = read(data)
    assert rows[0].cells == ['x, "y"', "line 1\nline 2"]
    assert [row.number for row in rows] == [2, 3]


def test_short_rows_are_padded_and_blank_lines_above_the_header_are_skipped() -> None:
    table, rows = read(b"\n\nname,phone,email\nIvan\n\nPetr,1\n")
    assert table.columns == ["name", "phone", "email"]
    assert [(row.number, row.cells) for row in rows] == [
        (2, ["Ivan", "", ""]),
        (4, ["Petr", "1", ""]),
    ]


def test_reading_the_rows_again_gives_the_same_rows() -> None:
    file = io.BytesIO("Имя;Телефон\nИван;1\nПётр;2\n".encode("cp1251"))
    table = read_table(file, "a.csv")
    first = list(table.rows)
    again = list(read_table(file, "a.csv").rows)
    assert first == again
    assert [row.number for row in first] == [2, 3]


def test_header_only_gives_no_rows() -> None:
    table, rows = read(b"name,phone\r\n")
    assert table.columns == ["name", "phone"]
    assert rows == []


# --- problems of one row ----------------------------------------------------------------------


def test_a_line_in_another_encoding_marks_only_its_row() -> None:
    data = "Имя,Город\nИван,Москва\n".encode() + "Пётр,Тверь\n".encode("cp1251")
    data += "Анна,Сочи\n".encode()
    table, rows = read(data)
    assert table.encoding == "utf-8"
    assert rows[0] == SourceRow(2, ["Иван", "Москва"])
    assert rows[1].number == 3
    assert rows[1].problem == (
        "The row has characters that are not in the file's encoding (utf-8)."
    )
    assert rows[2] == SourceRow(4, ["Анна", "Сочи"])


def test_extra_cells_with_text_are_a_problem_empty_ones_are_not() -> None:
    _table, rows = read(b"a;b\n1;2;;\n1;2;3\n")
    assert rows[0].problem == ""
    assert rows[0].cells == ["1", "2"]
    assert rows[1].problem == "The row has 3 cells but the header has 2 columns."


def test_a_quote_never_closed_is_a_problem_of_its_row() -> None:
    _table, rows = read(b'a,b\n1,"open\n2,3\n')
    assert len(rows) == 1
    assert rows[0].problem == "A quoted cell is not closed: the rest of the file went into it."


def test_a_one_megabyte_cell_is_a_problem_of_its_row_in_bounded_memory() -> None:
    huge = "Я" * 1_000_000
    data = f'name,notes\nIvan,"{huge}"\nPetr,short\n'.encode()
    file = io.BytesIO(data)
    del huge
    tracemalloc.start()
    try:
        table = read_table(file, "a.csv")
        rows = list(table.rows)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows[0].problem == "The cell in column “notes” is longer than 32,767 characters."
    assert len(rows[0].cells[1]) == MAX_CELL_CHARS
    assert rows[1] == SourceRow(3, ["Petr", "short"])
    assert peak < 2_000_000  # the 2 MB cell is never held whole


# --- files refused as a whole -------------------------------------------------------------------


def test_an_empty_file_is_refused() -> None:
    assert rejected(b"") == "The file is empty."
    assert rejected(b"\r\n\r\n  \n") == "The file is empty."
    assert rejected(b",,,\n,,\n") == "The file is empty."
    assert rejected(b"\xef\xbb\xbf") == "The file is empty."


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(300), "exe"),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(300), "elf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(300), "png"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "pdf"),
        (b"{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}} Hello}", "rtf"),
    ],
)
def test_a_program_an_image_or_a_document_named_csv_is_refused(data: bytes, kind: str) -> None:
    assert rejected(data, "people.csv") == (
        f"The file is not a text table but a file of another kind ({kind}). Upload a CSV, "
        "XLSX or vCard file."
    )


def test_unknown_binary_content_is_not_a_text_table() -> None:
    data = b"name,phone\nIvan\x01\x02\x03\x04\x05\x06\x07\x08,1\n" * 3
    assert rejected(data) == (
        "The file is not a text table: it holds binary data. Upload a CSV, XLSX or vCard file."
    )


def test_text_starting_like_a_two_letter_signature_is_still_a_table() -> None:
    for header in ("BMW;Model", "MZ;Code", "ID3;Tag"):
        table, rows = read(f"{header}\nx;y\n".encode())
        assert table.columns == header.split(";")
        assert rows[0].cells == ["x", "y"]


def test_utf16_without_its_mark_is_recognised() -> None:
    for codec in ("utf-16-le", "utf-16-be"):
        table, rows = read("Имя\tCity\nЁжик\tMoscow\n".encode(codec))
        assert table.encoding == codec
        assert rows[0].cells == ["Ёжик", "Moscow"]


def test_old_excel_and_web_pages_named_xls_say_what_to_do() -> None:
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1000)
    assert rejected(ole2, "old.xls") == (
        "This is an old Excel workbook (.xls). Open it in Excel or LibreOffice and save it "
        "as XLSX or CSV."
    )
    encrypted = ole2 + "EncryptedPackage".encode("utf-16-le")
    assert rejected(encrypted, "secret.xlsx").startswith("The workbook is protected")
    html = "<html><body><table><tr><td>Имя</td></tr></table></body></html>".encode("cp1251")
    assert rejected(html, "bitrix.xls").startswith("This is a web page, not a table")
    xml = b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n<Workbook/>'
    assert rejected(xml, "book.xls").startswith("This is an XML file, not a table")
    assert rejected(b"name,phone\n", "contacts.vcf") == (
        "The file is named .vcf but holds no contact cards (vCard)."
    )


def test_a_text_file_named_xlsx_is_not_a_workbook() -> None:
    assert rejected(b"name,phone\nIvan,1\n", "people.xlsx") == (
        "The file is named .xlsx but is not an Excel workbook: it may be damaged."
    )


def test_a_header_over_the_column_limit_is_refused_naming_the_count() -> None:
    header = ",".join(f"c{index}" for index in range(10_000))
    assert rejected(f"{header}\n1,2\n".encode()) == (
        "The header has 10000 columns; a file can have at most 1000."
    )


def test_a_row_of_ten_thousand_cells_under_a_short_header_is_a_problem() -> None:
    row = ",".join(["x"] * 10_000)
    _table, rows = read(f"a,b\n{row}\n".encode())
    assert rows[0].cells == ["x", "x"]
    assert rows[0].problem == "The row has 10000 cells but the header has 2 columns."


def test_two_readings_of_one_file_may_be_interleaved() -> None:
    lines = "".join(f"Имя {index};{index}\n" for index in range(20_000))
    file = io.BytesIO(f"name;number\n{lines}".encode("cp1251"))
    first = read_table(file, "a.csv").rows
    second = read_table(file, "a.csv").rows
    pairs = list(zip(first, second, strict=True))
    assert len(pairs) == 20_000
    assert all(one == other for one, other in pairs)
    assert pairs[-1][0] == SourceRow(20_001, ["Имя 19999", "19999"])


def test_a_guessed_single_byte_encoding_is_told_to_the_user() -> None:
    table, _rows = read(RUSSIAN.encode("cp1251"))
    assert table.notes == [
        "The file does not say its encoding; it was read as cp1251. If the letters look "
        "wrong, save it as UTF-8 and upload it again."
    ]
    assert read(RUSSIAN.encode("utf-8"))[0].notes == []
    assert read(RUSSIAN.encode("utf-16"))[0].notes == []


def test_an_encrypted_workbook_is_found_past_the_first_sample() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200_000)
    data += "EncryptedPackage".encode("utf-16-le")
    assert rejected(data, "secret.xlsx") == (
        "The workbook is protected with a password. Open it in Excel, remove the password "
        "and save it again."
    )


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("ИВАНОВ;ПЕТРОВ\nООО РОМАШКА;МОСКВА\n", "koi8-r"),
        ("ИВАНОВ;ПЕТРОВ\nООО РОМАШКА;МОСКВА\n", "cp1251"),
        ("ИНН;КПП\n", "cp1251"),
        ("Дата;Сумма;Этап\n01.02.2024;100;Переговоры\n", "cp866"),
    ],
)
def test_capitals_and_short_samples_are_read_in_the_right_code_page(
    text: str, encoding: str
) -> None:
    assert detect_encoding(text.encode(encoding)).name == encoding


def test_a_one_column_file_with_commas_in_its_values_stays_one_column() -> None:
    table, rows = read("Комментарий\nПривет, мир\nЕщё; одно\n".encode())
    assert table.delimiter == "\t"
    assert [row.cells for row in rows] == [["Привет, мир"], ["Ещё; одно"]]
    assert all(row.problem == "" for row in rows)


def test_django_uploads_are_read_as_they_come() -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

    data = "Имя;Телефон\nИван;1\n".encode("cp1251")
    in_memory = SimpleUploadedFile("people.csv", data)
    assert list(read_table(in_memory, in_memory.name).rows) == [SourceRow(2, ["Иван", "1"])]
    on_disk = TemporaryUploadedFile("people.csv", "text/csv", len(data), None)
    with on_disk:
        on_disk.write(data)
        on_disk.seek(0)
        assert list(read_table(on_disk, on_disk.name).rows) == [SourceRow(2, ["Иван", "1"])]


def test_excels_separator_hint_line_names_the_separator_and_is_not_a_row() -> None:
    table, rows = read(b"sep=;\r\nname;note\r\nIvan;a,b,c\r\n")
    assert (table.delimiter, table.columns) == (";", ["name", "note"])
    assert rows == [SourceRow(2, ["Ivan", "a,b,c"])]
    table, rows = read("\ufeffSEP=,\nИмя,Город\nИван,Тверь\n".encode())
    assert (table.delimiter, table.columns) == (",", ["Имя", "Город"])
    assert rows == [SourceRow(2, ["Иван", "Тверь"])]
