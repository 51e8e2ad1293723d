"""Reports in a real browser: a head of sales opens the dashboard, checks a manager's figure,
clicks it through to the deals behind it, then opens the funnel and the sales report and reads
their figures; the same pages on a 390 px phone in English. No Content-Security-Policy
violation anywhere (the page fixtures fail the test on one)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from crm.e2e.conftest import sign_in
from crm.sales.models import Deal, Pipeline, Stage, StageVisit
from crm.sales.services.visits import visits_settle

if TYPE_CHECKING:
    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _sales(org: Org) -> Pipeline:
    """A pipeline of its own (browser tests flush the default ones): the manager won a deal
    a minute ago after two stages; the colleague's deal sits in the second stage."""
    pipeline = Pipeline.objects.create(name="Кухни", position=0)
    first, second, won = (
        Stage.objects.create(pipeline=pipeline, name=name, kind=kind, position=position)
        for position, (name, kind) in enumerate(
            (("Замер", "open"), ("Смета", "open"), ("Продано", "won"))
        )
    )
    now = timezone.now()
    for owner, title, amount, steps in (
        (org.manager, "Кухня Ивановых", "1234567.89", (first, second, won)),
        (org.colleague, "Кухня Петровых", "500000.00", (first, second)),
    ):
        last = steps[-1]
        deal = Deal.objects.create(
            title=title,
            pipeline=pipeline,
            stage=last,
            status="won" if last.kind == "won" else "open",
            owner=owner,
            amount=Decimal(amount),
            stage_entered_at=now,
            last_activity_at=now,
            closed_at=now - dt.timedelta(minutes=1) if last.kind == "won" else None,
        )
        for index, stage in enumerate(steps):
            StageVisit.objects.create(
                deal=deal,
                stage=stage,
                entered_at=now - dt.timedelta(minutes=30 - 10 * index),
                left_at=None if stage is last else now - dt.timedelta(minutes=20 - 10 * index),
                owner=owner,
            )
        visits_settle([deal.pk])  # as every move does
    return pipeline


def _week() -> str:
    today = timezone.localdate()
    start = today - dt.timedelta(days=6)
    return f"period=custom&date_from={start.isoformat()}&date_to={today.isoformat()}"


def test_head_reads_the_dashboard_and_the_funnel(page: ShotPage, org: Org, password: str) -> None:
    pipeline = _sales(org)
    sign_in(page, "head", password)
    page.goto("/")
    row = page.locator(f'#dashboard-managers tr[data-manager="{org.manager.pk}"]')
    row.wait_for()
    assert re.search(r"1\s234\s567,89\s₽", row.inner_text())
    page.shots("dashboard")
    row.locator("td").nth(1).get_by_role("link").click()  # the manager's deals won
    page.wait_for_url(re.compile(r"/sales/deals/\?status=won"))
    page.get_by_text("Кухня Ивановых").wait_for()
    assert page.get_by_text("Кухня Петровых").count() == 0

    page.goto(f"/reports/funnel/?pipeline={pipeline.pk}&{_week()}")
    assert page.locator("#funnel-deals").inner_text() == "2"
    assert page.locator("#funnel-won").inner_text() == "1"
    reached = page.locator("#funnel-table [data-figure=reached]")
    assert reached.all_inner_texts() == ["2", "2"]
    page.locator("#funnel-chart canvas").wait_for()
    page.shots("funnel")

    page.locator("#report-nav").get_by_role("link", name="Продажи").click()
    page.wait_for_url(re.compile(r"/reports/sales/"))
    assert re.search(r"1\s234\s567,89\s₽", page.locator("#sales-won").inner_text())
    page.locator("#sales-chart canvas").wait_for()
    page.shots("sales")


def test_the_pages_fit_a_phone_in_english(phone_page: ShotPage, org: Org, password: str) -> None:
    pipeline = _sales(org)
    org.head.language = "en"
    org.head.save(update_fields=["language"])
    sign_in(phone_page, "head", password)
    for label, url in (
        ("dashboard", "/"),
        ("funnel", f"/reports/funnel/?pipeline={pipeline.pk}&{_week()}"),
        ("sales", f"/reports/sales/?{_week()}"),
    ):
        phone_page.goto(url)
        phone_page.wait_for_load_state("networkidle")
        width = phone_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{label} is {width}px wide"
        phone_page.shots(f"{label}-390")
    phone_page.get_by_text("Payments received").first.wait_for()
    phone_page.locator("#sales-chart canvas").wait_for()
