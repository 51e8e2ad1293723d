"""The sales report against hand-computed figures: won deals by closing moment and payments
by day received, kept apart and per currency; the month's edge in Moscow; weeks; win rate,
average size and median cycle; the period before; what a manager and a head may count."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from conftest import client_for
from crm.analytics.filters import ReportFilters
from crm.analytics.periods import period_parse
from crm.analytics.selectors.sales import bucket_parse, sales_report
from crm.core.errors import ValidationFailed
from crm.customers.tests.factories import make_company
from crm.sales.models import Deal, Payment, Stage
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db

UTC = dt.UTC
DECEMBER = period_parse(
    {"period": "this_month"}, today=dt.date(2026, 12, 7), zone=ZoneInfo("Europe/Moscow")
)


def closed(owner, status, amount, at, currency="RUB", days=1, **fields) -> Deal:
    stage = Stage.objects.get(pipeline__name="Розница", kind=status)
    deal = make_deal(
        owner,
        stage=stage,
        status=status,
        amount=Decimal(amount),
        currency=currency,
        closed_at=at,
        **fields,
    )
    Deal.objects.filter(pk=deal.pk).update(created_at=at - dt.timedelta(days=days))
    return deal


def paid(deal, amount, on, status="received") -> None:
    Payment.objects.create(
        deal=deal, kind="partial", status=status, amount=Decimal(amount), paid_on=on
    )


@pytest.fixture
def sales(org):
    roubles = closed(
        org.manager, "won", "1000", dt.datetime(2026, 11, 30, 21, 30, tzinfo=UTC), days=10
    )
    dollars = closed(
        org.manager,
        "won",
        "200",
        dt.datetime(2026, 12, 8, 12, 0, tzinfo=UTC),
        "USD",
        days=2,
        source="web_form",
    )
    closed(org.manager, "won", "999", dt.datetime(2026, 11, 30, 20, 59, tzinfo=UTC))
    closed(org.manager, "lost", "700", dt.datetime(2026, 12, 5, 9, 0, tzinfo=UTC))
    firm = make_company(org.colleague, legal_name="Альфа", inn="")
    closed(org.colleague, "won", "300", dt.datetime(2026, 12, 9, 9, 0, tzinfo=UTC), company=firm)
    closed(org.outsider, "won", "5000", dt.datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    paid(roubles, "400", dt.date(2026, 12, 2))
    paid(roubles, "600", dt.date(2026, 12, 3), status="expected")
    paid(roubles, "100", dt.date(2026, 11, 30))
    paid(dollars, "50", dt.date(2026, 12, 8))
    return org


def report(viewer, bucket="week", filters=None):
    return sales_report(
        viewer=viewer, period=DECEMBER, filters=filters or ReportFilters(), bucket=bucket
    )


def test_a_managers_totals_keep_currencies_and_the_two_revenues_apart(sales):
    summary = report(sales.manager).summary
    assert summary.won_count == 2 and summary.lost_count == 1
    assert summary.won == {"RUB": Decimal("1000"), "USD": Decimal("200")}
    assert summary.received == {"RUB": Decimal("400"), "USD": Decimal("50")}
    assert summary.win_rate == pytest.approx(2 / 3)
    assert summary.average == {"RUB": Decimal("1000"), "USD": Decimal("200")}
    assert summary.median_cycle_days == pytest.approx(6)


def test_the_period_before_is_november(sales):
    before = report(sales.manager).before
    assert before.won == {"RUB": Decimal("999")} and before.received == {"RUB": Decimal("100")}


def test_weeks_start_on_monday_in_the_users_zone(sales):
    timeline = report(sales.manager).timeline
    assert [row.key for row in timeline] == [
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 7),
        dt.date(2026, 12, 14),
        dt.date(2026, 12, 21),
        dt.date(2026, 12, 28),
    ]
    first, second = timeline[0], timeline[1]
    assert (first.won, first.received) == ({"RUB": Decimal("1000")}, {"RUB": Decimal("400")})
    assert (second.won, second.received) == ({"USD": Decimal("200")}, {"USD": Decimal("50")})
    assert all(not row.won and not row.received for row in timeline[2:])


def test_days_put_the_first_deal_on_the_first_of_december(sales):
    timeline = report(sales.manager, bucket="day").timeline
    assert len(timeline) == 31
    assert timeline[0].won == {"RUB": Decimal("1000")}


def test_a_head_sees_rows_per_manager_source_and_client_type(sales):
    result = report(sales.head)
    managers = {row.label: row for row in result.by_manager}
    assert set(managers) == {str(sales.manager), str(sales.colleague)}
    assert managers[str(sales.colleague)].won == {"RUB": Decimal("300")}
    types = {row.key: row for row in result.by_client_type}
    assert types["business"].won == {"RUB": Decimal("300")}
    assert types[None].won == {"RUB": Decimal("1000"), "USD": Decimal("200")}
    sources = {row.key: row for row in result.by_source}
    assert sources["web_form"].received == {"USD": Decimal("50")}
    only = report(sales.head, filters=ReportFilters(client_type="business")).summary
    assert only.won == {"RUB": Decimal("300")}


def test_an_unknown_bucket_is_refused_and_the_default_follows_the_length():
    with pytest.raises(ValidationFailed) as refused:
        bucket_parse("hour", DECEMBER)
    assert "bucket" in refused.value.field_errors
    assert bucket_parse("", DECEMBER) == "day"
    year = period_parse({"period": "this_year"}, today=dt.date(2026, 12, 7), zone=DECEMBER.zone)
    assert bucket_parse(None, year) == "month"


def test_the_sales_page_formats_money_for_the_language(sales, monkeypatch):
    from crm.analytics.selectors import dashboard

    monkeypatch.setattr(dashboard, "clock", lambda: dt.datetime(2026, 12, 7, 9, tzinfo=UTC))
    client = client_for(sales.manager)
    page = client.get("/reports/sales/", {"bucket": "week"}).content.decode()
    assert "1\xa0000,00\xa0₽" in page and "200,00\xa0$" in page
    assert client.get("/reports/sales/", {"bucket": "hour"}).status_code == 400
