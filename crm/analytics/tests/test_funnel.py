"""The funnel against a hand-computed pipeline history: a skipped stage, a move back, a
reopened deal, a lost deal with and without a reason, two currencies, the period's edge in
two zones, and a manager who does not count a colleague's deals."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from conftest import client_for
from crm.analytics.filters import ReportFilters
from crm.analytics.periods import period_parse
from crm.analytics.selectors.funnel import funnel_report
from crm.sales.models import Deal, LostReason, Stage, StageVisit
from crm.sales.services.visits import visits_settle
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db

DAY = 86400
MOSCOW = ZoneInfo("Europe/Moscow")
DECEMBER = period_parse({"period": "this_month"}, today=dt.date(2026, 12, 7), zone=MOSCOW)
NEW, INVOICE, PAID, SHIPPED, REFUSED = "Новая", "Счёт выставлен", "Оплачено", "Отгружено", "Отказ"


def day(number: int, month: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, number, 9, 0, tzinfo=dt.UTC)


def history(owner, steps, amount="100.00", currency="RUB", reason=None) -> Deal:
    """A deal of the retail pipeline that went through ``steps`` (stage name, moment): each
    stay ends when the next begins, the last goes on, and the deal has been in its stage
    since then, made at its first move (as the services write it: ``crm.sales.reach.period_deals``
    relies on it)."""
    stages = {stage.name: stage for stage in Stage.objects.filter(pipeline__name="Розница")}
    last = stages[steps[-1][0]]
    status = {"open": "open", "won": "won", "lost": "lost"}[last.kind]
    deal = make_deal(
        owner,
        stage=last,
        status=status,
        amount=Decimal(amount),
        currency=currency,
        lost_reason=LostReason.objects.get(name=reason) if reason else None,
        stage_entered_at=steps[-1][1],
    )
    for index, (name, moment) in enumerate(steps):
        left = steps[index + 1][1] if index + 1 < len(steps) else None
        StageVisit.objects.create(
            deal=deal, stage=stages[name], entered_at=moment, left_at=left, owner=owner
        )
    visits_settle([deal.pk])  # as every move does
    Deal.objects.filter(pk=deal.pk).update(created_at=steps[0][1])
    deal.created_at = steps[0][1]
    return deal


@pytest.fixture
def pipeline_history(org):
    manager = org.manager
    history(manager, [(NEW, day(1)), (INVOICE, day(2)), (PAID, day(4)), (SHIPPED, day(5))], "1000")
    history(manager, [(NEW, day(1)), (PAID, day(3)), (REFUSED, day(6))], "500", reason="Дорого")
    history(
        manager, [(NEW, day(2)), (INVOICE, day(3)), (NEW, day(4)), (INVOICE, day(6))], "100", "USD"
    )
    history(manager, [(NEW, day(1)), (REFUSED, day(2))], "200")
    history(manager, [(NEW, day(1)), (SHIPPED, day(3)), (INVOICE, day(5))], "300")  # reopened
    history(manager, [(NEW, day(10, 11)), (INVOICE, day(12, 11))], "800")  # November only
    history(org.colleague, [(NEW, day(1)), (SHIPPED, day(2))], "999")
    return org


def stages_of(funnel):
    return {row.stage.name: row for row in funnel.stages}


def test_reached_counts_each_deal_once_at_every_stage_it_passed(pipeline_history):
    funnel = funnel_report(
        viewer=pipeline_history.manager, period=DECEMBER, filters=ReportFilters()
    )
    rows = stages_of(funnel)
    assert list(rows) == [NEW, INVOICE, PAID]
    assert (funnel.deals, funnel.won, funnel.lost) == (5, 1, 2)
    assert [rows[name].reached for name in rows] == [5, 4, 2]
    assert [rows[name].entered for name in rows] == [5, 3, 2]
    assert [rows[name].returns for name in rows] == [1, 1, 0]
    assert [rows[name].skipped for name in rows] == [0, 1, 0]


def test_conversions_and_amounts_per_currency(pipeline_history):
    funnel = funnel_report(
        viewer=pipeline_history.manager, period=DECEMBER, filters=ReportFilters()
    )
    rows = stages_of(funnel)
    assert [rows[name].conversion for name in rows] == [0.8, 0.5, 0.5]
    assert funnel.first_to_won == 0.2
    assert rows[NEW].amount == {"RUB": Decimal("2000"), "USD": Decimal("100")}
    assert rows[INVOICE].amount == {"RUB": Decimal("1800"), "USD": Decimal("100")}
    assert rows[PAID].amount == {"RUB": Decimal("1500")}
    assert funnel.won_amount == {"RUB": Decimal("1000")}
    assert funnel.lost_amount == {"RUB": Decimal("700")}


def test_time_in_stage_median_and_90th_percentile(pipeline_history):
    funnel = funnel_report(
        viewer=pipeline_history.manager, period=DECEMBER, filters=ReportFilters()
    )
    rows = stages_of(funnel)
    # Ended stays: new 1,2,1,2,1,2 days; invoice 2,1; paid 1,3.
    assert rows[NEW].median_seconds == pytest.approx(1.5 * DAY)
    assert rows[NEW].p90_seconds == pytest.approx(2 * DAY)
    assert rows[INVOICE].median_seconds == pytest.approx(1.5 * DAY)
    assert rows[INVOICE].p90_seconds == pytest.approx(1.9 * DAY)
    assert rows[PAID].median_seconds == pytest.approx(2 * DAY)
    assert rows[PAID].p90_seconds == pytest.approx(2.8 * DAY)


def test_lost_reasons_at_the_furthest_stage_reached(pipeline_history):
    with translation.override("en"):
        funnel = funnel_report(
            viewer=pipeline_history.manager, period=DECEMBER, filters=ReportFilters()
        )
    rows = stages_of(funnel)
    assert rows[PAID].lost_reasons == [("Дорого", 1)]
    assert rows[NEW].lost_reasons == [("No reason given", 1)]
    assert rows[INVOICE].lost_reasons == []


def test_a_head_counts_the_colleagues_deals_and_a_manager_does_not(pipeline_history):
    head = funnel_report(viewer=pipeline_history.head, period=DECEMBER, filters=ReportFilters())
    assert (head.deals, head.won) == (6, 2)
    only = ReportFilters(manager=pipeline_history.colleague)
    colleague = funnel_report(viewer=pipeline_history.head, period=DECEMBER, filters=only)
    assert (colleague.deals, colleague.won) == (1, 1)
    outsider = funnel_report(
        viewer=pipeline_history.outsider, period=DECEMBER, filters=ReportFilters()
    )
    assert outsider.deals == 0 and [row.reached for row in outsider.stages] == [0, 0, 0]


def test_the_period_edge_is_midnight_in_the_users_zone(org):
    history(org.manager, [(NEW, dt.datetime(2026, 11, 30, 20, 59, tzinfo=dt.UTC))])
    history(org.manager, [(NEW, dt.datetime(2026, 11, 30, 21, 0, tzinfo=dt.UTC))])
    in_moscow = funnel_report(viewer=org.manager, period=DECEMBER, filters=ReportFilters())
    assert in_moscow.deals == 1
    vladivostok = ZoneInfo("Asia/Vladivostok")
    far = period_parse({"period": "this_month"}, today=dt.date(2026, 12, 7), zone=vladivostok)
    assert funnel_report(viewer=org.manager, period=far, filters=ReportFilters()).deals == 2


# --- the page ---------------------------------------------------------------------------


def test_the_funnel_page_shows_the_figures_and_the_chart_data(pipeline_history, monkeypatch):
    from crm.analytics.selectors import dashboard

    monkeypatch.setattr(dashboard, "clock", lambda: day(7))
    client = client_for(pipeline_history.manager)
    response = client.get("/reports/funnel/", {"period": "this_month"})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="funnel-data"' in page and '"value": 5' in page
    assert 'id="funnel-deals">5<' in page
    assert re.search(r'data-figure="reached"><a href="[^"]+">4</a>', page)  # the invoice stage


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"period": "custom", "date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_to"),
        ({"period": "custom", "date_from": "2019-01-01", "date_to": "2026-01-01"}, "date_to"),
        ({"period": "someday"}, "period"),
        ({"pipeline": "999999"}, "pipeline"),
        ({"pipeline": "x"}, "pipeline"),
        ({"source": "pigeon"}, "source"),
        ({"client_type": "alien"}, "client_type"),
        ({"team": "999999"}, "team"),
        ({"product": "999999"}, "product"),
        ({"product": "x"}, "product"),
    ],
)
def test_bad_input_answers_400_naming_the_parameter(org, params, parameter):
    response = client_for(org.manager).get("/reports/funnel/", params)
    assert response.status_code == 400
    assert f"<code>{parameter}</code>" in response.content.decode()


def test_a_manager_may_not_ask_for_a_colleagues_funnel(org):
    response = client_for(org.manager).get("/reports/funnel/", {"manager": org.colleague.pk})
    assert response.status_code == 400
    assert "<code>manager</code>" in response.content.decode()
    allowed = client_for(org.head).get("/reports/funnel/", {"manager": org.colleague.pk})
    assert allowed.status_code == 200
    other_team = client_for(org.head).get("/reports/funnel/", {"manager": org.outsider.pk})
    assert other_team.status_code == 400
