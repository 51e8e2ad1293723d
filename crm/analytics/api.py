"""``/api/v1/reports/…``: the reports' figures as JSON, with the same period, filters and
refusals as the pages (a refused parameter answers 422 naming it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field, Strict, StringConstraints

from crm.accounts.models import User
from crm.analytics.filters import managers_for, teams_for
from crm.analytics.inputs import plan_input, report_input
from crm.analytics.models import BonusRule
from crm.analytics.periods import Period
from crm.analytics.permissions import PLANS
from crm.analytics.selectors.activity import ActivityRow, activity_report
from crm.analytics.selectors.clients import (
    MAX_DAYS,
    ClientsReport,
    clients_report,
    days_parse,
    page_parse,
)
from crm.analytics.selectors.forecast import (
    MAX_MONTHS,
    ForecastReport,
    ForecastRow,
    forecast_report,
    months_parse,
)
from crm.analytics.selectors.funnel import Funnel, funnel_report
from crm.analytics.selectors.leads import LeadRow, leads_report
from crm.analytics.selectors.plans import (
    BonusBreakdown,
    PlanReport,
    PlanRow,
    plan_report,
    rules_in_force,
)
from crm.analytics.selectors.sales import (
    SalesReport,
    SalesRow,
    SalesSummary,
    bucket_parse,
    sales_report,
)
from crm.analytics.services import bonus_rule_set, current_month, month_parse, plan_set
from crm.core.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    DatabaseId,
    InputSchema,
    IsoDate,
    request_user,
)
from crm.core.errors import ValidationFailed

router = Router(tags=["Reports"])
CENT = Decimal("0.01")

Word = Annotated[str, StringConstraints(max_length=20)]
PeriodName = Literal[
    "this_week",
    "this_month",
    "this_quarter",
    "this_year",
    "last_week",
    "last_month",
    "last_quarter",
    "last_year",
    "custom",
]


class ReportParams(Schema):
    """The period (a preset, or ``custom`` with both dates) and the filters. Unknown
    parameters are refused."""

    model_config = ConfigDict(extra="forbid")

    period: PeriodName = "this_month"
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None
    pipeline: DatabaseId | None = None
    team: DatabaseId | None = None
    manager: DatabaseId | None = None
    source: Word = ""
    client_type: Word = ""

    def as_params(self) -> dict[str, Any]:
        return {key: value for key, value in self.model_dump().items() if value is not None}


class DealReportParams(ReportParams):
    """The period and the filters of a report of deals, which takes a product too."""

    product: DatabaseId | None = Field(None, description="Deals with a line of this product")


class SalesParams(DealReportParams):
    bucket: Literal["day", "week", "month"] | None = None


class PeriodOut(Schema):
    date_from: dt.date
    date_to: dt.date
    time_zone: str


class MoneyOut(Schema):
    currency: str
    amount: Decimal


class ReasonOut(Schema):
    reason: str
    deals: int


class FunnelStageOut(Schema):
    stage_id: int
    name: str
    reached: int
    reached_before: int | None
    entered: int
    skipped: int
    moves_back: int
    conversion_to_next: float | None
    amount: list[MoneyOut]
    median_seconds: float | None
    p90_seconds: float | None
    lost_reasons: list[ReasonOut]


class FunnelOut(Schema):
    pipeline_id: int
    pipeline: str
    period: PeriodOut
    previous_period: PeriodOut
    deals: int
    won: int
    lost: int
    won_before: int
    first_to_won: float | None
    won_amount: list[MoneyOut]
    lost_amount: list[MoneyOut]
    stages: list[FunnelStageOut]


class SalesRowOut(Schema):
    key: str | None
    label: str
    won_count: int
    won: list[MoneyOut]
    received: list[MoneyOut]


class SalesSummaryOut(Schema):
    won_count: int
    lost_count: int
    win_rate: float | None
    won: list[MoneyOut]
    received: list[MoneyOut]
    average_won: list[MoneyOut]
    median_cycle_days: float | None


class ProductRowOut(Schema):
    product_id: int | None = Field(description="None: lines without a product, deals without lines")
    label: str
    deals: int
    won: list[MoneyOut] = Field(description="Line totals of the deals won, per deal currency")


class SalesOut(Schema):
    period: PeriodOut
    previous_period: PeriodOut
    bucket: str
    summary: SalesSummaryOut
    previous: SalesSummaryOut
    timeline: list[SalesRowOut]
    by_manager: list[SalesRowOut]
    by_source: list[SalesRowOut]
    by_client_type: list[SalesRowOut]
    by_product: list[ProductRowOut]


def _period(period: Period) -> dict[str, Any]:
    return {"date_from": period.start, "date_to": period.end, "time_zone": str(period.zone)}


def _money(amounts: dict[str, Decimal]) -> list[dict[str, Any]]:
    return [{"currency": key, "amount": amounts[key].quantize(CENT)} for key in sorted(amounts)]


def _refuse_unknown(request: HttpRequest, schema: type[Schema]) -> None:
    """Ninja reads only the declared query parameters; an undeclared one (a typo of a
    filter) is refused rather than silently ignored."""
    unknown = sorted(set(request.GET) - set(schema.model_fields))
    if unknown:
        raise ValidationFailed(field_errors={name: [_("Unknown parameter.")] for name in unknown})


def _funnel(funnel: Funnel, before: Funnel) -> dict[str, Any]:
    earlier = {row.stage.pk: row.reached for row in before.stages}
    return {
        "pipeline_id": funnel.pipeline.pk,
        "pipeline": funnel.pipeline.name,
        "period": _period(funnel.period),
        "previous_period": _period(before.period),
        "deals": funnel.deals,
        "won": funnel.won,
        "lost": funnel.lost,
        "won_before": before.won,
        "first_to_won": funnel.first_to_won,
        "won_amount": _money(funnel.won_amount),
        "lost_amount": _money(funnel.lost_amount),
        "stages": [
            {
                "stage_id": row.stage.pk,
                "name": row.stage.name,
                "reached": row.reached,
                "reached_before": earlier.get(row.stage.pk),
                "entered": row.entered,
                "skipped": row.skipped,
                "moves_back": row.returns,
                "conversion_to_next": row.conversion,
                "amount": _money(row.amount),
                "median_seconds": row.median_seconds,
                "p90_seconds": row.p90_seconds,
                "lost_reasons": [
                    {"reason": name, "deals": count} for name, count in row.lost_reasons
                ],
            }
            for row in funnel.stages
        ],
    }


def _rows(rows: list[SalesRow]) -> list[dict[str, Any]]:
    return [
        {
            "key": None if row.key in (None, "") else str(row.key),
            "label": row.label,
            "won_count": row.won_count,
            "won": _money(row.won),
            "received": _money(row.received),
        }
        for row in rows
    ]


def _summary(summary: SalesSummary) -> dict[str, Any]:
    return {
        "won_count": summary.won_count,
        "lost_count": summary.lost_count,
        "win_rate": summary.win_rate,
        "won": _money(summary.won),
        "received": _money(summary.received),
        "average_won": _money(summary.average),
        "median_cycle_days": summary.median_cycle_days,
    }


def _sales(report: SalesReport) -> dict[str, Any]:
    return {
        "period": _period(report.period),
        "previous_period": _period(report.period.previous()),
        "bucket": report.bucket,
        "summary": _summary(report.summary),
        "previous": _summary(report.before),
        "timeline": _rows(report.timeline),
        "by_manager": _rows(report.by_manager),
        "by_source": _rows(report.by_source),
        "by_client_type": _rows(report.by_client_type),
        "by_product": [
            {
                "product_id": row.product_id,
                "label": row.label,
                "deals": row.deals,
                "won": _money(row.won),
            }
            for row in report.by_product
        ],
    }


@router.get("/funnel", response={200: FunnelOut, **READ_ERRORS}, summary="Funnel report")
def funnel(request: HttpRequest, params: Query[DealReportParams]) -> Any:
    """The funnel of a pipeline (the first live one without ``pipeline``) over the period,
    counting the deals the caller may see, with the period before for comparison. The deals
    behind a stage's figure: ``GET /api/v1/deals?reached_stage=&reached_from=&reached_to=``."""
    _refuse_unknown(request, DealReportParams)
    viewer = request_user(request)
    period, filters = report_input(params.as_params(), viewer=viewer, product=True)
    report = funnel_report(viewer=viewer, period=period, filters=filters)
    before = funnel_report(viewer=viewer, period=period.previous(), filters=filters, stays=False)
    return _funnel(report, before)


@router.get("/sales", response={200: SalesOut, **READ_ERRORS}, summary="Sales report")
def sales(request: HttpRequest, params: Query[SalesParams]) -> Any:
    """Deals won (by closing moment) and payments received (by day), per currency, in time
    and by manager, source and client type; the deals won's line totals by product; win
    rate, average deal, median cycle."""
    _refuse_unknown(request, SalesParams)
    viewer = request_user(request)
    values = params.as_params()
    period, filters = report_input(values, viewer=viewer, product=True)
    bucket = bucket_parse(values.get("bucket"), period)
    return _sales(sales_report(viewer=viewer, period=period, filters=filters, bucket=bucket))


def _report_of(request: HttpRequest, params: ReportParams, select: Callable[..., Any]) -> Any:
    """The report ``select(viewer=, period=, filters=)`` gives for the caller and the query's
    period and filters; an undeclared or refused parameter raises ``ValidationFailed``."""
    _refuse_unknown(request, ReportParams)
    viewer = request_user(request)
    period, filters = report_input(params.as_params(), viewer=viewer)
    return select(viewer=viewer, period=period, filters=filters)


class LeadRowOut(Schema):
    key: str | None
    label: str
    leads: int
    kinds: dict[str, int]
    converted: int
    won: int
    won_share: float | None
    revenue: list[MoneyOut]
    median_response_seconds: float | None
    with_deadline: int
    answered_in_time: int
    answered_in_time_share: float | None


class LeadsOut(Schema):
    period: PeriodOut
    previous_period: PeriodOut
    total: LeadRowOut
    previous: LeadRowOut
    by_channel: list[LeadRowOut]
    by_form: list[LeadRowOut]
    by_kind: list[LeadRowOut]
    by_manager: list[LeadRowOut]


class ActivityRowOut(Schema):
    user_id: int | None
    name: str
    calls: int
    calls_outgoing: int
    calls_incoming: int
    calls_missed: int
    calls_logged: int
    calls_telephony: int
    talk_seconds: int
    meetings: int
    emails: int
    notes: int
    tasks_done_on_time: int
    tasks_done_late: int
    tasks_overdue_now: int
    leads_taken: int
    leads_answered_in_time: int
    deals_won: int
    revenue: list[MoneyOut]


class ActivityOut(Schema):
    period: PeriodOut
    rows: list[ActivityRowOut]
    total: ActivityRowOut


def _lead_row(row: LeadRow) -> dict[str, Any]:
    return {
        "key": None if row.key in (None, "") else str(row.key),
        "label": row.label,
        "leads": row.leads,
        "kinds": row.kinds,
        "converted": row.converted,
        "won": row.won,
        "won_share": row.won_share,
        "revenue": _money(row.revenue),
        "median_response_seconds": row.median_response_seconds,
        "with_deadline": row.with_deadline,
        "answered_in_time": row.in_time,
        "answered_in_time_share": row.in_time_share,
    }


def _activity_row(row: ActivityRow) -> dict[str, Any]:
    return {
        "user_id": row.user.pk if row.user is not None else None,
        "name": row.label,
        "calls": row.calls,
        "calls_outgoing": row.calls_out,
        "calls_incoming": row.calls_in,
        "calls_missed": row.calls_missed,
        "calls_logged": row.calls_logged,
        "calls_telephony": row.calls_telephony,
        "talk_seconds": row.talk_seconds,
        "meetings": row.meetings,
        "emails": row.emails,
        "notes": row.notes,
        "tasks_done_on_time": row.tasks_on_time,
        "tasks_done_late": row.tasks_late,
        "tasks_overdue_now": row.tasks_overdue,
        "leads_taken": row.leads_taken,
        "leads_answered_in_time": row.leads_in_time,
        "deals_won": row.won_count,
        "revenue": _money(row.revenue),
    }


@router.get("/leads", response={200: LeadsOut, **READ_ERRORS}, summary="Leads and channels report")
def leads(request: HttpRequest, params: Query[ReportParams]) -> Any:
    """Leads that arrived in the period by channel, web form, classification and manager:
    conversion to won deals and revenue per currency, median first response and the share
    answered within the deadline, with the period before's totals."""
    report = _report_of(request, params, leads_report)
    return {
        "period": _period(report.period),
        "previous_period": _period(report.period.previous()),
        "total": _lead_row(report.total),
        "previous": _lead_row(report.before),
        "by_channel": [_lead_row(row) for row in report.by_channel],
        "by_form": [_lead_row(row) for row in report.by_form],
        "by_kind": [_lead_row(row) for row in report.by_kind],
        "by_manager": [_lead_row(row) for row in report.by_manager],
    }


@router.get(
    "/activity", response={200: ActivityOut, **READ_ERRORS}, summary="Managers' activity report"
)
def activity(request: HttpRequest, params: Query[ReportParams]) -> Any:
    """Per manager the caller may see: calls (by direction, by hand or from telephony, talk
    time), meetings, e-mails, notes, tasks on time / late / overdue now, leads taken and
    answered in time, deals won and revenue per currency; and their sum."""
    report = _report_of(request, params, activity_report)
    return {
        "period": _period(report.period),
        "rows": [_activity_row(row) for row in report.rows],
        "total": _activity_row(report.total),
    }


# Plans and bonuses: the plan report (GET), and plans and bonus rules set by those who may.

Number = (
    Annotated[str, StringConstraints(max_length=40)]
    | Annotated[int, Strict()]
    | Annotated[float, Strict()]
)
"""A number as text (``"1234.50"``) or a JSON number (never a yes/no); the services parse it."""
MonthText = Annotated[str, StringConstraints(max_length=10)]


class PlanParams(Schema):
    """The month (``YYYY-MM``; the caller's current month without it), a team, a manager."""

    model_config = ConfigDict(extra="forbid")

    month: MonthText | None = None
    team: DatabaseId | None = None
    manager: DatabaseId | None = None


class BonusOut(Schema):
    team_id: int
    currency: str
    revenue: Decimal
    threshold: Decimal
    above_threshold: Decimal
    percent: Decimal
    base: Decimal
    revenue_plan: Decimal | None
    scale: Decimal
    scaled: Decimal
    cap: Decimal | None
    capped: bool
    bonus: Decimal


class PlanLineOut(Schema):
    metric: str
    label: str
    currency: str
    plan: Decimal | None
    fact: Decimal
    done: float | None
    forecast: Decimal | None


class PlanRowOut(Schema):
    manager_id: int | None
    name: str
    lines: list[PlanLineOut]
    bonus: BonusOut | None


class BonusRuleOut(Schema):
    id: int
    team_id: int
    month: str
    currency: str
    percent: Decimal
    threshold: Decimal
    cap: Decimal | None


class PlanTeamOut(Schema):
    team_id: int | None
    name: str
    total: PlanRowOut
    bonus_total: list[MoneyOut]
    managers: list[PlanRowOut]
    bonus_rule: BonusRuleOut | None


class PlanReportOut(Schema):
    month: str
    period: PeriodOut
    elapsed_days: int
    teams: list[PlanTeamOut]


class PlanIn(InputSchema):
    """A monthly target: ``manager_id`` or ``team_id`` (exactly one), from ``month`` on."""

    metric: Annotated[str, StringConstraints(max_length=32)]
    month: MonthText
    target: Number
    manager_id: DatabaseId | None = None
    team_id: DatabaseId | None = None
    currency: Annotated[str, StringConstraints(max_length=3)] = ""


class PlanOut(Schema):
    id: int
    metric: str
    month: str
    target: Decimal
    manager_id: int | None
    team_id: int | None
    currency: str


class BonusRuleIn(InputSchema):
    """A team's bonus rule from ``month`` on; no ``cap`` means none."""

    team_id: DatabaseId
    month: MonthText
    currency: Annotated[str, StringConstraints(max_length=3)]
    percent: Number
    threshold: Number
    cap: Number | None = None


def _bonus(bonus: BonusBreakdown | None) -> dict[str, Any] | None:
    if bonus is None:
        return None
    return {
        "team_id": bonus.team.pk,
        "currency": bonus.rule.currency,
        "revenue": bonus.revenue,
        "threshold": bonus.rule.threshold,
        "above_threshold": bonus.above,
        "percent": bonus.rule.percent,
        "base": bonus.base,
        "revenue_plan": bonus.plan,
        "scale": bonus.scale,
        "scaled": bonus.scaled,
        "cap": bonus.rule.cap,
        "capped": bonus.capped,
        "bonus": bonus.bonus,
    }


def _plan_row(row: PlanRow) -> dict[str, Any]:
    return {
        "manager_id": row.user.pk if row.user is not None else None,
        "name": row.label,
        "lines": [
            {
                "metric": line.metric.key,
                "label": str(line.metric.label),
                "currency": line.currency,
                "plan": line.target,
                "fact": line.fact.quantize(CENT),
                "done": line.done,
                "forecast": line.forecast.quantize(CENT) if line.forecast is not None else None,
            }
            for line in row.lines
        ],
        "bonus": _bonus(row.bonus),
    }


def _rule(rule: BonusRule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {
        "id": rule.pk,
        "team_id": rule.team_id,
        "month": f"{rule.effective_from:%Y-%m}",
        "currency": rule.currency,
        "percent": rule.percent,
        "threshold": rule.threshold,
        "cap": rule.cap,
    }


def _plan_report(report: PlanReport) -> dict[str, Any]:
    return {
        "month": f"{report.month:%Y-%m}",
        "period": _period(report.period),
        "elapsed_days": report.elapsed_days,
        "teams": [
            {
                "team_id": block.team.pk if block.team is not None else None,
                "name": block.total.label,
                "total": _plan_row(block.total),
                "bonus_total": _money(block.total.bonus_total),
                "managers": [_plan_row(row) for row in block.members],
                "bonus_rule": _rule(block.rule),
            }
            for block in report.blocks
        ],
    }


@router.get("/plans", response={200: PlanReportOut, **READ_ERRORS}, summary="Plan report")
def plans(request: HttpRequest, params: Query[PlanParams]) -> Any:
    """Plan, fact, share done and forecast of the month per manager and team, and each
    manager's bonus with its breakdown, counting only what the caller may see."""
    _refuse_unknown(request, PlanParams)
    viewer = request_user(request)
    asked = {key: value for key, value in params.model_dump().items() if value is not None}
    month, filters = plan_input(asked, viewer=viewer)
    return _plan_report(plan_report(viewer=viewer, month=month, filters=filters))


def _target(viewer: User, manager_id: int | None, team_id: int | None) -> tuple[Any, Any]:
    manager = team = None
    if manager_id is not None:
        manager = managers_for(viewer).filter(pk=manager_id).first()
        if manager is None:
            raise ValidationFailed(
                field_errors={"manager_id": [_("No such manager among those you may see.")]}
            )
    if team_id is not None:
        team = teams_for(viewer).filter(pk=team_id).first()
        if team is None:
            raise ValidationFailed(field_errors={"team_id": [_("No such team among yours.")]})
    return manager, team


@router.put("/plans", response={200: PlanOut, **WRITE_ERRORS}, summary="Set a plan")
def plan_put(request: HttpRequest, payload: PlanIn) -> Any:
    """Sets a manager's or a team's monthly target of a metric from ``month`` (this month
    or later) on; for an administrator, or a head of sales for their teams and members."""
    actor = request_user(request)
    PLANS.check(actor, "change")
    manager, team = _target(actor, payload.manager_id, payload.team_id)
    plan = plan_set(
        actor=actor,
        metric=payload.metric,
        month=month_parse(payload.month),
        target=payload.target,
        manager=manager,
        team=team,
        currency=payload.currency,
    )
    return {
        "id": plan.pk,
        "metric": plan.metric,
        "month": f"{plan.effective_from:%Y-%m}",
        "target": plan.target,
        "manager_id": plan.manager_id,
        "team_id": plan.team_id,
        "currency": plan.currency,
    }


@router.get(
    "/bonus-rules", response={200: list[BonusRuleOut], **READ_ERRORS}, summary="Bonus rules"
)
def bonus_rules(request: HttpRequest, month: MonthText | None = None) -> Any:
    """The bonus rules in force in ``month`` (the caller's current month without it) of the
    teams the caller may report on."""
    _refuse_unknown_names(request, {"month"})
    viewer = request_user(request)
    chosen = month_parse(month) if month else current_month(viewer)
    teams = [team.pk for team in teams_for(viewer)]
    found = rules_in_force(chosen, teams)
    return [_rule(found[key]) for key in sorted(found)]


@router.put(
    "/bonus-rules", response={200: BonusRuleOut, **WRITE_ERRORS}, summary="Set a bonus rule"
)
def bonus_rule_put(request: HttpRequest, payload: BonusRuleIn) -> Any:
    """Sets a team's bonus rule from ``month`` (this month or later) on; for an
    administrator, or a head of sales for their teams."""
    actor = request_user(request)
    PLANS.check(actor, "change")
    _manager, team = _target(actor, None, payload.team_id)
    rule = bonus_rule_set(
        actor=actor,
        team=team,
        month=month_parse(payload.month),
        currency=payload.currency,
        percent=payload.percent,
        threshold=payload.threshold,
        cap=payload.cap,
    )
    return _rule(rule)


def _refuse_unknown_names(request: HttpRequest, known: set[str]) -> None:
    unknown = sorted(set(request.GET) - known)
    if unknown:
        raise ValidationFailed(field_errors={name: [_("Unknown parameter.")] for name in unknown})


class ForecastParams(DealReportParams):
    months: int | None = Field(default=None, ge=1, le=MAX_MONTHS)


class ForecastRowOut(Schema):
    key: str | None
    label: str
    deals: int
    amount: list[MoneyOut]
    by_probability: list[MoneyOut]
    by_conversion: list[MoneyOut]
    plan: list[MoneyOut] | None


class StageRateOut(Schema):
    stage_id: int
    pipeline: str
    stage: str
    probability: int
    measured_conversion: float | None
    decided: int
    won: int


class PastMonthOut(Schema):
    month: dt.date
    forecast: ForecastRowOut
    won_count: int
    won: list[MoneyOut]
    won_forecast_deals: list[MoneyOut]


class OverdueDealOut(Schema):
    deal_id: int
    title: str
    owner: str
    stage: str
    expected_close: dt.date
    days_overdue: int
    amount: Decimal | None
    currency: str


class ForecastErrorOut(Schema):
    currency: str
    by_probability: Decimal | None
    by_conversion: Decimal | None


class ForecastOut(Schema):
    period: PeriodOut
    months: int
    today: dt.date
    total: ForecastRowOut
    by_month: list[ForecastRowOut]
    by_manager: list[ForecastRowOut]
    stage_rates: list[StageRateOut]
    past: list[PastMonthOut]
    past_mean_miss: list[ForecastErrorOut]
    overdue_count: int
    overdue: list[OverdueDealOut]


def _forecast_row(row: ForecastRow) -> dict[str, Any]:
    return {
        "key": None if row.key in (None, "") else str(row.key),
        "label": row.label,
        "deals": row.deals,
        "amount": _money(row.amount),
        "by_probability": _money(row.by_probability),
        "by_conversion": _money(row.by_conversion),
        "plan": None if row.plan is None else _money(row.plan),
    }


def _cents(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else amount.quantize(CENT)


def _forecast(report: ForecastReport) -> dict[str, Any]:
    return {
        "period": _period(report.period),
        "months": report.months,
        "today": report.today,
        "total": _forecast_row(report.total),
        "by_month": [_forecast_row(row) for row in report.by_month],
        "by_manager": [_forecast_row(row) for row in report.by_manager],
        "stage_rates": [
            {
                "stage_id": rate.stage.pk,
                "pipeline": rate.stage.pipeline.name,
                "stage": rate.stage.name,
                "probability": int(rate.probability),
                "measured_conversion": None if rate.conversion is None else float(rate.conversion),
                "decided": rate.decided,
                "won": rate.won,
            }
            for rate in report.rates
        ],
        "past": [
            {
                "month": row.month,
                "forecast": _forecast_row(row.forecast),
                "won_count": row.won_count,
                "won": _money(row.won),
                "won_forecast_deals": _money(row.won_forecast_deals),
            }
            for row in report.past
        ],
        "past_mean_miss": [
            {"currency": currency, "by_probability": _cents(first), "by_conversion": _cents(second)}
            for currency, first, second in report.errors
        ],
        "overdue_count": report.overdue_count,
        "overdue": [
            {
                "deal_id": deal.pk,
                "title": deal.title,
                "owner": deal.owner,
                "stage": deal.stage,
                "expected_close": deal.expected_close,
                "days_overdue": deal.days_overdue,
                "amount": _cents(deal.amount),
                "currency": deal.currency,
            }
            for deal in report.overdue
        ],
    }


@router.get("/forecast", response={200: ForecastOut, **READ_ERRORS}, summary="Forecast report")
def forecast(request: HttpRequest, params: Query[ForecastParams]) -> Any:
    """Open deals by expected close month (in the period) weighted by stage probability and
    by the conversion measured over ``months`` months, per manager and in total; the same
    forecast made at the start of each of the last six months against what was won; the
    open deals past their expected close date."""
    _refuse_unknown(request, ForecastParams)
    viewer = request_user(request)
    values = params.as_params()
    period, filters = report_input(values, viewer=viewer, product=True)
    months = months_parse(values.get("months"))
    return _forecast(forecast_report(viewer=viewer, period=period, filters=filters, months=months))


class ClientsParams(ReportParams):
    days: int | None = Field(default=None, ge=1, le=MAX_DAYS)
    page: int | None = Field(default=None, ge=1, le=10**9)


class NewClientsOut(Schema):
    entity: str
    client_type: str
    label: str
    count: int
    previous: int


class ClientRevenueOut(Schema):
    entity: str
    client_id: int
    name: str
    currency: str
    revenue: Decimal
    deals: int
    share: float
    abc: str


class AbcClassOut(Schema):
    currency: str
    abc: str
    clients: int
    revenue: Decimal
    share: float


class UntouchedOut(Schema):
    entity: str
    client_id: int
    name: str
    owner_id: int
    last_touch: dt.datetime


class ClientsOut(Schema):
    period: PeriodOut
    previous_period: PeriodOut
    days: int
    new: list[NewClientsOut]
    abc: list[AbcClassOut]
    top: list[ClientRevenueOut]
    untouched_count: int
    page: int
    pages: int
    untouched: list[UntouchedOut]


def _clients(report: ClientsReport) -> dict[str, Any]:
    return {
        "period": _period(report.period),
        "previous_period": _period(report.period.previous()),
        "days": report.days,
        "new": [
            {
                "entity": row.entity,
                "client_type": row.client_type,
                "label": row.label,
                "count": row.count,
                "previous": row.before,
            }
            for row in report.new
        ],
        "abc": [
            {
                "currency": row.currency,
                "abc": row.abc,
                "clients": row.clients,
                "revenue": row.revenue.quantize(CENT),
                "share": float(row.share),
            }
            for row in report.abc
        ],
        "top": [
            {
                "entity": row.entity,
                "client_id": row.pk,
                "name": row.name,
                "currency": row.currency,
                "revenue": row.revenue.quantize(CENT),
                "deals": row.deals,
                "share": float(row.share),
                "abc": row.abc,
            }
            for row in report.top
        ],
        "untouched_count": report.untouched.paginator.count,
        "page": report.untouched.number,
        "pages": report.untouched.paginator.num_pages,
        "untouched": [
            {
                "entity": row["entity"],
                "client_id": row["pk"],
                "name": row["name"],
                "owner_id": row["owner_id"],
                "last_touch": row["last_touch"],
            }
            for row in report.untouched.object_list
        ],
    }


@router.get("/clients", response={200: ClientsOut, **READ_ERRORS}, summary="Clients report")
def clients(request: HttpRequest, params: Query[ClientsParams]) -> Any:
    """New clients by kind and type against the period before; clients with no touch for
    ``days`` days (oldest first, ``page`` by page); top clients by revenue and the ABC
    classes, per currency, from the deals won in the period that the caller may see."""
    _refuse_unknown(request, ClientsParams)
    viewer = request_user(request)
    values = params.as_params()
    period, filters = report_input(values, viewer=viewer)
    report = clients_report(
        viewer=viewer,
        period=period,
        filters=filters,
        days=days_parse(values.get("days")),
        page=page_parse(values.get("page")),
    )
    return _clients(report)
