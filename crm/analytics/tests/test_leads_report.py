"""The leads and channels report against hand-computed figures: leads of December in Moscow
(the edge at 21:00 UTC on 30 November), by channel, form, classification and manager;
conversion to won deals and revenue per currency, a deal with two leads credited once;
median first response and the share answered in time; what a manager and a head count."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crm.analytics.filters import ReportFilters
from crm.analytics.periods import period_parse
from crm.analytics.selectors.leads import leads_chart, leads_report
from crm.analytics.tests.test_dashboard import won
from crm.leads.models import Lead, WebForm
from crm.sales.models import Deal

pytestmark = pytest.mark.django_db

UTC = dt.UTC
DECEMBER = period_parse(
    {"period": "this_month"}, today=dt.date(2026, 12, 7), zone=ZoneInfo("Europe/Moscow")
)


def lead(owner, at, channel="web_form", *, wait=None, deadline=None, **fields) -> Lead:
    """A lead that arrived ``at``, answered ``wait`` minutes later (if given), with a
    deadline ``deadline`` minutes after arrival (if given)."""
    row = Lead.objects.create(
        title="Заявка",
        channel=channel,
        owner=owner,
        respond_by=at + dt.timedelta(minutes=deadline) if deadline is not None else None,
        responded_at=at + dt.timedelta(minutes=wait) if wait is not None else None,
        **fields,
    )
    Lead.objects.filter(pk=row.pk).update(created_at=at, assigned_at=at)
    row.refresh_from_db()
    return row


def won_deal(owner, amount, currency="RUB") -> Deal:
    return won(owner, amount, dt.datetime(2026, 12, 20, tzinfo=UTC), currency)


@pytest.fixture
def leads(org):
    form = WebForm.objects.create(key="price", name="Прайс")
    first_day = dt.datetime(2026, 11, 30, 21, 0, tzinfo=UTC)  # 1 December 00:00 in Moscow
    roubles = won_deal(org.manager, "1000")
    dollars = won_deal(org.manager, "50", "USD")
    # web form: 3 leads of the manager, one a repeat client, two converted to won deals
    lead(org.manager, first_day, form=form, wait=10, deadline=30, deal=roubles)
    lead(
        org.manager,
        first_day + dt.timedelta(hours=1),
        form=form,
        wait=40,
        deadline=30,
        kind="repeat",
        deal=roubles,  # the same deal again: credited once, to the first lead
    )
    lead(org.manager, first_day + dt.timedelta(days=3), wait=20, deadline=30, deal=dollars)
    # phone: the manager's spam and the colleague's partner lead, unanswered
    lead(org.manager, dt.datetime(2026, 12, 5, 9, tzinfo=UTC), "phone", kind="spam")
    lead(
        org.colleague, dt.datetime(2026, 12, 6, 9, tzinfo=UTC), "phone", kind="partner", deadline=60
    )
    # outside the period: a minute before December in Moscow, and the outsider's lead
    lead(org.manager, first_day - dt.timedelta(minutes=1), wait=5)
    lead(org.outsider, dt.datetime(2026, 12, 6, 9, tzinfo=UTC), "email")
    return org


def report(viewer, filters=None):
    return leads_report(viewer=viewer, period=DECEMBER, filters=filters or ReportFilters())


def test_a_managers_channels_count_their_own_leads_of_december(leads):
    result = report(leads.manager)
    assert result.total.leads == 4
    assert result.total.kinds == {"new": 2, "repeat": 1, "partner": 0, "spam": 1}
    channels = {row.key: row for row in result.by_channel}
    assert set(channels) == {"web_form", "phone"}
    web = channels["web_form"]
    assert (web.leads, web.converted, web.won) == (3, 3, 2)
    assert web.revenue == {"RUB": Decimal("1000"), "USD": Decimal("50")}
    assert web.won_share == pytest.approx(2 / 3)
    assert channels["phone"].revenue == {} and channels["phone"].won == 0


def test_first_response_median_and_share_answered_in_time(leads):
    result = report(leads.manager)
    web = {row.key: row for row in result.by_channel}["web_form"]
    assert web.median_response_seconds == pytest.approx(20 * 60)
    assert (web.with_deadline, web.in_time) == (3, 2)
    assert web.in_time_share == pytest.approx(2 / 3)
    assert result.total.median_response_seconds == pytest.approx(20 * 60)


def test_forms_and_classifications_group_the_same_leads(leads):
    result = report(leads.manager)
    assert [(row.label, row.leads, row.won) for row in result.by_form] == [("Прайс", 2, 1)]
    kinds = {row.key: row.leads for row in result.by_kind}
    assert kinds == {"new": 2, "repeat": 1, "spam": 1}


def test_the_period_before_holds_the_lead_a_minute_before_december(leads):
    assert report(leads.manager).before.leads == 1


def test_a_head_sees_the_team_per_manager_but_not_the_outsider(leads):
    result = report(leads.head)
    managers = {row.label: row for row in result.by_manager}
    assert set(managers) == {str(leads.manager), str(leads.colleague)}
    colleague = managers[str(leads.colleague)]
    assert (colleague.leads, colleague.with_deadline, colleague.in_time) == (1, 1, 0)
    assert result.total.leads == 5
    only = report(leads.head, ReportFilters(manager=leads.colleague))
    assert only.total.leads == 1 and only.total.kinds["partner"] == 1
    phone = report(leads.head, ReportFilters(source="phone"))
    assert phone.total.leads == 2


def test_a_manager_never_counts_a_colleagues_leads_or_deals(leads):
    result = report(leads.colleague)
    assert result.total.leads == 1 and result.total.won == 0 and result.total.revenue == {}
    assert result.by_form == []


def test_the_chart_stacks_classifications_per_channel(leads):
    result = report(leads.manager)
    chart = leads_chart(result)
    assert chart["labels"] == [row.label for row in result.by_channel]
    assert [row.key for row in result.by_channel] == ["web_form", "phone"]
    spam = next(series for series in chart["series"] if series["values"] == [0, 1])
    assert spam["stack"] == "kinds"
