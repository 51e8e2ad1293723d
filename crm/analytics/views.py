"""Pages of the analytics app: the home dashboard and the reports. A report page parses its
period and filters strictly; a refused parameter answers 400 with the page and the message
next to the parameter, never a 500 nor a silently different report."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from crm.accounts.http import SignedInRequest
from crm.analytics.filters import ReportFilters, filters_parse, managers_for, teams_for
from crm.analytics.periods import PRESETS, Period, period_parse, user_time_zone
from crm.analytics.selectors import dashboard_for
from crm.analytics.selectors import dashboard as dashboard_selectors
from crm.analytics.selectors.funnel import funnel_chart, funnel_report
from crm.analytics.selectors.sales import bucket_parse, sales_chart, sales_report
from crm.core.errors import ValidationFailed
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


def report_input(request: SignedInRequest) -> tuple[Period, ReportFilters]:
    """The period and filters of a report's query string, checked for the viewer; raises
    ``ValidationFailed`` naming every refused parameter."""
    zone = user_time_zone(request.user)
    today = dashboard_selectors.clock().astimezone(zone).date()
    errors: dict[str, list[str]] = {}
    period = filters = None
    try:
        period = period_parse(request.GET, today=today, zone=zone)
    except ValidationFailed as refused:
        errors.update(refused.field_errors)
    try:
        filters = filters_parse(request.GET, viewer=request.user)
    except ValidationFailed as refused:
        errors.update(refused.field_errors)
    if errors or period is None or filters is None:
        raise ValidationFailed(field_errors=errors)
    return period, filters


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
    try:
        period, filters = report_input(request)
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
    )
    return render(request, "analytics/funnel.html", context)


@login_required
@require_GET
def sales(request: SignedInRequest) -> HttpResponse:
    """The sales report: deals won and payments received, in time and by group."""
    context = report_choices(request)
    context["buckets"] = BUCKET_LABELS
    try:
        period, filters = report_input(request)
        bucket = bucket_parse(request.GET.get("bucket"), period)
        report = sales_report(viewer=request.user, period=period, filters=filters, bucket=bucket)
    except ValidationFailed as refused:
        context["errors"] = refused.field_errors
        return render(request, "analytics/sales.html", context, status=400)
    context.update(report=report, chart=sales_chart(report), deals_url=reverse("sales:deal_list"))
    return render(request, "analytics/sales.html", context)
