"""``/api/v1/reports/funnel`` and ``/sales``: the same figures as the pages, in the OpenAPI
schema, the viewer's scope, strict parameters refused with 422 naming them."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import client_for
from crm.analytics.selectors import dashboard
from crm.analytics.tests.test_funnel import pipeline_history  # noqa: F401 (fixture)
from crm.analytics.tests.test_sales import sales  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

MONTH = {"period": "custom", "date_from": "2026-12-01", "date_to": "2026-12-31"}


@pytest.fixture(autouse=True)
def _december(monkeypatch):
    monkeypatch.setattr(dashboard, "clock", lambda: dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC))


def test_the_funnel_as_json(pipeline_history):  # noqa: F811
    answer = client_for(pipeline_history.manager).get("/api/v1/reports/funnel", MONTH)
    assert answer.status_code == 200
    body = answer.json()
    assert body["period"] == {
        "date_from": "2026-12-01",
        "date_to": "2026-12-31",
        "time_zone": "Europe/Moscow",
    }
    assert (body["deals"], body["won"], body["lost"], body["first_to_won"]) == (5, 1, 2, 0.2)
    assert [stage["reached"] for stage in body["stages"]] == [5, 4, 2]
    assert [stage["skipped"] for stage in body["stages"]] == [0, 1, 0]
    assert body["stages"][0]["amount"] == [
        {"currency": "RUB", "amount": "2000.00"},
        {"currency": "USD", "amount": "100.00"},
    ]
    assert body["stages"][2]["lost_reasons"] == [{"reason": "Дорого", "deals": 1}]


def test_the_sales_report_as_json_this_month(sales):  # noqa: F811
    answer = client_for(sales.manager).get("/api/v1/reports/sales", {"bucket": "week"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["bucket"] == "week" and body["previous_period"]["date_from"] == "2026-11-01"
    assert body["summary"]["won"] == [
        {"currency": "RUB", "amount": "1000.00"},
        {"currency": "USD", "amount": "200.00"},
    ]
    assert body["summary"]["received"][0] == {"currency": "RUB", "amount": "400.00"}
    assert body["previous"]["won"] == [{"currency": "RUB", "amount": "999.00"}]
    assert [row["key"] for row in body["timeline"]][:2] == ["2026-11-30", "2026-12-07"]


def test_a_manager_cannot_ask_for_a_colleague_and_a_head_can(sales):  # noqa: F811
    asked = {"manager": sales.colleague.pk}
    refused = client_for(sales.manager).get("/api/v1/reports/sales", asked)
    assert refused.status_code == 422 and "manager" in refused.json()["errors"]
    allowed = client_for(sales.head).get("/api/v1/reports/sales", asked)
    assert allowed.json()["summary"]["won"] == [{"currency": "RUB", "amount": "300.00"}]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"period": "custom", "date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_to"),
        ({"period": "custom", "date_from": "2019-01-01", "date_to": "2026-01-01"}, "date_to"),
        ({"period": "decade"}, "period"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"pipeline": "0"}, "pipeline"),
        ({"pipeline": "999999"}, "pipeline"),
        ({"source": "pigeon"}, "source"),
        ({"client_type": "alien"}, "client_type"),
        ({"bucket": "hour"}, "bucket"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_parameters_answer_422_naming_them(org, params, parameter):
    answer = client_for(org.manager).get("/api/v1/reports/sales", params)
    assert answer.status_code == 422, answer.content
    body = answer.json()
    assert parameter in str(body["errors"]) or parameter in body["detail"]


def test_anonymous_callers_are_refused():
    assert client_for(None).get("/api/v1/reports/funnel").status_code == 401


def test_the_reports_are_in_the_openapi_schema(org):
    schema = client_for(org.admin).get("/api/v1/openapi.json").json()
    assert "/api/v1/reports/funnel" in schema["paths"]
    assert "/api/v1/reports/sales" in schema["paths"]
    names = {
        parameter["name"]
        for parameter in schema["paths"]["/api/v1/reports/sales"]["get"]["parameters"]
    }
    assert {"period", "date_from", "date_to", "manager", "bucket"} <= names
