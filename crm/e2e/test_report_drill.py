"""Drilling into reports in a real browser: a head of sales clicks a funnel stage's "reached"
figure and its chart step through to exactly the deals counted, filters the sales report by a
product and opens the deals behind its row; the same pages on a 390 px phone. No
Content-Security-Policy violation (the page fixtures fail the test on one)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from crm.e2e.conftest import sign_in
from crm.e2e.test_analytics import _sales, _week
from crm.sales.models import Deal, DealLine, Product

if TYPE_CHECKING:
    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _facade() -> Product:
    """The manager's won deal has a line of «Фасад»."""
    facade = Product.objects.create(name="Фасад", price=Decimal("1000"))
    DealLine.objects.create(
        deal=Deal.objects.get(title="Кухня Ивановых"),
        product=facade,
        name="Фасад",
        quantity=Decimal(2),
        price=Decimal("1000"),
        total=Decimal("2000"),
        vat_amount=Decimal("360.66"),
    )
    return facade


def test_head_drills_from_the_funnel_and_the_sales_report(
    page: ShotPage, org: Org, password: str
) -> None:
    pipeline = _sales(org)
    facade = _facade()
    sign_in(page, "head", password)
    page.goto(f"/reports/funnel/?{_week()}&pipeline={pipeline.pk}")
    second = page.locator('#funnel-table tr:has-text("Смета") [data-figure="reached"] a')
    assert second.inner_text() == "2"
    page.shots("funnel")
    second.click()
    page.wait_for_url(re.compile(r"/sales/deals/\?reached_stage="))
    page.locator("#deal-reached").wait_for()
    assert "Смета" in page.locator("#deal-reached").inner_text()
    page.get_by_text("Кухня Ивановых").wait_for()
    page.get_by_text("Кухня Петровых").wait_for()
    page.shots("deals reached")

    # The chart's first step («Замер», at the top of the funnel) opens its deals too.
    page.goto(f"/reports/funnel/?{_week()}&pipeline={pipeline.pk}")
    chart = page.locator("#funnel-chart canvas").first
    chart.wait_for()
    box = page.locator("#funnel-chart").bounding_box()
    assert box is not None
    page.wait_for_timeout(800)  # the funnel's drawing animation
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.3)
    page.wait_for_url(re.compile(r"/sales/deals/\?reached_stage="))
    assert "Замер" in page.locator("#deal-reached").inner_text()

    page.goto(f"/reports/sales/?{_week()}&product={facade.pk}")
    row = page.locator(f'#sales-by-product tr[data-product="{facade.pk}"]')
    assert re.search(r"2\s000,00\s₽", row.inner_text())
    assert page.locator("#f-product").input_value() == str(facade.pk)
    page.shots("sales by product")
    row.get_by_role("link").click()
    page.wait_for_url(re.compile(r"product="))
    page.get_by_text("Кухня Ивановых").wait_for()
    assert page.get_by_text("Кухня Петровых").count() == 0


def test_the_drill_pages_on_a_phone(phone_page: ShotPage, org: Org, password: str) -> None:
    pipeline = _sales(org)
    _facade()
    sign_in(phone_page, "head", password)
    phone_page.goto(f"/reports/funnel/?{_week()}&pipeline={pipeline.pk}")
    phone_page.locator("#funnel-table").wait_for()
    phone_page.shots("funnel on a phone")
    phone_page.goto(f"/reports/sales/?{_week()}")
    phone_page.locator("#sales-by-product").scroll_into_view_if_needed()
    phone_page.shots("sales by product on a phone")
    phone_page.goto("/sales/deals/?reached_stage=abc")
    phone_page.locator("#deal-filter-errors").wait_for()
    phone_page.shots("refused funnel filter on a phone")
