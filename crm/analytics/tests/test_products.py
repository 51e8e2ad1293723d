"""The product filter and sales by product against hand-computed figures: the line totals of
the deals won per product in each deal's currency, lines without a product and deals without
lines as "no product", the filter on the reports of deals (page, export, API, the deal list
behind each row) and its refusal where it does not apply."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import translation

from conftest import client_for
from crm.analytics.filters import ReportFilters
from crm.analytics.selectors.forecast import forecast_report
from crm.analytics.tests.test_sales import DECEMBER, closed, report
from crm.sales.models import Deal, DealLine, Product
from crm.sales.tests.factories import make_deal, make_product

pytestmark = pytest.mark.django_db

UTC = dt.UTC
QUERY = {"period": "custom", "date_from": "2026-12-01", "date_to": "2026-12-31"}


def line(deal: Deal, product: Product | None, total: str, name: str = "") -> None:
    DealLine.objects.create(
        deal=deal,
        product=product,
        name=name or (product.name if product else "Доставка"),
        price=Decimal(total),
        total=Decimal(total),
        vat_amount=Decimal(0),
    )


@pytest.fixture
def catalogue(org, settings):
    """December in Moscow, the manager's deals won:
    A (RUB, 1500): table 1000 + chair 300 + delivery (no product) 200;
    B (USD, 80): chair 80;  C (RUB, 700): no lines;  D (RUB, 400): table 400;
    lost E (RUB): table 999 (not won); F won on 30 November (out): table 5000;
    the outsider's G (RUB): chair 7000 (the manager may not see it)."""
    settings.TIME_ZONE = "Europe/Moscow"
    table, chair = make_product(name="Стол"), make_product(name="Стул", price=Decimal("300"))
    december = dt.datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    a = closed(org.manager, "won", "1500", december)
    line(a, table, "1000")
    line(a, chair, "300")
    line(a, None, "200")
    b = closed(org.manager, "won", "80", december, "USD")
    line(b, chair, "80")
    closed(org.manager, "won", "700", december)
    d = closed(org.manager, "won", "400", december)
    line(d, table, "400")
    e = closed(org.manager, "lost", "999", december)
    line(e, table, "999")
    f = closed(org.manager, "won", "5000", dt.datetime(2026, 11, 30, 20, 0, tzinfo=UTC))
    line(f, table, "5000")
    g = closed(org.outsider, "won", "7000", december)
    line(g, chair, "7000")
    org.table, org.chair = table, chair
    return org


def test_sales_by_product_by_hand(catalogue):
    with translation.override("en"):
        rows = {row.label: row for row in report(catalogue.manager, "month").by_product}
    assert list(rows) == ["Стол", "Стул", "No product"]
    table, chair, bare = rows["Стол"], rows["Стул"], rows["No product"]
    assert (table.product_id, table.deals, table.won) == (
        catalogue.table.pk,
        2,
        {"RUB": Decimal("1400")},
    )
    assert (chair.deals, chair.won) == (2, {"RUB": Decimal("300"), "USD": Decimal("80")})
    # the delivery line of A (200) and C without lines (700)
    assert (bare.product_id, bare.deals, bare.won) == (None, 2, {"RUB": Decimal("900")})


def test_the_product_filter_limits_every_figure_to_deals_with_the_product(catalogue):
    sales = report(catalogue.manager, "month", ReportFilters(product=catalogue.chair))
    assert sales.summary.won_count == 2
    assert sales.summary.won == {"RUB": Decimal("1500"), "USD": Decimal("80")}
    rows = {row.product_id: row for row in sales.by_product}
    # A's other lines stay in the breakdown: the filter picks deals, not lines.
    assert rows[catalogue.table.pk].won == {"RUB": Decimal("1000")}
    assert rows[None].won == {"RUB": Decimal("200")}


def test_the_forecast_takes_the_product_too(catalogue):
    open_deal = make_deal(
        catalogue.manager, amount=Decimal("250"), expected_close=dt.date(2026, 12, 20)
    )
    line(open_deal, catalogue.table, "250")
    make_deal(catalogue.manager, amount=Decimal("600"), expected_close=dt.date(2026, 12, 21))
    found = forecast_report(
        viewer=catalogue.manager,
        period=DECEMBER,
        filters=ReportFilters(product=catalogue.table),
        months=6,
    )
    assert found.total.amount == {"RUB": Decimal("250")}


def test_each_product_row_links_to_exactly_its_won_deals(catalogue):
    client = client_for(catalogue.manager)
    response = client.get("/reports/sales/", QUERY)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="sales-by-product"' in page and 'id="f-product"' in page
    urls = response.context["product_urls"]
    assert set(urls) == {catalogue.table.pk, catalogue.chair.pk}
    for row in response.context["report"].by_product:
        if row.product_id is None:
            continue
        listed = client.get(urls[row.product_id])
        assert listed.status_code == 200
        assert listed.context["totals"].count == row.deals
        assert urls[row.product_id].replace("&", "&amp;") in page


def test_under_a_product_filter_only_its_row_links(catalogue):
    client = client_for(catalogue.manager)
    response = client.get("/reports/sales/", {**QUERY, "product": catalogue.chair.pk})
    urls = response.context["product_urls"]
    assert list(urls) == [catalogue.chair.pk]
    assert response.context["won_query"].count("product=") == 1
    assert client.get(urls[catalogue.chair.pk]).context["totals"].count == 2


def test_the_export_and_the_api_carry_the_product_rows(catalogue):
    client = client_for(catalogue.manager)
    exported = client.get("/reports/sales/export/", {**QUERY, "format": "csv"})
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    currencies = [name.rsplit(", ", 1)[1] for name in rows[0][3:5]]
    chair = next(row for row in rows if row[1] == "Стул")
    # section, group, deals, line totals per currency (RUB, USD), no payments
    assert currencies == ["RUB", "USD"]
    assert [Decimal(value) for value in chair[2:5]] == [2, Decimal("300"), Decimal("80")]
    assert chair[5:] == ["", ""]
    answer = client.get("/api/v1/reports/sales", {**QUERY, "product": catalogue.table.pk})
    assert answer.status_code == 200
    body = answer.json()
    assert body["summary"]["won_count"] == 2
    table = next(row for row in body["by_product"] if row["product_id"] == catalogue.table.pk)
    assert table["deals"] == 2
    assert table["won"] == [{"currency": "RUB", "amount": "1400.00"}]


@pytest.mark.parametrize("value", ["999999", "x", "-1"])
def test_an_unknown_product_is_refused_naming_it(catalogue, value):
    client = client_for(catalogue.manager)
    for report_name in ("funnel", "sales", "forecast"):
        page = client.get(f"/reports/{report_name}/", {"product": value})
        assert page.status_code == 400, report_name
        assert "<code>product</code>" in page.content.decode()
        answer = client.get(f"/api/v1/reports/{report_name}", {"product": value})
        assert answer.status_code == 422, report_name
        assert "product" in answer.json()["errors"]


@pytest.mark.parametrize("report_name", ["leads", "activity", "clients"])
def test_the_reports_without_deal_lines_refuse_the_product(catalogue, report_name):
    client = client_for(catalogue.manager)
    page = client.get(f"/reports/{report_name}/", {"product": catalogue.table.pk})
    assert page.status_code == 400
    assert "<code>product</code>" in page.content.decode()
    assert 'id="f-product"' not in page.content.decode()
    answer = client.get(f"/api/v1/reports/{report_name}", {"product": catalogue.table.pk})
    assert answer.status_code == 422 and "product" in answer.json()["errors"]
    plans = client.get("/reports/plans/", {"product": catalogue.table.pk})
    assert plans.status_code == 400
