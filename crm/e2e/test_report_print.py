"""The reports and the dashboard printed on A4, on a 390 px phone, and their charts saved as
PNG and SVG, in a real browser (Russian). A head of sales with a won deal, an open one, two
leads, two calls and a plan. No Content-Security-Policy violation (the page fixtures fail the
test on one): the downloads go through blob URLs made by a static script."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone
from pypdf import PdfReader

from crm.analytics.models import Plan
from crm.e2e.conftest import sign_in
from crm.e2e.test_analytics import _sales
from crm.e2e.test_kpi_reports import _work

if TYPE_CHECKING:
    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# A4 (210 mm) less the 12 mm margins of crm.css's @page, at 96 px per inch.
PRINT_WIDTH = int((210 - 2 * 12) / 25.4 * 96)
# A chart in print: the page's width less the .5rem padding of <main> on each side.
CHART_WIDTH = PRINT_WIDTH - 16
YEAR = "period=this_year"


def _data(org: Org) -> list[tuple[str, str, str]]:
    """The data every page shows something of; the pages as (label, address, a chart's id
    or "")."""
    pipeline = _sales(org)
    _work(org)
    Plan.objects.create(
        metric="revenue_won",
        manager=org.manager,
        currency="RUB",
        effective_from=timezone.localdate().replace(day=1),
        target=Decimal(2_000_000),
    )
    return [
        ("dashboard", "/", ""),
        ("funnel", f"/reports/funnel/?pipeline={pipeline.pk}&{YEAR}", "funnel-chart"),
        ("sales", f"/reports/sales/?{YEAR}", "sales-chart"),
        ("leads", f"/reports/leads/?{YEAR}", "leads-chart"),
        ("activity", f"/reports/activity/?{YEAR}", "activity-chart"),
        ("plans", "/reports/plans/", "plans-chart"),
        ("forecast", f"/reports/forecast/?{YEAR}", "forecast-chart"),
        ("clients", f"/reports/clients/?{YEAR}", "clients-chart"),
    ]


# Whatever sticks out of the printable width (the first few, to name them in the failure).
WIDER_THAN = """(limit) => [...document.querySelectorAll("body *")]
  .filter((element) => element.getClientRects().length)
  .filter((element) => element.getBoundingClientRect().right > limit + 1)
  .slice(0, 5)
  .map((element) => `${element.tagName}#${element.id}.${element.className}`)"""


def test_every_report_prints_on_a4(page: ShotPage, org: Org, password: str) -> None:
    pages = _data(org)
    sign_in(page, "head", password)
    page.set_viewport_size({"width": PRINT_WIDTH, "height": 1100})
    for label, url, chart in pages:
        page.emulate_media(media="screen")
        page.goto(url)
        if chart:
            page.locator(f"#{chart} canvas").wait_for()
        page.emulate_media(media="print")
        assert page.locator("nav.navbar").is_hidden()
        assert page.locator("[data-print]").is_hidden()
        assert page.locator("#report-filters").count() == 0 or (
            page.locator("#report-filters").is_hidden()
        )
        meta = page.locator("#print-meta")
        assert meta.is_visible() and f"Напечатано: {org.head}" in meta.inner_text(), label
        wider = page.evaluate(WIDER_THAN, PRINT_WIDTH)
        assert not wider, f"{label}: wider than A4: {wider}"
        if chart:
            canvas = page.locator(f"#{chart} canvas").bounding_box()
            assert canvas and canvas["width"] == CHART_WIDTH, label
        page.shots(f"{label}-print")
        pdf = PdfReader(io.BytesIO(page.pdf(format="A4")))
        assert 1 <= len(pdf.pages) <= 4, f"{label}: {len(pdf.pages)} pages"
        text = " ".join(sheet.extract_text() for sheet in pdf.pages)
        assert "Напечатано" in text and "Выйти" not in text, label
        if chart:  # the canvas is printed as an image
            assert any(sheet.images for sheet in pdf.pages), label
    page.emulate_media(media="screen")
    page.goto(f"/reports/sales/?{YEAR}")
    page.locator("#sales-chart canvas").wait_for()
    # Back on the screen the chart fills its box again.
    box = page.locator("#sales-chart").evaluate("(chart) => chart.clientWidth")
    assert page.locator("#sales-chart canvas").bounding_box()["width"] == box  # type: ignore[index]


def test_a_chart_saves_as_png_and_svg(page: ShotPage, org: Org, password: str) -> None:
    _data(org)
    sign_in(page, "head", password)
    page.goto(f"/reports/sales/?{YEAR}")
    page.locator("#sales-chart canvas").wait_for()
    today = timezone.localdate()
    period = f"{today.replace(month=1, day=1).isoformat()}-{today.replace(month=12, day=31)}"
    saved = {}
    for kind in ("png", "svg"):
        with page.expect_download() as download:
            page.locator(f'[data-chart-save="{kind}"][data-chart-id="sales-chart"]').click()
        assert download.value.suggested_filename == f"sales-revenue-{period}.{kind}"
        saved[kind] = download.value.path().read_bytes()
    assert saved["png"].startswith(b"\x89PNG")
    svg = saved["svg"].decode()
    assert svg.startswith("<svg") and "Выигранные сделки, RUB" in svg
    assert "<rect" in svg or "<path" in svg

    # Printing from the screen: the button prints, and the chart is redrawn at the A4
    # printable width before the page is printed and back afterwards.
    page.evaluate("window.print = () => { window.printAsked = true; }")
    page.locator("[data-print]").click()
    assert page.evaluate("window.printAsked") is True
    canvas = page.locator("#sales-chart canvas")
    wide = canvas.bounding_box()["width"]  # type: ignore[index]
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert canvas.bounding_box()["width"] == CHART_WIDTH  # type: ignore[index]
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert canvas.bounding_box()["width"] == wide  # type: ignore[index]


def test_every_report_fits_a_phone(phone_page: ShotPage, org: Org, password: str) -> None:
    pages = _data(org)
    sign_in(phone_page, "head", password)
    for label, url, chart in pages:
        phone_page.goto(url)
        if chart:
            phone_page.locator(f"#{chart} canvas").wait_for()
            box = phone_page.locator(f"#{chart} canvas").bounding_box()
            assert box and box["width"] <= 390, label
        overflow = phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{label} scrolls sideways by {overflow}px"
        if label != "dashboard":
            assert phone_page.locator("#report-filters").is_hidden(), label
        phone_page.shots(f"{label}-390")
    # The plan table reads as stacked rows: nothing in it scrolls sideways.
    phone_page.goto("/reports/plans/")
    table = phone_page.locator(".plans-table").first
    box = table.evaluate(
        "(t) => [t.parentElement.scrollWidth, t.parentElement.clientWidth, t.scrollWidth,"
        " [...t.querySelectorAll('*')].filter((e) => e.getBoundingClientRect().right >"
        " t.parentElement.getBoundingClientRect().right).map((e) => e.tagName + '.' + e.className)]"
    )
    assert box[0] <= box[1], box
    assert "План" in table.locator(".plan-target").first.evaluate(
        "(cell) => getComputedStyle(cell, '::before').content"
    )
    # The filters open with their button.
    phone_page.get_by_role("button", name="Фильтры").click()
    phone_page.locator("#report-filters").wait_for(state="visible")
    phone_page.shots("plans-filters-390")
