"""The home dashboard against a small hand-computed organisation: a manager's own month,
a head's teams row by row, the administrator's everything; month edges in the user's zone;
two currencies never added together; the same number of queries for one manager or many."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import client_for
from crm.accounts.models import Team
from crm.accounts.tests.factories import UserFactory, add_member
from crm.analytics.selectors import dashboard, dashboard_for
from crm.leads.models import Lead
from crm.planner.tests.factories import make_task
from crm.sales.models import Deal, Stage
from crm.sales.services.deals import deal_update
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # 12:00 in Moscow


def won(owner, amount: str, closed_at: dt.datetime, currency: str = "RUB") -> Deal:
    stage = Stage.objects.get(pipeline__name="Розница", kind="won")
    return make_deal(
        owner,
        stage=stage,
        status="won",
        amount=Decimal(amount),
        currency=currency,
        closed_at=closed_at,
    )


def lead(owner, assigned_at: dt.datetime, responded_at: dt.datetime | None = None) -> Lead:
    return Lead.objects.create(
        title="Заявка",
        channel="web_form",
        owner=owner,
        assigned_at=assigned_at,
        responded_at=responded_at,
        status="in_progress" if responded_at else "new",
    )


@pytest.fixture
def figures(org, settings, monkeypatch):
    settings.TIME_ZONE = "Europe/Moscow"
    monkeypatch.setattr(dashboard, "clock", lambda: NOW)
    # Manager: 1 000,50 ₽ won at 00:30 on 1 December in Moscow, 200 $ on the 5th; 999 ₽ at
    # 23:59 on 30 November (the month before); two open deals, one without an amount.
    won(org.manager, "1000.50", dt.datetime(2026, 11, 30, 21, 30, tzinfo=UTC))
    won(org.manager, "200.00", dt.datetime(2026, 12, 5, 12, 0, tzinfo=UTC), "USD")
    won(org.manager, "999.00", dt.datetime(2026, 11, 30, 20, 59, tzinfo=UTC))
    make_deal(org.manager, amount=Decimal("500.00"))
    make_deal(org.manager)
    won(org.colleague, "300.00", dt.datetime(2026, 12, 3, 10, 0, tzinfo=UTC))
    won(org.outsider, "5000.00", dt.datetime(2026, 12, 3, 10, 0, tzinfo=UTC))
    # Leads: two waiting (3 h and 1 h), answered after 10 and 30 min (median 20 min);
    # the colleague answered one in 1 min; the month's median over the three is 10 min.
    lead(org.manager, NOW - dt.timedelta(hours=3))
    lead(org.manager, NOW - dt.timedelta(hours=1))
    start = dt.datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    lead(org.manager, start, start + dt.timedelta(minutes=10))
    lead(org.manager, start, start + dt.timedelta(minutes=30))
    lead(org.colleague, start, start + dt.timedelta(minutes=1))
    # Tasks: one overdue since yesterday, one due this afternoon.
    make_task(org.manager, due_at=NOW - dt.timedelta(days=1))
    make_task(org.manager, due_at=NOW + dt.timedelta(hours=2))
    make_task(org.colleague, due_at=NOW + dt.timedelta(days=3))
    return org


def test_a_manager_sees_their_own_month(figures):
    board = dashboard_for(viewer=figures.manager, now=NOW)
    assert board.period.start == dt.date(2026, 12, 1) and not board.is_team
    [row] = board.rows
    assert row.user == figures.manager
    assert row.won_count == 2
    assert row.revenue == {"RUB": Decimal("1000.50"), "USD": Decimal("200.00")}
    assert (row.open_count, row.open_amount) == (2, {"RUB": Decimal("500.00")})
    assert row.leads_waiting == 2
    assert board.oldest_wait == dt.timedelta(hours=3)
    assert (row.tasks_today, row.tasks_overdue) == (1, 1)
    assert row.median_response_seconds == pytest.approx(1200, abs=0.1)
    [stage] = board.stages
    assert (stage.pipeline, stage.count, stage.amount) == ("Розница", 2, {"RUB": Decimal("500")})


def test_a_head_sees_one_row_per_manager_of_their_teams(figures):
    board = dashboard_for(viewer=figures.head, now=NOW)
    people = {row.user.username: row for row in board.rows}
    assert set(people) == {"head", "manager", "colleague"}  # not the outsider nor read-only
    assert board.rows[0].user == figures.manager  # the most deals won first
    assert people["colleague"].revenue == {"RUB": Decimal("300.00")}
    assert people["colleague"].median_response_seconds == pytest.approx(60, abs=0.1)
    assert board.total.revenue == {"RUB": Decimal("1300.50"), "USD": Decimal("200.00")}
    assert board.total.won_count == 3
    assert board.total.median_response_seconds == pytest.approx(600, abs=0.1)
    assert board.total.tasks_overdue == 1 and board.total.leads_waiting == 2


def test_the_administrator_sees_everyone(figures):
    board = dashboard_for(viewer=figures.admin, now=NOW)
    assert "outsider" in {row.user.username for row in board.rows}
    assert board.total.revenue == {"RUB": Decimal("6300.50"), "USD": Decimal("200.00")}


def test_the_month_begins_at_midnight_of_the_users_zone(figures):
    Team.objects.filter(name="Москва").update(time_zone="Asia/Vladivostok")  # UTC+10
    won(figures.manager, "7.00", dt.datetime(2026, 11, 30, 13, 59, tzinfo=UTC))  # 23:59 there
    board = dashboard_for(viewer=figures.manager, now=NOW)
    assert board.period.start_at == dt.datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    # 20:59 UTC on 30 November is already 1 December in Vladivostok: the 999 ₽ now count.
    assert board.rows[0].revenue == {"RUB": Decimal("1999.50"), "USD": Decimal("200.00")}


def test_a_deal_shared_with_a_manager_is_not_counted_as_theirs(figures):
    others = won(figures.colleague, "40.00", dt.datetime(2026, 12, 4, 9, 0, tzinfo=UTC))
    others.shared_with.add(figures.manager)
    board = dashboard_for(viewer=figures.manager, now=NOW)
    assert board.rows[0].revenue["RUB"] == Decimal("1000.50")


def test_an_outsiders_deal_shared_with_a_head_is_in_no_row_of_theirs(figures):
    shared = make_deal(figures.outsider, amount=Decimal("70.00"))
    shared.shared_with.add(figures.head)
    won(figures.outsider, "80.00", dt.datetime(2026, 12, 4, 9, 0, tzinfo=UTC)).shared_with.add(
        figures.head
    )
    board = dashboard_for(viewer=figures.head, now=NOW)
    assert board.total.revenue == {"RUB": Decimal("1300.50"), "USD": Decimal("200.00")}
    assert board.total.open_amount == {"RUB": Decimal("500.00")}
    assert sum(stage.count for stage in board.stages) == 2


def test_a_reassigned_and_a_reopened_deal_count_as_they_are_now(figures):
    moved = Deal.objects.get(owner=figures.manager, amount=Decimal("500.00"))
    deal_update(actor=figures.admin, pk=moved.pk, data={"owner_id": figures.colleague.pk})
    reopened = Deal.objects.get(owner=figures.colleague, status="won")
    open_stage = Stage.objects.filter(pipeline__name="Розница", kind="open").first()
    Deal.objects.filter(pk=reopened.pk).update(status="open", closed_at=None, stage=open_stage)
    people = {row.user.username: row for row in dashboard_for(viewer=figures.head, now=NOW).rows}
    assert (people["manager"].open_count, people["manager"].won_count) == (1, 2)
    assert people["colleague"].open_count == 2
    assert people["colleague"].open_amount == {"RUB": Decimal("800.00")}
    assert people["colleague"].won_count == 0 and people["colleague"].revenue == {}


def test_the_query_count_does_not_grow_with_managers(figures):
    with CaptureQueriesContext(connection) as few:
        dashboard_for(viewer=figures.head, now=NOW)
    team = Team.objects.get(name="Москва")
    for number in range(4):
        extra = UserFactory(username=f"extra{number}")
        add_member(team, extra)
        won(extra, "10.00", dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
        lead(extra, NOW - dt.timedelta(hours=1))
        make_task(extra, due_at=NOW - dt.timedelta(hours=1))
    head = type(figures.head).objects.get(pk=figures.head.pk)  # scope cache cleared
    with CaptureQueriesContext(connection) as many:
        board = dashboard_for(viewer=head, now=NOW)
    assert len(board.rows) == 7
    assert len(many) == len(few)


def test_the_home_page_shows_the_dashboard_in_russian_money(figures):
    figures.manager.language = "ru"
    figures.manager.save()
    response = client_for(figures.manager).get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "1\xa0000,50\xa0₽" in page
    assert "200,00\xa0$" in page
    assert f"?status=won&amp;owner={figures.manager.pk}" in page


def test_the_home_page_of_a_head_lists_managers_in_english(figures):
    figures.head.language = "en"
    figures.head.save()
    page = client_for(figures.head).get("/").content.decode()
    assert "Managers" in page and "1,300.50\xa0₽" in page
    assert f'data-manager="{figures.outsider.pk}"' not in page
    assert f'data-manager="{figures.colleague.pk}"' in page


def test_anonymous_visitors_are_sent_to_sign_in():
    response = client_for(None).get("/")
    assert response.status_code == 302 and "/accounts/login/" in response.url
