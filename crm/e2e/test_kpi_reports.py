"""The leads and activity reports in a real browser: a head of sales opens the leads report,
reads a channel's figures, clicks them through to the leads behind them, then opens the
activity report, reads a manager's row and downloads it as XLSX; both fit a 390 px phone in
Russian. No Content-Security-Policy violation (the page fixtures fail the test on one)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from crm.activities.services import timeline_record
from crm.customers.tests.factories import make_contact
from crm.e2e.conftest import sign_in
from crm.leads.models import Lead

if TYPE_CHECKING:
    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _work(org: Org) -> None:
    """Two phone leads and one web-form lead of the manager this week; two calls logged."""
    now = timezone.now() - dt.timedelta(minutes=5)
    for channel in ("phone", "phone", "web_form"):
        Lead.objects.create(title="Заявка", channel=channel, owner=org.manager, assigned_at=now)
    client = make_contact(org.manager, first_name="Анна", last_name="Смирнова")
    for direction in ("outgoing", "incoming"):
        timeline_record(
            subject=client,
            kind="call",
            author=org.manager,
            occurred_at=now,
            direction=direction,
            duration_seconds=90,
        )


def test_head_reads_the_leads_and_activity_reports(
    phone_page: ShotPage, org: Org, password: str
) -> None:
    _work(org)
    sign_in(phone_page, "head", password)
    phone_page.goto("/reports/leads/?period=this_year")
    phone_page.locator("#leads-chart canvas").wait_for()
    assert phone_page.locator("#leads-total").inner_text() == "3"
    phone_row = phone_page.locator('#leads-by-channel tr[data-key="phone"]')
    assert phone_row.locator("td").first.inner_text() == "2"
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the leads report is {width}px wide"
    phone_page.shots("leads-390")
    phone_row.locator("th a").click()
    phone_page.wait_for_url("**/leads/?channel=phone")
    assert phone_page.get_by_text("Заявка").count() == 2

    phone_page.goto("/reports/activity/?period=this_year")
    phone_page.locator("#activity-chart canvas").wait_for()
    row = phone_page.locator(f'#activity-table tr[data-key="{org.manager.pk}"] td')
    assert [row.nth(index).inner_text() for index in range(3)] == ["1", "1", "0"]
    phone_page.shots("activity-390")
    with phone_page.expect_download() as download:
        phone_page.get_by_role("link", name="XLSX").click()
    assert download.value.suggested_filename.startswith("activity-")
