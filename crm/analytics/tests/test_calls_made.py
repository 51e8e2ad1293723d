"""The "calls made" plan metric: outgoing calls (logged by hand and from telephony) a manager
made in the month on records the viewer may see — the activity report's outgoing calls — as
a plan's fact, set through the service, the page and the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from conftest import client_for
from crm.analytics.filters import ReportFilters
from crm.analytics.metrics import METRICS
from crm.analytics.selectors import dashboard
from crm.analytics.selectors.plans import plan_report
from crm.analytics.services import plan_set
from crm.analytics.tests.test_activity_report import DECEMBER, report
from crm.analytics.tests.test_activity_report import work as work  # the fixture
from crm.api.tests.conftest import ApiClient, token_for
from crm.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db

MONTH = dt.date(2026, 12, 1)


@pytest.fixture
def december(work, settings, monkeypatch):
    settings.TIME_ZONE = "Europe/Moscow"
    monkeypatch.setattr(dashboard, "clock", lambda: dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC))
    return work


def facts(viewer, *owners):
    aggregate = METRICS["calls_made"].aggregate
    return aggregate(viewer, ReportFilters(), DECEMBER, [owner.pk for owner in owners])


def test_calls_made_are_the_outgoing_calls_the_viewer_may_see(december):
    org = december
    metric = METRICS["calls_made"]
    assert not metric.money
    # One from telephony and one logged by hand on the manager's own client; the third on
    # the colleague's client counts only for the head, who may open it; November's does not.
    assert facts(org.manager, org.manager) == {(org.manager.pk, ""): Decimal(2)}
    assert facts(org.head, org.manager, org.colleague) == {(org.manager.pk, ""): Decimal(3)}
    # The same figure as the activity report's outgoing calls, for either viewer.
    for viewer in (org.manager, org.head):
        row = next(row for row in report(viewer).rows if row.user == org.manager)
        assert facts(viewer, org.manager)[(org.manager.pk, "")] == row.calls_out


def test_a_plan_of_calls_made_shows_its_fact(december):
    org = december
    plan_set(actor=org.head, metric="calls_made", month=MONTH, target="40", manager=org.manager)
    found = plan_report(viewer=org.head, month=MONTH, filters=ReportFilters())
    rows = {row.user.username: row for block in found.blocks for row in block.members}
    line = rows["manager"].line("calls_made")
    assert (line.target, line.fact) == (Decimal(40), Decimal(3))
    assert line.done == pytest.approx(3 / 40)
    # 3 calls in 7 of 31 days: the pace gives 3 × 31 ÷ 7 by the month's end.
    assert line.forecast == pytest.approx(Decimal(3) * 31 / 7, rel=Decimal("0.01"))


def test_a_count_metric_takes_no_currency(december):
    with pytest.raises(ValidationFailed) as refused:
        plan_set(
            actor=december.head,
            metric="calls_made",
            month=MONTH,
            target="40",
            manager=december.manager,
            currency="RUB",
        )
    assert "currency" in refused.value.field_errors


def test_set_and_read_through_the_page_and_the_api(december):
    org = december
    page = client_for(org.head).get("/reports/plans/")
    assert 'value="calls_made"' in page.content.decode()
    api = ApiClient(token_for(org.head))
    put = api.request(
        "PUT",
        "/reports/plans",
        {"metric": "calls_made", "month": "2026-12", "target": "40", "manager_id": org.manager.pk},
    )
    assert put.status_code == 200, put.content
    answer = api.get("/reports/plans", month="2026-12")
    assert answer.status_code == 200
    lines = [
        line
        for team in answer.json()["teams"]
        for row in team["managers"]
        if row["manager_id"] == org.manager.pk
        for line in row["lines"]
        if line["metric"] == "calls_made"
    ]
    assert [(Decimal(line["plan"]), Decimal(line["fact"])) for line in lines] == [(40, 3)]
