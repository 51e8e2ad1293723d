"""What the report pages carry for print and for browsers without a month picker: the print
header's line (the filters, who printed and when, in the viewer's zone), the chart's save
buttons with the file's name, and a month typed as text refused by name."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from conftest import client_for
from crm.accounts.models import Team
from crm.analytics.selectors import dashboard

pytestmark = pytest.mark.django_db

MONTH = {"period": "custom", "date_from": "2026-12-01", "date_to": "2026-12-31"}


@pytest.fixture(autouse=True)
def _december(monkeypatch):
    monkeypatch.setattr(dashboard, "clock", lambda: dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC))


def _print_line(html: str) -> str:
    found = re.search(r'<p class="print-meta[^"]*" id="print-meta">(.*?)</p>', html, re.S)
    assert found, "no print line"
    return " ".join(found.group(1).split())


def test_the_print_line_names_the_filters_the_options_and_who_printed(org):
    team = Team.objects.get(name="Москва")
    org.head.time_zone = "Asia/Vladivostok"
    org.head.save(update_fields=["time_zone"])
    query = {**MONTH, "team": team.pk, "source": "phone", "bucket": "week"}
    page = client_for(org.head).get("/reports/sales/", query)
    assert page.status_code == 200
    line = _print_line(page.content.decode())
    assert "Команда: <bdi>Москва</bdi>" in line
    assert "Источник: <bdi>Телефон</bdi>" in line
    assert "Группировка: <bdi>По неделям</bdi>" in line
    assert "Менеджер" not in line  # a filter left empty is not named
    assert f"Напечатано: {org.head}" in line
    # Printed in the viewer's zone: 12:00 UTC is 22:00 in Vladivostok.
    assert re.search(r"22:\d\d", line), line


def test_a_report_without_filters_says_so_and_the_dashboard_prints_too(org):
    line = _print_line(client_for(org.manager).get("/reports/leads/", MONTH).content.decode())
    assert line.startswith("Без фильтров.")
    home = client_for(org.manager).get("/").content.decode()
    assert "data-print" in home and f"Напечатано: {org.manager}" in _print_line(home)


def test_each_chart_has_png_and_svg_buttons_naming_the_file(org):
    html = client_for(org.head).get("/reports/forecast/", MONTH).content.decode()
    for chart, name in (("forecast-chart", "months"), ("forecast-past-chart", "past")):
        assert f'data-chart-save="png" data-chart-id="{chart}"' in html
        assert f'data-chart-save="svg" data-chart-id="{chart}"' in html
        assert f'data-file="forecast-{name}-2026-12-01-2026-12-31"' in html
    plans = client_for(org.head).get("/reports/plans/", {"month": "2026-12"}).content.decode()
    assert 'id="print-meta"' in plans


@pytest.mark.parametrize("typed", ["12.2026", "2026-13", "декабрь", "2026"])
def test_a_month_typed_as_text_is_refused_by_name(org, typed):
    page = client_for(org.head).get("/reports/plans/", {"month": typed})
    assert page.status_code == 400
    html = page.content.decode()
    assert "<code>month</code>: Введите месяц в виде ГГГГ-ММ." in html
    field = re.search(r'<input [^>]*id="f-month"[^>]*>', html, re.S)
    assert (
        field and "is-invalid" in field.group(0) and 'pattern="[0-9]{4}-[0-9]{2}"' in field.group(0)
    )
    # The filters stay open on a phone when they hold an error.
    assert re.search(r'<form class="[^"]*collapse[^"]* show"[^>]*id="report-filters"', html)


def test_the_plan_form_refuses_a_month_typed_as_text(org):
    form = {
        "plan-metric": "deals_won",
        "plan-manager": org.manager.pk,
        "plan-month": "12/2026",
        "plan-target": "3",
    }
    page = client_for(org.head).post("/reports/plans/plan/", form)
    assert page.status_code == 422
    html = page.content.decode()
    field = re.search(r'<input [^>]*name="plan-month"[^>]*>', html)
    assert field and "is-invalid" in field.group(0) and 'placeholder="ГГГГ-ММ"' in field.group(0)
