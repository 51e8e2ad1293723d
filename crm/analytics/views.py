"""Pages of the analytics app: the home dashboard and the reports. A report page parses its
period and filters strictly; a refused parameter answers 400 with the page and the message
next to the parameter, never a 500 nor a silently different report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from crm.accounts.http import SignedInRequest
from crm.analytics.exports import (
    Table,
    activity_table,
    clients_table,
    forecast_table,
    funnel_table,
    leads_table,
    plans_table,
    sales_table,
)
from crm.analytics.filters import ReportFilters, managers_for, teams_for
from crm.analytics.forms import BonusRuleForm, PlanForm
from crm.analytics.inputs import plan_input, report_input
from crm.analytics.links import deals_closed_query
from crm.analytics.metrics import METRICS
from crm.analytics.models import BonusRule, Plan
from crm.analytics.periods import PRESETS, Period
from crm.analytics.permissions import PLANS
from crm.analytics.selectors import dashboard_for
from crm.analytics.selectors.activity import activity_chart, activity_report
from crm.analytics.selectors.clients import (
    ClientsReport,
    clients_chart,
    clients_report,
    days_parse,
    page_parse,
)
from crm.analytics.selectors.forecast import forecast_chart, forecast_report, months_parse
from crm.analytics.selectors.funnel import funnel_chart, funnel_report
from crm.analytics.selectors.leads import leads_chart, leads_report
from crm.analytics.selectors.plans import plan_chart, plan_report
from crm.analytics.selectors.sales import bucket_parse, sales_chart, sales_report
from crm.analytics.services import bonus_rule_set, current_month, plan_set
from crm.core.errors import ValidationFailed
from crm.core.forms import domain_errors, form_post, saved
from crm.core.spreadsheets import csv_bytes, xlsx_bytes
from crm.customers.choices import ClientType
from crm.leads.choices import Channel, LeadKind
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


def report_page(
    request: SignedInRequest,
    *,
    current: str,
    template: str,
    build: Callable[[Period, ReportFilters], dict[str, Any]],
) -> HttpResponse:
    """A report page: the filter form, and the figures ``build`` gives for the parsed period
    and filters, or 400 with the refused parameters' messages."""
    context = report_choices(request)
    context.update(current=current, export_url=reverse(f"analytics:{current}_export"))
    try:
        period, filters = report_input(request.GET, viewer=request.user)
        context.update(build(period, filters))
    except ValidationFailed as errors:
        context["errors"] = errors.field_errors
        return render(request, template, context, status=400)
    context["export_query"] = request.GET.urlencode()
    return render(request, template, context)


def report_export(
    request: SignedInRequest,
    select: Callable[..., Any],
    tabulate: Callable[[Any], Table],
) -> HttpResponse:
    """The report ``select(viewer=, period=, filters=)`` gives for the page's period and
    filters, as the CSV or XLSX ``tabulate`` makes of it; 400 naming refused parameters."""
    try:
        period, filters = report_input(request.GET, viewer=request.user)
        report = select(viewer=request.user, period=period, filters=filters)
        return export_response(request, tabulate(report))
    except ValidationFailed as errors:
        return refused(errors)


@login_required
@require_GET
def leads(request: SignedInRequest) -> HttpResponse:
    """The leads and channels report: leads by channel, form, classification and manager,
    their conversion to won deals and revenue, the first response and its deadline."""

    def build(period: Period, filters: ReportFilters) -> dict[str, Any]:
        report = leads_report(viewer=request.user, period=period, filters=filters)
        return {
            "report": report,
            "chart": leads_chart(report),
            "leads_url": reverse("leads:lead_list"),
            "leads_query": urlencode(
                {
                    key: value
                    for key, value in {
                        "owner": filters.manager.pk if filters.manager else "",
                        "channel": filters.source,
                    }.items()
                    if value
                }
            ),
            "kinds": LeadKind.choices,
        }

    return report_page(request, current="leads", template="analytics/leads.html", build=build)


@login_required
@require_GET
def leads_export(request: SignedInRequest) -> HttpResponse:
    """The leads and channels report as CSV or XLSX."""
    return report_export(request, leads_report, leads_table)


@login_required
@require_GET
def activity(request: SignedInRequest) -> HttpResponse:
    """The managers' activity and KPI report: one row per manager the viewer may see."""

    def build(period: Period, filters: ReportFilters) -> dict[str, Any]:
        report = activity_report(viewer=request.user, period=period, filters=filters)
        return {
            "report": report,
            "chart": activity_chart(report),
            "deals_url": reverse("sales:deal_list"),
            "leads_url": reverse("leads:lead_list"),
            "tasks_url": reverse("planner:task_list"),
        }

    return report_page(request, current="activity", template="analytics/activity.html", build=build)


@login_required
@require_GET
def activity_export(request: SignedInRequest) -> HttpResponse:
    """The activity and KPI report as CSV or XLSX."""
    return report_export(request, activity_report, activity_table)


def _plans_page(
    request: SignedInRequest,
    *,
    status: int = 200,
    plan_form: PlanForm | None = None,
    bonus_form: BonusRuleForm | None = None,
) -> HttpResponse:
    viewer = request.user
    context = report_choices(request)
    editable = PLANS.team_ids(viewer, "change")
    month_default = current_month(viewer).strftime("%Y-%m")
    context.update(
        current="plans",
        export_url=reverse("analytics:plans_export"),
        may_edit=editable is None or bool(editable),
        month_filter=True,
        month_default=month_default,
        metrics=list(METRICS.values()),
    )
    if context["may_edit"]:
        initial = {"month": request.GET.get("month") or month_default}
        context["plan_form"] = plan_form or PlanForm(user=viewer, initial=initial)
        context["bonus_form"] = bonus_form or BonusRuleForm(user=viewer, initial=initial)
    try:
        month, filters = plan_input(request.GET, viewer=viewer)
        report = plan_report(viewer=viewer, month=month, filters=filters)
    except ValidationFailed as refused_input:
        context["errors"] = refused_input.field_errors
        return render(request, "analytics/plans.html", context, status=400)
    context.update(
        report=report,
        chart=plan_chart(report),
        deals_url=reverse("sales:deal_list"),
        export_query=request.GET.urlencode(),
    )
    return render(request, "analytics/plans.html", context, status=status)


@login_required
@require_GET
def plans(request: SignedInRequest) -> HttpResponse:
    """The plan report of a month: plan, fact, share done, forecast and bonuses; with the
    forms that set plans and bonus rules for those who may."""
    return _plans_page(request)


@login_required
@require_GET
def plans_export(request: SignedInRequest) -> HttpResponse:
    """The plan report as CSV or XLSX, for the same month and filters as the page."""
    try:
        month, filters = plan_input(request.GET, viewer=request.user)
        report = plan_report(viewer=request.user, month=month, filters=filters)
        return export_response(request, plans_table(report))
    except ValidationFailed as errors:
        return refused(errors)


def _setting_saved(
    request: SignedInRequest,
    form: PlanForm | BonusRuleForm,
    service: Callable[..., Plan | BonusRule],
    message: str,
) -> HttpResponse:
    """Posts one of the plan page's forms to its service: the page of the month set, or the
    page again at 422 with the form's refused fields."""
    PLANS.check(request.user, "change")
    forms_ = {"plan_form": form} if isinstance(form, PlanForm) else {"bonus_form": form}
    return form_post(
        form,
        lambda: service(actor=request.user, **form.service_data()),
        success=lambda version: saved(
            request,
            message,
            f"{reverse('analytics:plans')}?month={version.effective_from:%Y-%m}",
        ),
        failure=lambda: _plans_page(request, status=422, **forms_),
    )


@login_required
@require_POST
@domain_errors
def plan_save(request: SignedInRequest) -> HttpResponse:
    """Sets a plan from the page's form (``plan_set``); the page again at 422 when refused."""
    form = PlanForm(request.POST, user=request.user)
    return _setting_saved(request, form, plan_set, _("The plan is saved."))


@login_required
@require_POST
@domain_errors
def bonus_rule_save(request: SignedInRequest) -> HttpResponse:
    """Sets a team's bonus rule from the page's form (``bonus_rule_set``)."""
    form = BonusRuleForm(request.POST, user=request.user)
    return _setting_saved(request, form, bonus_rule_set, _("The bonus rule is saved."))


@login_required
@require_GET
def forecast(request: SignedInRequest) -> HttpResponse:
    """The forecast: open deals by expected close month weighted by stage probability and
    by measured conversion, their check on the past months, and the overdue deals."""
    context = report_choices(request)
    context.update(
        current="forecast",
        export_url=reverse("analytics:forecast_export"),
        months_field=True,
    )
    try:
        period, filters = report_input(request.GET, viewer=request.user)
        months = months_parse(request.GET.get("months"))
        report = forecast_report(viewer=request.user, period=period, filters=filters, months=months)
    except ValidationFailed as refused:
        context["errors"] = refused.field_errors
        return render(request, "analytics/forecast.html", context, status=400)
    context.update(
        report=report,
        chart=forecast_chart(report),
        deals_url=reverse("sales:deal_list"),
        export_query=request.GET.urlencode(),
    )
    return render(request, "analytics/forecast.html", context)


@login_required
@require_GET
def forecast_export(request: SignedInRequest) -> HttpResponse:
    """The forecast as CSV or XLSX, for the same period, filters and window as the page."""
    try:
        period, filters = report_input(request.GET, viewer=request.user)
        months = months_parse(request.GET.get("months"))
        report = forecast_report(viewer=request.user, period=period, filters=filters, months=months)
        return export_response(request, forecast_table(report))
    except ValidationFailed as errors:
        return refused(errors)


def _clients_input(request: SignedInRequest) -> ClientsReport:
    """The clients report the query string asks for; every refused parameter (period,
    filters, ``days``, ``page``) is named at once."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    steps: list[tuple[str, Any]] = [
        ("input", lambda: report_input(request.GET, viewer=request.user)),
        ("days", lambda: days_parse(request.GET.get("days"))),
        ("page", lambda: page_parse(request.GET.get("page"))),
    ]
    for name, step in steps:
        try:
            values[name] = step()
        except ValidationFailed as refused:
            errors.update(refused.field_errors)
    if errors:
        raise ValidationFailed(field_errors=errors)
    period, filters = values["input"]
    return clients_report(
        viewer=request.user,
        period=period,
        filters=filters,
        days=values["days"],
        page=values["page"],
    )


@login_required
@require_GET
def clients(request: SignedInRequest) -> HttpResponse:
    """The clients report: new clients by type, clients with no touch for N days (a page
    at a time), top clients by revenue and their ABC classes."""
    context = report_choices(request)
    context.update(
        current="clients", export_url=reverse("analytics:clients_export"), days_field=True
    )
    try:
        report = _clients_input(request)
    except ValidationFailed as refused:
        context["errors"] = refused.field_errors
        return render(request, "analytics/clients.html", context, status=400)
    paging = request.GET.copy()
    paging.pop("page", None)
    context.update(
        report=report,
        chart=clients_chart(report),
        export_query=request.GET.urlencode(),
        paging_query=paging.urlencode(),
    )
    return render(request, "analytics/clients.html", context)


@login_required
@require_GET
def clients_export(request: SignedInRequest) -> HttpResponse:
    """The clients report as CSV or XLSX (the untouched clients: the page asked for)."""
    try:
        return export_response(request, clients_table(_clients_input(request)))
    except ValidationFailed as errors:
        return refused(errors)
