"""Exports of the reports: the page's figures as values in XLSX and CSV, formulas
neutralised, money per currency in columns of its own, bad input refused naming it."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from conftest import client_for
from crm.analytics.selectors import dashboard
from crm.analytics.tests.test_funnel import day, pipeline_history  # noqa: F401 (fixture)
from crm.analytics.tests.test_sales import sales  # noqa: F401 (fixture)
from crm.sales.models import Stage

pytestmark = pytest.mark.django_db

MONTH = {"period": "custom", "date_from": "2026-12-01", "date_to": "2026-12-31"}


@pytest.fixture(autouse=True)
def _december(monkeypatch):
    monkeypatch.setattr(dashboard, "clock", lambda: dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC))


def sheet_of(response):
    book = load_workbook(io.BytesIO(response.content))
    return [[cell.value for cell in row] for row in book.active.iter_rows()]


def test_the_funnel_in_xlsx_holds_the_figures(pipeline_history):  # noqa: F811
    Stage.objects.filter(pipeline__name="Розница", name="Новая").update(name="=HYPERLINK(1)")
    client = client_for(pipeline_history.manager)
    response = client.get("/reports/funnel/export/", {**MONTH, "format": "xlsx"})
    assert response.status_code == 200
    assert 'filename="funnel-2026-12-01-2026-12-31.xlsx"' in response["Content-Disposition"]
    rows = sheet_of(response)
    assert rows[0][:3] == ["Этап", "Дошли", "Прошлый период"]
    assert "Сумма, RUB" in rows[0] and "Сумма, USD" in rows[0]
    assert [row[1] for row in rows[1:]] == [5, 4, 2, 1]  # three stages, then won
    assert rows[1][0] == "'=HYPERLINK(1)"
    assert rows[1][6] == 80.0  # to the next stage, %
    rub = rows[0].index("Сумма, RUB")
    assert rows[1][rub] == 2000


def test_the_funnel_in_csv(pipeline_history):  # noqa: F811
    client = client_for(pipeline_history.manager)
    response = client.get("/reports/funnel/export/", {**MONTH, "format": "csv"})
    text = response.content.decode("utf-8-sig")
    assert response["Content-Type"].startswith("text/csv")
    assert text.splitlines()[2].startswith("Счёт выставлен,4,")


def test_the_sales_export_keeps_both_revenues_and_currencies_apart(sales):  # noqa: F811
    response = client_for(sales.manager).get(
        "/reports/sales/export/", {**MONTH, "bucket": "week", "format": "xlsx"}
    )
    rows = sheet_of(response)
    header = rows[0]
    assert header[:3] == ["Раздел", "Группа", "Выиграно"]
    for name in ("Выигранные сделки, RUB", "Выигранные сделки, USD", "Полученные платежи, RUB"):
        assert name in header
    first_week = rows[1]
    assert first_week[:3] == ["По времени", "2026-11-30", 1]
    assert first_week[header.index("Выигранные сделки, RUB")] == 1000
    assert first_week[header.index("Полученные платежи, RUB")] == 400
    assert first_week[header.index("Выигранные сделки, USD")] is None


@pytest.mark.parametrize(
    ("url", "params", "parameter"),
    [
        ("/reports/funnel/export/", {"format": "pdf"}, "format"),
        ("/reports/sales/export/", {"bucket": "year"}, "bucket"),
        ("/reports/sales/export/", {"period": "custom", "date_from": "2026-01-02"}, "date_to"),
    ],
)
def test_a_bad_export_answers_400_naming_the_parameter(org, url, params, parameter):
    response = client_for(org.manager).get(url, params)
    assert response.status_code == 400
    assert response.content.decode().startswith(f"{parameter}: ")
