"""CSV and XLSX tables: formulas neutralised in both, numbers kept as numbers."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook

from crm.core.spreadsheets import csv_bytes, neutralised, xlsx_bytes

ROWS = [["=1+2", Decimal("1234.50"), 3], ["@SUM(A1)", None, -4], ["-x", "plain", 0.5]]


def test_text_that_starts_a_formula_gets_an_apostrophe():
    assert [neutralised(text) for text in ("=A1", "+7", "-1", "@x", "\tx", "ok")] == [
        "'=A1",
        "'+7",
        "'-1",
        "'@x",
        "'\tx",
        "ok",
    ]
    assert neutralised(-4) == -4


def test_csv_has_a_bom_and_neutral_text():
    text = csv_bytes(["name", "amount", "count"], ROWS).decode("utf-8")
    assert text.startswith("\ufeffname,amount,count\r\n")
    assert "'=1+2,1234.50,3\r\n'@SUM(A1),,-4\r\n'-x,plain,0.5" in text


def test_xlsx_holds_values_not_formulas():
    book = load_workbook(io.BytesIO(xlsx_bytes("Воронка", ["name", "amount", "count"], ROWS)))
    sheet = book["Воронка"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[1] == ["'=1+2", 1234.5, 3]
    assert values[2] == ["'@SUM(A1)", None, -4]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
