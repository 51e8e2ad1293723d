"""Pages of the analytics app: the home dashboard and the reports. A report page parses its
period and filters strictly; a refused parameter answers 400 with the page and the message
next to the parameter, never a 500 nor a silently different report."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from crm.accounts.http import SignedInRequest
from crm.analytics.exports import Table, funnel_table, sales_table
from crm.analytics.filters import managers_for, teams_for
from crm.analytics.inputs import report_input
from crm.analytics.links import deals_closed_query
from crm.analytics.periods import PRESETS
from crm.analytics.selectors import dashboard_for
from crm.analytics.selectors.funnel import funnel_chart, funnel_report
from crm.analytics.selectors.sales import bucket_parse, sales_chart, sales_report
from crm.core.errors import ValidationFailed
from crm.core.spreadsheets import csv_bytes, xlsx_bytes
from crm.customers.choices import ClientType
from crm.leads.choices import Channel
from crm.sales.models import Pipeline

BUCKET_LABELS = [
    ("", gettext_lazy("By the period's length")),
    ("day", gettext_lazy("By day")),
    ("week", gettext_lazy("By week")),
    ("month", gettext_lazy("By month")),
]


@login_required
@require_GET
def home(request: SignedInRequest) -> HttpResponse:
    """``/``: the viewer's dashboard for this month (own, their teams', or everyone's)."""
    board = dashboard_for(viewer=request.user)
    return render(request, "analytics/dashboard.html", {"board": board})


def report_choices(request: SignedInRequest) -> dict[str, Any]:
    """What the report filter form offers this viewer, and what it asked for."""
    return {
        "presets": list(PRESETS.items()),
        "pipelines": list(Pipeline.objects.filter(archived=False).order_by("position", "id")),
        "teams": list(teams_for(request.user).order_by("name")),
        "managers": list(managers_for(request.user).filter(is_active=True)),
        "sources": Channel.choices,
        "client_types": ClientType.choices,
        "asked": request.GET,
    }


@login_required
@require_GET
def funnel(request: SignedInRequest) -> HttpResponse:
    """The funnel report of one pipeline, with the previous period for comparison."""
    context = report_choices(request)
    context.update(
        current="funnel", export_url=reverse("analytics:funnel_export"), pipeline_required=True
    )
    try:
        period, filters = report_input(request.GET, viewer=request.user)
        report = funnel_report(viewer=request.user, period=period, filters=filters)
    except ValidationFailed as refused:
        context["errors"] = refused.field_errors
        return render(request, "analytics/funnel.html", context, status=400)
    before = funnel_report(viewer=request.user, period=period.previous(), filters=filters)
    context.update(
        report=report,
        before=before,
        chart=funnel_chart(report),
        deals_url=reverse("sales:deal_list"),
        won_query=deals_closed_query(period, filters, "won"),
        lost_query=deals_closed_query(period, filters, "lost"),
        export_query=request.GET.urlencode(),
    )
    return render(request, "analytics/funnel.html", context)


EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_response(request: SignedInRequest, table: Table) -> HttpResponse:
    """The table as the file ``?format=`` asks for (``csv`` or ``xlsx``)."""
    kind = request.GET.get("format") or "xlsx"
    if kind not in EXPORT_TYPES:
        raise ValidationFailed(field_errors={"format": [_("Choose csv or xlsx.")]})
    content = (
        csv_bytes(table.header, table.rows)
        if kind == "csv"
        else xlsx_bytes(table.name, table.header, table.rows)
    )
    response = HttpResponse(content, content_type=EXPORT_TYPES[kind])
    response["Content-Disposition"] = f'attachment; filename="{table.name}.{kind}"'
    return response


def refused(errors: ValidationFailed) -> HttpResponse:
    """A download that cannot be made: 400 with the parameters and their messages."""
    lines = [
        f"{name}: {message}"
        for name, messages in errors.field_errors.items()
        for message in messages
    ]
    return HttpResponse("\n".join(lines), status=400, content_type="text/plain; charset=utf-8")


@login_required
@require_GET
def funnel_export(request: SignedInRequest) -> HttpResponse:
    """The funnel as CSV or XLSX, for the same period and filters as the page."""
    try:
        period, filters = report_input(request.GET, viewer=request.user)
        report = funnel_report(viewer=request.user, period=period, filters=filters)
        before = funnel_report(viewer=request.user, period=period.previous(), filters=filters)
        return export_response(request, funnel_table(report, before))
    except ValidationFailed as errors:
        return refused(errors)


@login_required
@require_GET
def sales_export(request: SignedInRequest) -> HttpResponse:
    """The sales report as CSV or XLSX, for the same period and filters as the page."""
    try:
        period, filters = report_input(request.GET, viewer=request.user)
        bucket = bucket_parse(request.GET.get("bucket"), period)
        report = sales_report(viewer=request.user, period=period, filters=filters, bucket=bucket)
        return export_response(request, sales_table(report))
    except ValidationFailed as errors:
        return refused(errors)


@login_required
@require_GET
def sales(request: SignedInRequest) -> HttpResponse:
    """The sales report: deals won and payments received, in time and by group."""
    context = report_choices(request)
    context.update(
        current="sales", export_url=reverse("analytics:sales_export"), buckets=BUCKET_LABELS
    )
    try:
        period, filters = report_input(request.GET, viewer=request.user)
        bucket = bucket_parse(request.GET.get("bucket"), period)
        report = sales_report(viewer=request.user, period=period, filters=filters, bucket=bucket)
    except ValidationFailed as refused:
        context["errors"] = refused.field_errors
        return render(request, "analytics/sales.html", context, status=400)
    context.update(
        report=report,
        chart=sales_chart(report),
        deals_url=reverse("sales:deal_list"),
        won_query=deals_closed_query(period, filters, "won"),
        export_query=request.GET.urlencode(),
    )
    return render(request, "analytics/sales.html", context)
