"""The clients report against hand-computed figures: new clients by kind and type in
December (Moscow) and November, clients untouched for 30 days (a timeline entry, a deal's
activity, the creation), the ABC classes per currency (RUB 2070: 1500 A, 300 A, 150 B,
70 B, 50 C; USD 100: A), and a manager who never sees a colleague's clients nor their revenue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import client_for
from crm.activities.models import TimelineEntry
from crm.analytics.filters import ReportFilters
from crm.analytics.periods import period_parse
from crm.analytics.selectors import dashboard as dashboard_selectors
from crm.analytics.selectors.clients import TOP, clients_report, days_parse
from crm.core.errors import ValidationFailed
from crm.customers.models import Company, Contact
from crm.customers.services.touch import clients_touch_recompute
from crm.customers.tests.factories import make_company, make_contact
from crm.sales.models import Stage
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
DECEMBER = period_parse({"period": "this_month"}, today=NOW.date(), zone=ZoneInfo("Europe/Moscow"))


def at(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 9, 0, tzinfo=dt.UTC)


def born(record, moment):
    type(record).objects.filter(pk=record.pk).update(created_at=moment)
    return record


def touched(record, moment):
    TimelineEntry.objects.create(
        subject_type=ContentType.objects.get_for_model(record),
        subject_id=record.pk,
        kind="note",
        body="…",
        occurred_at=moment,
    )


def won(owner, amount, currency="RUB", activity=None, **clients):
    make_deal(
        owner,
        stage=Stage.objects.get(pipeline__name="Розница", kind="won"),
        status="won",
        amount=Decimal(amount),
        currency=currency,
        closed_at=at(12, 5),
        last_activity_at=activity or at(12, 5),
        **clients,
    )


@pytest.fixture
def clients(org):
    m = org.manager
    p1 = born(make_contact(m, first_name="Пётр", last_name="Первый"), at(12, 2))
    p2 = born(make_contact(m, first_name="Павел", last_name="Второй"), at(11, 10))
    p3 = born(make_contact(m, first_name="Прохор", last_name="Третий"), at(6, 1))
    p4 = born(make_contact(m, first_name="Пимен", last_name="Четвёртый"), at(5, 1))
    p5 = born(make_contact(m, first_name="Панкрат", last_name="Пятый"), at(5, 1))
    c1 = born(make_company(m, legal_name="Альфа"), at(12, 3))
    c3 = born(make_company(m, legal_name="Гамма", kind="government"), at(4, 1))
    c2 = born(make_company(org.colleague, legal_name="Бета", kind="government"), at(12, 4))
    born(make_contact(org.colleague, first_name="Чужой", last_name="Старый"), at(3, 1))
    TimelineEntry.objects.all().delete()  # the factories' "created" entries are of today
    touched(p4, at(10, 1))
    touched(p5, at(12, 1))
    won(m, "1000", company=c1)
    won(m, "500", company=c1, contact=p1)
    won(m, "100", "USD", company=c1)
    won(m, "300", contact=p1)
    won(m, "150", contact=p2)
    won(m, "50", contact=p3)
    won(m, "70", activity=at(10, 20), company=c3)
    won(org.colleague, "5000", company=c2)
    # Built past the services: the stored last touch filled as the migration does.
    clients_touch_recompute(Contact, Contact.objects.values_list("pk", flat=True))
    clients_touch_recompute(Company, Company.objects.values_list("pk", flat=True))
    org.records = {"p4": p4, "c3": c3, "c1": c1}
    return org


def report(viewer, days=30, filters=None):
    return clients_report(
        viewer=viewer, period=DECEMBER, filters=filters or ReportFilters(), days=days, now=NOW
    )


def test_new_clients_by_kind_and_type_against_the_month_before(clients):
    rows = {
        (row.entity, row.client_type): (row.count, row.before)
        for row in report(clients.manager).new
    }
    assert rows == {
        ("company", "business"): (1, 0),
        ("contact", "private"): (1, 1),
    }


def test_untouched_clients_oldest_first_and_only_the_viewers(clients):
    page = report(clients.manager).untouched
    rows = [(row["entity"], row["pk"], row["last_touch"]) for row in page.object_list]
    assert rows == [
        ("contact", clients.records["p4"].pk, at(10, 1)),
        ("company", clients.records["c3"].pk, at(10, 20)),
    ]
    assert page.paginator.count == 2
    fewer = report(clients.manager, days=60).untouched
    assert [row["pk"] for row in fewer.object_list] == [clients.records["p4"].pk]


def test_the_untouched_page_names_each_client_as_its_kind_is_named(clients):
    Company.objects.filter(pk=clients.records["c3"].pk).update(short_name="Гм")
    page = report(clients.manager).untouched
    assert [(row["name"], row["owner_id"]) for row in page.object_list] == [
        ("Четвёртый Пимен", clients.manager.pk),
        ("Гм", clients.manager.pk),
    ]
    Company.objects.filter(pk=clients.records["c3"].pk).update(short_name="")
    assert report(clients.manager).untouched.object_list[1]["name"] == "Гамма"


def test_abc_and_top_per_currency(clients):
    result = report(clients.manager)
    classes = {(row.currency, row.abc): (row.clients, row.revenue) for row in result.abc}
    assert classes == {
        ("RUB", "A"): (2, Decimal("1800")),
        ("RUB", "B"): (2, Decimal("220")),
        ("RUB", "C"): (1, Decimal("50")),
        ("USD", "A"): (1, Decimal("100")),
    }
    roubles = [row for row in result.top if row.currency == "RUB"]
    assert [(row.name, row.revenue, row.abc) for row in roubles][:2] == [
        (str(clients.records["c1"]), Decimal("1500"), "A"),
        ("Первый Пётр", Decimal("300"), "A"),
    ]


def test_a_head_counts_the_colleagues_clients_too(clients):
    result = report(clients.head)
    rows = {(row.entity, row.client_type): row.count for row in result.new}
    assert rows[("company", "government")] == 1
    assert result.untouched.paginator.count == 3  # and the colleague's old contact
    # RUB 7070: the colleague's 5000 and 1500 are A (5000 before it is 71 %)
    assert {(row.currency, row.abc): row.clients for row in result.abc}[("RUB", "A")] == 2


@pytest.mark.parametrize("value", ["0", "3651", "x"])
def test_a_bad_number_of_days_is_refused_naming_it(value):
    with pytest.raises(ValidationFailed) as refused:
        days_parse(value)
    assert list(refused.value.field_errors) == ["days"]


def test_the_page_export_and_api(clients, monkeypatch):
    monkeypatch.setattr(dashboard_selectors, "clock", lambda: NOW)
    client = client_for(clients.manager)
    page = client.get("/reports/clients/?days=30")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Четвёртый Пимен" in text and "Бета" not in text
    assert client.get("/reports/clients/?days=0").status_code == 400
    assert client.get("/reports/clients/?page=x").status_code == 400
    xlsx = client.get("/reports/clients/export/?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    answer = client.get("/api/v1/reports/clients?days=30")
    assert answer.status_code == 200
    body = answer.json()
    assert body["untouched_count"] == 2 and body["pages"] == 1
    assert [row["abc"] for row in body["top"] if row["currency"] == "RUB"] == [
        "A",
        "A",
        "B",
        "B",
        "C",
    ]
    assert client.get("/api/v1/reports/clients?days=0").status_code == 422
    assert client.get("/api/v1/reports/clients?dayz=3").status_code == 422


def test_the_page_names_every_refused_parameter_at_once(clients):
    page = client_for(clients.manager).get("/reports/clients/?days=0&period=someday&page=x")
    assert page.status_code == 400
    text = page.content.decode()
    assert all(f"<code>{name}</code>" in text for name in ("days", "period", "page"))


def test_only_the_shown_clients_are_named_in_a_fixed_number_of_queries(clients):
    with CaptureQueriesContext(connection) as few:
        report(clients.manager)
    for number in range(TOP + 2):
        buyer = make_contact(clients.manager, first_name="Покупатель", last_name=f"№{number}")
        won(clients.manager, str(10 + number), contact=buyer)
    with CaptureQueriesContext(connection) as many:
        result = report(clients.manager)
    roubles = [row for row in result.top if row.currency == "RUB"]
    assert len(roubles) == TOP
    assert all(row.name for row in result.top)
    assert roubles[-1].name == "№7 Покупатель"  # five clients above 21 ₽, then 21 ₽ to 17 ₽
    assert len(many) == len(few)
