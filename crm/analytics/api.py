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
from pydantic import ConfigDict, StringConstraints

from crm.analytics.inputs import report_input
from crm.analytics.periods import Period
from crm.analytics.selectors.activity import ActivityRow, activity_report
from crm.analytics.selectors.funnel import Funnel, funnel_report
from crm.analytics.selectors.leads import LeadRow, leads_report
from crm.analytics.selectors.sales import (
    SalesReport,
    SalesRow,
    SalesSummary,
    bucket_parse,
    sales_report,
)
from crm.core.api import READ_ERRORS, DatabaseId, IsoDate, request_user
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


class SalesParams(ReportParams):
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
    }


@router.get("/funnel", response={200: FunnelOut, **READ_ERRORS}, summary="Funnel report")
def funnel(request: HttpRequest, params: Query[ReportParams]) -> Any:
    """The funnel of a pipeline (the first live one without ``pipeline``) over the period,
    counting the deals the caller may see, with the period before for comparison."""
    _refuse_unknown(request, ReportParams)
    viewer = request_user(request)
    period, filters = report_input(params.as_params(), viewer=viewer)
    report = funnel_report(viewer=viewer, period=period, filters=filters)
    before = funnel_report(viewer=viewer, period=period.previous(), filters=filters)
    return _funnel(report, before)


@router.get("/sales", response={200: SalesOut, **READ_ERRORS}, summary="Sales report")
def sales(request: HttpRequest, params: Query[SalesParams]) -> Any:
    """Deals won (by closing moment) and payments received (by day), per currency, in time
    and by manager, source and client type; win rate, average deal, median cycle."""
    _refuse_unknown(request, SalesParams)
    viewer = request_user(request)
    values = params.as_params()
    period, filters = report_input(values, viewer=viewer)
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
