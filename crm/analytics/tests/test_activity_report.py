"""The managers' activity and KPI report against hand-computed figures: calls logged and from
telephony by direction with talk time, meetings, e-mails, notes; tasks done on time, late and
overdue now; leads taken and answered in time; deals won and revenue per currency; the
period's edge in Moscow; and the permission rule (a manager never counts what a colleague
keeps to themselves)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crm.activities.services import timeline_record
from crm.analytics.filters import ReportFilters
from crm.analytics.periods import period_parse
from crm.analytics.selectors.activity import activity_chart, activity_report
from crm.analytics.tests.test_dashboard import won
from crm.customers.models import Contact
from crm.customers.tests.factories import make_contact
from crm.leads.models import Lead
from crm.planner.models import Task
from crm.planner.tests.factories import make_task
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db

UTC = dt.UTC
DECEMBER = period_parse(
    {"period": "this_month"}, today=dt.date(2026, 12, 7), zone=ZoneInfo("Europe/Moscow")
)
NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
FIRST = dt.datetime(2026, 11, 30, 21, 0, tzinfo=UTC)  # 1 December 00:00 in Moscow


def call(subject, author, at, direction, seconds=0, telephony=False):
    data = {"call_id": f"c-{at.timestamp()}-{direction}"} if telephony else {}
    return timeline_record(
        subject=subject,
        kind="call",
        author=author,
        occurred_at=at,
        direction=direction,
        duration_seconds=seconds,
        data=data,
    )


def task(owner, due, completed=None):
    row = make_task(owner, due_at=due)
    if completed is not None:
        Task.objects.filter(pk=row.pk).update(status="done", completed_at=completed)
    return row


@pytest.fixture
def work(org):
    mine = make_contact(org.manager, first_name="Иван", last_name="Петров")
    theirs = make_contact(org.colleague, first_name="Пётр", last_name="Иванов")
    call(mine, org.manager, FIRST, "outgoing", 120, telephony=True)
    call(mine, org.manager, FIRST + dt.timedelta(days=1), "outgoing", 60)
    call(mine, org.manager, FIRST + dt.timedelta(days=2), "incoming", 30, telephony=True)
    call(mine, org.manager, FIRST + dt.timedelta(days=3), "missed", 0, telephony=True)
    call(mine, org.manager, FIRST - dt.timedelta(seconds=1), "outgoing", 999)  # November
    for kind in ("meeting", "email", "email", "note"):
        timeline_record(subject=mine, kind=kind, author=org.manager, occurred_at=FIRST)
    # the manager's call on the colleague's client, which the manager may not open
    call(theirs, org.manager, FIRST + dt.timedelta(days=1), "outgoing", 500)
    call(theirs, org.colleague, FIRST + dt.timedelta(days=1), "incoming", 45)

    due = dt.datetime(2026, 12, 3, 12, tzinfo=UTC)
    task(org.manager, due, completed=due - dt.timedelta(hours=1))  # on time
    task(org.manager, due, completed=due + dt.timedelta(hours=1))  # late
    task(org.manager, NOW - dt.timedelta(hours=2))  # overdue now
    task(org.manager, NOW + dt.timedelta(hours=2))  # open, not overdue

    for wait, deadline in ((10, 30), (40, 30), (None, 30)):
        row = Lead.objects.create(
            title="Заявка",
            channel="web_form",
            owner=org.manager,
            respond_by=FIRST + dt.timedelta(minutes=deadline),
            responded_at=FIRST + dt.timedelta(minutes=wait) if wait else None,
        )
        Lead.objects.filter(pk=row.pk).update(assigned_at=FIRST)
    won(org.manager, "1000", FIRST)
    won(org.manager, "20", FIRST + dt.timedelta(days=5), "USD")
    won(org.manager, "777", FIRST - dt.timedelta(minutes=1))  # November in Moscow
    won(org.colleague, "300", FIRST + dt.timedelta(days=2))
    return org


def report(viewer, filters=None):
    return activity_report(
        viewer=viewer, period=DECEMBER, filters=filters or ReportFilters(), now=NOW
    )


def test_a_managers_own_row(work):
    result = report(work.manager)
    assert [row.user for row in result.rows] == [work.manager]
    row = result.rows[0]
    assert (row.calls_out, row.calls_in, row.calls_missed) == (2, 1, 1)
    assert (row.calls_telephony, row.calls_logged, row.calls) == (3, 1, 4)
    assert row.talk_seconds == 120 + 60 + 30
    assert (row.meetings, row.emails, row.notes) == (1, 2, 1)
    assert (row.tasks_on_time, row.tasks_late, row.tasks_overdue) == (1, 1, 1)
    assert (row.leads_taken, row.leads_in_time) == (3, 1)
    assert row.won_count == 2
    assert row.revenue == {"RUB": Decimal("1000"), "USD": Decimal("20")}


def test_a_manager_never_counts_a_colleagues_records(work):
    result = report(work.colleague)
    assert [row.user for row in result.rows] == [work.colleague]
    row = result.rows[0]
    assert (row.calls_in, row.calls_out, row.talk_seconds) == (1, 0, 45)
    assert row.won_count == 1 and row.revenue == {"RUB": Decimal("300")}
    assert row.leads_taken == 0 and row.tasks_overdue == 0


def test_a_head_sees_each_manager_of_the_team_and_their_sum(work):
    result = report(work.head)
    rows = {row.user: row for row in result.rows}
    assert work.outsider not in rows
    assert rows[work.manager].calls_out == 3  # the head sees the colleague's client too
    assert rows[work.manager].talk_seconds == 120 + 60 + 30 + 500
    assert result.total.won_count == 3
    assert result.total.revenue == {"RUB": Decimal("1300"), "USD": Decimal("20")}
    assert result.rows[0].user == work.manager
    only = report(work.head, ReportFilters(manager=work.colleague))
    assert [row.user for row in only.rows] == [work.colleague]


def test_the_chart_has_one_bar_per_manager(work):
    result = report(work.head)
    chart = activity_chart(result)
    assert chart["labels"] == [row.label for row in result.rows]
    outgoing = chart["series"][0]
    assert outgoing["values"][0] == 3 and outgoing["stack"] == "calls"


def test_a_call_on_a_colleagues_client_counts_once_it_is_shared(work):
    theirs = Contact.objects.get(last_name="Иванов")
    theirs.shared_with.add(work.manager)
    row = report(work.manager).rows[0]
    assert row.calls_out == 3
    assert row.talk_seconds == 120 + 60 + 30 + 500


def test_entries_on_a_merged_client_are_not_counted(work):
    mine = Contact.objects.get(last_name="Петров")
    kept = make_contact(work.manager, first_name="Иван", last_name="Петров-второй")
    Contact.objects.filter(pk=mine.pk).update(merged_into=kept)
    row = report(work.manager).rows[0]
    assert (row.calls, row.meetings, row.emails, row.notes) == (0, 0, 0, 0)
    assert row.won_count == 2  # the deals are not the client's entries


def test_a_call_on_a_deal_shared_with_the_head_counts_in_the_heads_report_only(work):
    deal = make_deal(work.outsider)
    deal.shared_with.add(work.head)
    call(deal, work.manager, FIRST + dt.timedelta(days=4), "outgoing", 7)
    heads = {row.user: row for row in report(work.head).rows}
    assert heads[work.manager].calls_out == 4
    assert heads[work.manager].talk_seconds == 120 + 60 + 30 + 500 + 7
    assert report(work.manager).rows[0].calls_out == 2
