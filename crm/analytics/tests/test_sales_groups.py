"""The sales report's grouped reads against hand-computed figures, on the edges the one
``GROUP BY`` per kind of figure could get wrong: a period's edges in a zone far from the
site's, a deal shared with the viewer, a deal handed to another manager, a reopened deal,
the client type from the company before the contact, payments of a deal won in another
period, and a fixed number of queries whatever the number of rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.analytics.filters import ReportFilters
from crm.analytics.periods import period_parse
from crm.analytics.selectors.sales import sales_report
from crm.analytics.tests.test_sales import paid
from crm.customers.tests.factories import make_company, make_contact
from crm.sales.models import Deal, Stage
from crm.sales.services.deals import deal_update
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db

UTC = dt.UTC
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")  # UTC+10, seven hours from the site's Moscow
DECEMBER = period_parse({"period": "this_month"}, today=dt.date(2026, 12, 7), zone=VLADIVOSTOK)


def closed(owner, status, amount, at, currency="RUB", days=1, **fields) -> Deal:
    stage = Stage.objects.get(pipeline__name="Розница", kind=status)
    deal = make_deal(
        owner, stage=stage, status=status, amount=Decimal(amount), currency=currency, **fields
    )
    Deal.objects.filter(pk=deal.pk).update(closed_at=at, created_at=at - dt.timedelta(days=days))
    return deal


@pytest.fixture
def sales(org):
    private = make_contact(org.manager, client_type="private")
    government = make_company(org.manager, legal_name="Мэрия", kind="government", inn="")
    firm = make_company(org.outsider, legal_name="Бета", inn="")
    firm_person = make_contact(org.outsider, first_name="Пётр", client_type="private")
    # Midnight of December 1st in Vladivostok, 23:59 on November 30th, 23:59 on December 31st.
    first = closed(
        org.manager, "won", "1000", dt.datetime(2026, 11, 30, 14, 0, tzinfo=UTC), days=4,
        contact=private,
    )  # fmt: skip
    november = closed(
        org.manager, "won", "500", dt.datetime(2026, 11, 30, 13, 59, tzinfo=UTC), days=3,
        company=government,
    )  # fmt: skip
    closed(org.manager, "won", "100", dt.datetime(2026, 12, 31, 13, 59, tzinfo=UTC), "USD", 2)
    closed(org.manager, "won", "7", dt.datetime(2026, 12, 31, 14, 0, tzinfo=UTC))
    reopened = closed(org.manager, "won", "9000", dt.datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    Deal.objects.filter(pk=reopened.pk).update(status="open")
    closed(org.manager, "lost", "800", dt.datetime(2026, 12, 10, 9, 0, tzinfo=UTC))
    shared = closed(
        org.outsider, "won", "300", dt.datetime(2026, 12, 15, 9, 0, tzinfo=UTC), days=6,
        company=firm, contact=firm_person,
    )  # fmt: skip
    shared.shared_with.add(org.manager)
    handed = closed(org.colleague, "won", "200", dt.datetime(2026, 12, 3, 9, 0, tzinfo=UTC), days=8)
    deal_update(actor=org.admin, pk=handed.pk, data={"owner_id": org.manager.pk})
    closed(org.outsider, "won", "5000", dt.datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    paid(first, "400", dt.date(2026, 12, 1))
    paid(first, "100", dt.date(2026, 11, 30))
    paid(first, "50", dt.date(2026, 12, 2), status="expected")
    paid(first, "25", dt.date(2027, 1, 1))
    paid(november, "10", dt.date(2026, 12, 31))
    paid(shared, "60", dt.date(2026, 12, 16))
    paid(handed, "70", dt.date(2026, 12, 4))
    paid(handed, "5", dt.date(2026, 12, 4))
    paid(reopened, "3", dt.date(2026, 12, 6))
    return org


def report(viewer, filters=None):
    return sales_report(
        viewer=viewer, period=DECEMBER, filters=filters or ReportFilters(), bucket="week"
    )


def test_the_totals_take_the_zones_days_shared_and_handed_deals_and_no_reopened_one(sales):
    result = report(sales.manager)
    summary, before = result.summary, result.before
    assert (summary.won_count, summary.lost_count) == (4, 1)
    assert summary.won == {"RUB": Decimal("1500"), "USD": Decimal("100")}
    assert summary.average == {"RUB": Decimal("500"), "USD": Decimal("100")}
    assert summary.received == {"RUB": Decimal("548")}
    assert summary.median_cycle_days == pytest.approx(5)
    assert (before.won_count, before.lost_count) == (1, 0)
    assert before.won == {"RUB": Decimal("500")} and before.received == {"RUB": Decimal("100")}
    assert before.median_cycle_days == pytest.approx(3)


def test_the_rows_count_each_deal_under_its_owner_now_and_its_clients_type(sales):
    result = report(sales.manager)
    managers = {row.key: row for row in result.by_manager}
    assert set(managers) == {sales.manager.pk, sales.outsider.pk}
    mine = managers[sales.manager.pk]
    assert mine.won_count == 3
    assert mine.won == {"RUB": Decimal("1200"), "USD": Decimal("100")}
    assert mine.received == {"RUB": Decimal("488")}
    assert managers[sales.outsider.pk].received == {"RUB": Decimal("60")}
    types = {row.key: row for row in result.by_client_type}
    assert set(types) == {"private", "business", "government", None}
    assert (types["private"].won, types["private"].received) == (
        {"RUB": Decimal("1000")},
        {"RUB": Decimal("400")},
    )
    assert (types["business"].won, types["business"].received) == (
        {"RUB": Decimal("300")},
        {"RUB": Decimal("60")},
    )
    assert types["government"].won_count == 0 and types["government"].won == {}
    assert types["government"].received == {"RUB": Decimal("10")}
    assert types[None].won == {"RUB": Decimal("200"), "USD": Decimal("100")}
    assert types[None].received == {"RUB": Decimal("78")}


def test_the_weeks_hold_the_first_and_last_minutes_of_the_month_in_the_zone(sales):
    timeline = {row.key: row for row in report(sales.manager).timeline}
    first = timeline[dt.date(2026, 11, 30)]
    assert (first.won_count, first.won) == (2, {"RUB": Decimal("1200")})
    assert first.received == {"RUB": Decimal("478")}
    last = timeline[dt.date(2026, 12, 28)]
    assert (last.won, last.received) == ({"USD": Decimal("100")}, {"RUB": Decimal("10")})
    assert (
        timeline[dt.date(2026, 12, 7)].won == {} and timeline[dt.date(2026, 12, 7)].received == {}
    )


def test_a_head_sees_the_teams_deals_and_not_one_shared_with_a_member(sales):
    result = report(sales.head)
    assert result.summary.won == {"RUB": Decimal("1200"), "USD": Decimal("100")}
    assert result.summary.received == {"RUB": Decimal("488")}
    assert {row.key for row in result.by_manager} == {sales.manager.pk}
    colleague = report(sales.head, ReportFilters(manager=sales.colleague)).summary
    assert colleague.won_count == 0 and colleague.received == {}


def test_the_client_type_and_source_filters_limit_the_payments_too(sales):
    business = report(sales.manager, ReportFilters(client_type="business")).summary
    assert business.won == {"RUB": Decimal("300")} and business.received == {"RUB": Decimal("60")}
    government = report(sales.manager, ReportFilters(client_type="government"))
    assert government.summary.won == {} and government.summary.received == {"RUB": Decimal("10")}
    assert government.before.won == {"RUB": Decimal("500")}
    Deal.objects.filter(owner=sales.manager, amount=Decimal("200")).update(source="web_form")
    web = report(sales.manager, ReportFilters(source="web_form")).summary
    assert web.won == {"RUB": Decimal("200")} and web.received == {"RUB": Decimal("75")}


def test_the_number_of_queries_does_not_grow_with_deals_managers_or_buckets(sales):
    with CaptureQueriesContext(connection) as few:
        report(sales.admin)
    for day in range(1, 29, 3):
        for owner in (sales.manager, sales.colleague, sales.outsider):
            deal = closed(owner, "won", "10", dt.datetime(2026, 12, day, 5, tzinfo=UTC))
            paid(deal, "1", dt.date(2026, 12, day))
    with CaptureQueriesContext(connection) as many:
        result = report(sales.admin)
    assert result.summary.won_count == 5 + 30
    assert len(many.captured_queries) == len(few.captured_queries)
