"""Plans and bonuses against a small hand-computed month (December 2026 in Moscow, seen on
the 7th: day 7 of 31): plan, fact, share done, forecast at the current pace, the bonus with
its threshold, scaling and cap; versions by month; who may set what; bad input named."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import client_for
from crm.accounts.models import Team
from crm.accounts.tests.factories import UserFactory, add_member
from crm.analytics.filters import ReportFilters
from crm.analytics.models import BonusRule, Plan
from crm.analytics.selectors import dashboard, dashboard_for
from crm.analytics.selectors.plans import plan_report
from crm.analytics.services import bonus_rule_set, plan_set
from crm.analytics.tests.test_dashboard import won
from crm.core.errors import PermissionDenied, ValidationFailed

pytestmark = pytest.mark.django_db

UTC = dt.UTC
DECEMBER = dt.date(2026, 12, 1)
NOVEMBER = dt.date(2026, 11, 1)


def at(moment: dt.datetime):
    return lambda: moment


@pytest.fixture
def month(org, settings, monkeypatch):
    settings.TIME_ZONE = "Europe/Moscow"
    monkeypatch.setattr(dashboard, "clock", at(dt.datetime(2026, 12, 7, 9, 0, tzinfo=UTC)))
    team_a = Team.objects.get(name="Москва")
    # December: the manager wins 300 000 ₽ and 100 $, the colleague 900 000 ₽, the
    # outsider (another team) 50 000 ₽; 777 ₽ of the manager's closed on 30 November.
    won(org.manager, "300000.00", dt.datetime(2026, 12, 3, 10, 0, tzinfo=UTC))
    won(org.manager, "100.00", dt.datetime(2026, 12, 4, 10, 0, tzinfo=UTC), "USD")
    won(org.manager, "777.00", dt.datetime(2026, 11, 30, 20, 0, tzinfo=UTC))
    won(org.colleague, "900000.00", dt.datetime(2026, 12, 4, 10, 0, tzinfo=UTC))
    won(org.outsider, "50000.00", dt.datetime(2026, 12, 5, 10, 0, tzinfo=UTC))
    # Plans and the rule as they were set in November (history, so written directly).
    for manager, target in ((org.manager, "400000"), (org.colleague, "400000")):
        Plan.objects.create(
            metric="revenue_won",
            manager=manager,
            currency="RUB",
            effective_from=NOVEMBER,
            target=Decimal(target),
        )
    Plan.objects.create(
        metric="deals_won", manager=org.manager, effective_from=NOVEMBER, target=Decimal(4)
    )
    Plan.objects.create(
        metric="revenue_won",
        team=team_a,
        currency="RUB",
        effective_from=DECEMBER,
        target=Decimal(1000000),
    )
    BonusRule.objects.create(
        team=team_a,
        effective_from=NOVEMBER,
        currency="RUB",
        percent=Decimal(10),
        threshold=Decimal(100000),
        cap=Decimal(30000),
    )
    org.team_a = team_a
    org.team_b = Team.objects.get(name="Питер")
    return org


def rows_of(report):
    return {row.user.username: row for block in report.blocks for row in block.members}


def test_plan_fact_done_forecast_and_bonus_by_hand(month):
    report = plan_report(viewer=month.head, month=DECEMBER, filters=ReportFilters())
    assert report.elapsed_days == 7 and report.period.days == 31
    [block] = report.blocks
    assert block.team == month.team_a
    rows = rows_of(report)
    manager, colleague, head = rows["manager"], rows["colleague"], rows["head"]

    revenue = manager.line("revenue_won", "RUB")
    assert (revenue.target, revenue.fact, revenue.done) == (
        Decimal("400000.00"),
        Decimal("300000.00"),
        0.75,
    )
    # 300 000 in 7 days of 31: 300 000 × 31 / 7 = 1 328 571,43.
    assert revenue.forecast == Decimal("1328571.43")
    deals = manager.line("deals_won")
    assert (deals.target, deals.fact, deals.done) == (Decimal(4), Decimal(2), 0.5)
    # 2 deals in 7 days of 31: 2 × 31 / 7 = 8,857… ≈ 8,86, 221 % of the plan.
    assert deals.forecast == Decimal("8.86") and round(deals.forecast_done, 3) == 2.215

    # 10 % of (300 000 − 100 000) = 20 000, × 0.75 of the plan done = 15 000 (under the cap).
    bonus = manager.bonus
    assert (bonus.above, bonus.base, bonus.scale, bonus.bonus, bonus.capped) == (
        Decimal("200000.00"),
        Decimal("20000.00"),
        Decimal("0.7500"),
        Decimal("15000.00"),
        False,
    )
    # 10 % of 800 000 = 80 000, plan over-done scales by 1, capped at 30 000.
    assert (colleague.bonus.base, colleague.bonus.scale, colleague.bonus.bonus) == (
        Decimal("80000.00"),
        Decimal("1.0000"),
        Decimal("30000.00"),
    )
    assert colleague.bonus.capped
    # Nothing above the threshold: no bonus; without a plan the scale is 1.
    assert (head.bonus.above, head.bonus.scale, head.bonus.bonus) == (
        Decimal("0.00"),
        Decimal("1.0000"),
        Decimal("0.00"),
    )
    # The team: its own plan against its members' sum; the bonuses summed per currency.
    team_revenue = block.total.line("revenue_won", "RUB")
    assert (team_revenue.target, team_revenue.fact, team_revenue.done) == (
        Decimal("1000000.00"),
        Decimal("1200000.00"),
        1.2,
    )
    assert block.total.line("deals_won").fact == Decimal(3)
    assert block.total.bonus_total == {"RUB": Decimal("45000.00")}
    # Rows by plan done: the colleague (225 %), the manager (75 %), the head (no plan).
    assert [row.user.username for row in block.members] == ["colleague", "manager", "head"]


def test_a_closed_month_keeps_its_forecast_equal_to_the_fact(month):
    report = plan_report(viewer=month.admin, month=NOVEMBER, filters=ReportFilters())
    manager = rows_of(report)["manager"].line("revenue_won", "RUB")
    assert (manager.fact, manager.forecast, manager.target) == (
        Decimal("777.00"),
        Decimal("777.00"),
        Decimal("400000.00"),
    )
    # The team's plan starts in December: none in November.
    team = next(block for block in report.blocks if block.team == month.team_a)
    assert team.total.line("revenue_won", "RUB").target is None


def test_a_manager_counts_only_their_own_figures(month):
    report = plan_report(viewer=month.manager, month=DECEMBER, filters=ReportFilters())
    assert list(rows_of(report)) == ["manager"]
    total = report.blocks[0].total.line("revenue_won", "RUB")
    assert total.fact == Decimal("300000.00")


def managers_revenue_plan(org, month: dt.date, target: str) -> Plan:
    return plan_set(
        actor=org.head,
        metric="revenue_won",
        month=month,
        target=target,
        manager=org.manager,
        currency="RUB",
    )


def test_a_plan_changed_after_its_month_does_not_rewrite_it(month):
    # In December the head raises the manager's plan from December on; November keeps
    # 400 000, and November itself can no longer be changed.
    managers_revenue_plan(month, DECEMBER, "500000")
    with pytest.raises(ValidationFailed) as refused:
        managers_revenue_plan(month, NOVEMBER, "1")
    assert list(refused.value.field_errors) == ["month"]
    november = plan_report(viewer=month.head, month=NOVEMBER, filters=ReportFilters())
    december = plan_report(viewer=month.head, month=DECEMBER, filters=ReportFilters())
    january = plan_report(viewer=month.head, month=dt.date(2027, 1, 1), filters=ReportFilters())
    assert rows_of(november)["manager"].line("revenue_won", "RUB").target == Decimal(400000)
    assert rows_of(december)["manager"].line("revenue_won", "RUB").target == Decimal(500000)
    assert rows_of(january)["manager"].line("revenue_won", "RUB").target == Decimal(500000)
    # Setting December again replaces December's version, not adds one.
    managers_revenue_plan(month, DECEMBER, "450000")
    assert Plan.objects.filter(manager=month.manager, metric="revenue_won").count() == 2
    # A bonus rule changed from January leaves December's bonus as it was.
    bonus_rule_set(
        actor=month.head,
        team=month.team_a,
        month=dt.date(2027, 1, 1),
        currency="RUB",
        percent="50",
        threshold="0",
    )
    december = plan_report(viewer=month.head, month=DECEMBER, filters=ReportFilters())
    assert rows_of(december)["colleague"].bonus.bonus == Decimal("30000.00")
    january = plan_report(viewer=month.head, month=dt.date(2027, 1, 1), filters=ReportFilters())
    assert january.blocks[0].rule.percent == Decimal(50)


@pytest.mark.parametrize(
    ("who", "target", "allowed"),
    [
        ("manager", "manager", False),
        ("manager", "team_a", False),
        ("viewer", "team_a", False),
        ("head", "team_a", True),
        ("head", "colleague", True),
        ("head", "team_b", False),
        ("head", "outsider", False),
        ("admin", "team_b", True),
        ("admin", "outsider", True),
    ],
)
def test_who_may_set_plans_and_rules(month, who, target, allowed):
    actor = getattr(month, who)
    subject = getattr(month, target)
    is_team = isinstance(subject, Team)

    def set_plan():
        return plan_set(
            actor=actor,
            metric="deals_won",
            month=DECEMBER,
            target="3",
            manager=None if is_team else subject,
            team=subject if is_team else None,
        )

    def set_rule():
        return bonus_rule_set(
            actor=actor, team=subject, month=DECEMBER, currency="RUB", percent="5", threshold="0"
        )

    calls = [set_plan, set_rule] if is_team else [set_plan]
    for call in calls:
        if allowed:
            assert call().pk
        else:
            with pytest.raises(PermissionDenied):
                call()


def test_the_dashboard_shows_plan_progress_and_sorts_by_plan_done(month):
    mine = dashboard_for(viewer=month.manager)
    [row] = mine.rows
    assert (row.revenue_plan, row.plan_currency, row.revenue_done) == (
        Decimal("400000.00"),
        "RUB",
        0.75,
    )
    assert row.deals_done == 0.5
    page = client_for(month.manager).get("/")
    assert 'data-plan="revenue"' in page.content.decode()
    board = dashboard_for(viewer=month.head)
    assert [row.user.username for row in board.rows][:2] == ["colleague", "manager"]


def test_the_page_shows_the_figures_and_the_forms_to_those_who_may(month):
    page = client_for(month.head).get("/reports/plans/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="plan-form"' in text and 'id="plans-chart"' in text
    assert "15\u00a0000,00\u00a0₽" in text or "15,000.00\u00a0₽" in text
    mine = client_for(month.manager).get("/reports/plans/")
    assert mine.status_code == 200 and 'id="plan-form"' not in mine.content.decode()


def test_the_page_form_saves_a_plan_and_refuses_a_manager(month):
    form = {
        "plan-metric": "deals_won",
        "plan-manager": month.colleague.pk,
        "plan-month": "2026-12",
        "plan-target": "5",
        "plan-currency": "",
    }
    saved = client_for(month.head).post("/reports/plans/plan/", form)
    assert saved.status_code == 302
    assert Plan.objects.get(manager=month.colleague, metric="deals_won").target == 5
    bad = client_for(month.head).post("/reports/plans/plan/", {**form, "plan-target": "-1"})
    assert bad.status_code == 422 and "is-invalid" in bad.content.decode()
    assert client_for(month.manager).post("/reports/plans/plan/", form).status_code == 403
    rule = {
        "bonus-team": month.team_a.pk,
        "bonus-month": "2027-01",
        "bonus-currency": "RUB",
        "bonus-percent": "7,5",
        "bonus-threshold": "0",
        "bonus-cap": "",
    }
    assert client_for(month.head).post("/reports/plans/bonus-rule/", rule).status_code == 302
    assert BonusRule.objects.get(effective_from=dt.date(2027, 1, 1)).percent == Decimal("7.50")


def test_the_export_carries_the_bonus_breakdown(month):
    answer = client_for(month.head).get("/reports/plans/export/", {"format": "csv"})
    assert answer.status_code == 200
    text = answer.content.decode("utf-8-sig")
    assert "15000.00" in text and "30000.00" in text
    assert client_for(month.head).get("/reports/plans/export/", {"month": "x"}).status_code == 400


def test_the_plan_report_as_json(month):
    answer = client_for(month.head).get("/api/v1/reports/plans", {"month": "2026-12"})
    assert answer.status_code == 200
    body = answer.json()
    [team] = body["teams"]
    assert team["bonus_total"] == [{"currency": "RUB", "amount": "45000.00"}]
    manager = next(row for row in team["managers"] if row["manager_id"] == month.manager.pk)
    assert manager["bonus"]["bonus"] == "15000.00" and manager["bonus"]["scale"] == "0.7500"
    revenue = next(line for line in manager["lines"] if line["metric"] == "revenue_won")
    assert (revenue["plan"], revenue["fact"], revenue["done"]) == ("400000.00", "300000.00", 0.75)


def test_plans_and_rules_through_the_api_by_those_who_may(month):
    plan = {
        "metric": "revenue_won",
        "month": "2026-12",
        "target": "123.45",
        "manager_id": month.colleague.pk,
        "currency": "RUB",
    }
    head = client_for(month.head)
    answer = head.put("/api/v1/reports/plans", plan, content_type="application/json")
    assert answer.status_code == 200 and answer.json()["target"] == "123.45"
    manager = client_for(month.manager)
    refused = manager.put("/api/v1/reports/plans", plan, content_type="application/json")
    assert refused.status_code == 403
    outsider = {**plan, "manager_id": month.outsider.pk}
    hidden = head.put("/api/v1/reports/plans", outsider, content_type="application/json")
    assert hidden.status_code == 422 and "manager_id" in hidden.json()["errors"]
    rule = {
        "team_id": month.team_a.pk,
        "month": "2027-01",
        "currency": "RUB",
        "percent": 5,
        "threshold": "1000",
        "cap": None,
    }
    answer = head.put("/api/v1/reports/bonus-rules", rule, content_type="application/json")
    assert answer.status_code == 200 and answer.json()["month"] == "2027-01"
    other = {**rule, "team_id": month.team_b.pk}
    answer = head.put("/api/v1/reports/bonus-rules", other, content_type="application/json")
    assert answer.status_code == 422 and "team_id" in answer.json()["errors"]
    admin = client_for(month.admin)
    answer = admin.put("/api/v1/reports/bonus-rules", other, content_type="application/json")
    assert answer.status_code == 200
    listed = head.get("/api/v1/reports/bonus-rules", {"month": "2027-01"}).json()
    assert [(row["team_id"], row["percent"]) for row in listed] == [(month.team_a.pk, "5.00")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"metric": "calls_everywhere"}, "metric"),
        ({"month": "2026-13"}, "month"),
        ({"month": "2026-11"}, "month"),
        ({"target": "-5"}, "target"),
        ({"target": "lots"}, "target"),
        ({"currency": ""}, "currency"),
        ({"currency": "XXX"}, "currency"),
        ({"metric": "deals_won"}, "currency"),
        ({"manager_id": None}, "manager"),
        ({"team_id": 1, "manager_id": None}, None),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_plan_input_answers_4xx_naming_the_field(month, change, field):
    plan = {
        "metric": "revenue_won",
        "month": "2026-12",
        "target": "1000",
        "manager_id": month.manager.pk,
        "currency": "RUB",
    }
    if "team_id" in change:
        change = {**change, "team_id": month.team_a.pk}
    body = {**plan, **change}
    answer = client_for(month.head).put(
        "/api/v1/reports/plans", body, content_type="application/json"
    )
    if field is None:
        assert answer.status_code == 200
        return
    assert answer.status_code in (400, 422)
    assert field in answer.json()["errors"] or field in answer.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"month": "12/2026"}, "month"), ({"team": 999999}, "team"), ({"colour": "red"}, "colour")],
)
def test_bad_report_parameters_answer_422_naming_them(month, params, field):
    answer = client_for(month.head).get("/api/v1/reports/plans", params)
    assert answer.status_code == 422 and field in answer.json()["errors"]


def test_the_report_reads_a_fixed_number_of_queries(month):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            plan_report(viewer=month.admin, month=DECEMBER, filters=ReportFilters())
        return len(queries)

    before = count()
    for index in range(3):
        extra = UserFactory(username=f"extra{index}")
        add_member(month.team_b, extra)
        won(extra, "10.00", dt.datetime(2026, 12, 2, 10, 0, tzinfo=UTC))
        Plan.objects.create(
            metric="deals_won", manager=extra, effective_from=DECEMBER, target=Decimal(1)
        )
    assert count() == before
