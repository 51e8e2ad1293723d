"""The leads and activity reports as pages, exports and JSON: the figures of the selectors,
click-through links to the lists behind them, the viewer's scope, bad input refused naming
the parameter, and a fixed number of queries whatever the number of rows."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from conftest import client_for
from crm.analytics.selectors import dashboard
from crm.analytics.tests.test_activity_report import FIRST, call, work  # noqa: F401
from crm.analytics.tests.test_leads_report import lead, leads  # noqa: F401 (fixture)
from crm.customers.tests.factories import make_contact

pytestmark = pytest.mark.django_db

MONTH = {"period": "custom", "date_from": "2026-12-01", "date_to": "2026-12-31"}


@pytest.fixture(autouse=True)
def _december(monkeypatch):
    monkeypatch.setattr(dashboard, "clock", lambda: dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC))


def test_the_leads_page_shows_the_figures_and_links_to_the_leads(leads):  # noqa: F811
    page = client_for(leads.manager).get("/reports/leads/", MONTH)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="leads-total">4<' in html
    assert 'href="/leads/?channel=web_form"' in html
    assert 'href="/leads/?channel=phone&amp;kind=spam"' in html
    assert 'href="/leads/?kind=spam"' in html and "kind=spam&amp;kind=" not in html
    assert 'id="leads-data"' in html and "Прайс" in html


def test_the_leads_page_refuses_a_bad_period_naming_it(org):
    page = client_for(org.manager).get(
        "/reports/leads/", {"period": "custom", "date_from": "2026-12-31", "date_to": "2026-12-01"}
    )
    assert page.status_code == 400
    assert 'is-invalid" type="date" name="date_to"' in page.content.decode()


def test_the_leads_export_in_xlsx(leads):  # noqa: F811
    answer = client_for(leads.manager).get("/reports/leads/export/", {**MONTH, "format": "xlsx"})
    assert answer.status_code == 200
    rows = [
        [cell.value for cell in row]
        for row in load_workbook(io.BytesIO(answer.content)).active.iter_rows()
    ]
    assert len(rows[0]) == 16  # group, 4 kinds, conversion, 2 currencies, response
    total = rows[1]
    assert total[2:9] == [4, 2, 1, 0, 1, 3, 2]
    assert total[10:12] == [1000, 50]
    web = rows[2]  # the busiest channel first
    assert web[2] == 3 and web[-1] == pytest.approx(66.7)


def test_the_leads_report_as_json(leads):  # noqa: F811
    answer = client_for(leads.head).get("/api/v1/reports/leads", MONTH)
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"]["leads"] == 5 and body["previous"]["leads"] == 1
    assert body["total"]["revenue"] == [
        {"currency": "RUB", "amount": "1000.00"},
        {"currency": "USD", "amount": "50.00"},
    ]
    web = next(row for row in body["by_channel"] if row["key"] == "web_form")
    assert (web["with_deadline"], web["answered_in_time"]) == (3, 2)
    assert web["kinds"] == {"new": 2, "repeat": 1, "partner": 0, "spam": 0}


def test_the_api_refuses_a_manager_out_of_sight_and_an_unknown_parameter(leads):  # noqa: F811
    manager = client_for(leads.manager)
    refused = manager.get("/api/v1/reports/leads", {"manager": leads.colleague.pk})
    assert refused.status_code == 422 and "manager" in refused.content.decode()
    unknown = manager.get("/api/v1/reports/activity", {"managers": leads.manager.pk})
    assert unknown.status_code == 422 and "managers" in unknown.content.decode()


def test_the_activity_page_shows_each_manager_with_links(work):  # noqa: F811
    page = client_for(work.head).get("/reports/activity/", MONTH)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<tr data-key="{work.manager.pk}">' in html
    assert f'href="{reverse("sales:deal_list")}?status=won&amp;owner={work.manager.pk}"' in html
    assert f"view=overdue&amp;owner={work.manager.pk}" in html
    assert 'id="activity-total"' in html and 'id="activity-data"' in html


def test_the_activity_export_in_csv(work):  # noqa: F811
    answer = client_for(work.manager).get("/reports/activity/export/", {**MONTH, "format": "csv"})
    assert answer.status_code == 200
    text = answer.content.decode("utf-8-sig")
    lines = text.splitlines()
    assert len(lines[0].split(",")) >= 18
    mine = lines[1].split(",")
    assert mine[1:5] == ["4", "2", "1", "1"]


def test_the_activity_report_as_json(work):  # noqa: F811
    answer = client_for(work.manager).get("/api/v1/reports/activity", MONTH)
    assert answer.status_code == 200
    body = answer.json()
    assert [row["user_id"] for row in body["rows"]] == [work.manager.pk]
    row = body["rows"][0]
    assert (row["calls_outgoing"], row["talk_seconds"], row["tasks_overdue_now"]) == (2, 210, 1)
    assert row["revenue"] == [
        {"currency": "RUB", "amount": "1000.00"},
        {"currency": "USD", "amount": "20.00"},
    ]


def test_the_reports_take_the_same_number_of_queries_for_more_rows(org):
    client = client_for(org.head)
    contact = make_contact(org.manager, first_name="Анна", last_name="Смирнова")
    call(contact, org.manager, FIRST, "outgoing", 10)
    lead(org.manager, FIRST)
    counts = []
    for _round in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/reports/activity/", MONTH).status_code == 200
            assert client.get("/reports/leads/", MONTH).status_code == 200
        counts.append(len(queries))
        other = make_contact(org.colleague, first_name="Олег", last_name="Кузнецов")
        for minutes in range(3):
            call(other, org.colleague, FIRST + dt.timedelta(minutes=minutes), "incoming", 5)
            lead(org.colleague, FIRST + dt.timedelta(minutes=minutes), "phone")
    assert counts[0] == counts[1]
