"""Pages of the analytics app: the home dashboard and the reports. A report page parses its
period and filters strictly; a refused parameter answers 400 with the page and the message
next to the parameter, never a 500 nor a silently different report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from crm.accounts.http import SignedInRequest
from crm.accounts.models import User
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
from crm.analytics.inputs import named_at_once, plan_input, report_input
from crm.analytics.links import deals_closed_query, deals_reached_query
from crm.analytics.metrics import METRICS
from crm.analytics.models import BonusRule, Plan
from crm.analytics.periods import PRESETS, Period
from crm.analytics.permissions import PLANS
from crm.analytics.selectors import dashboard as dashboard_selectors
from crm.analytics.selectors import dashboard_for
from crm.analytics.selectors.activity import ActivityReport, activity_chart, activity_report
from crm.analytics.selectors.clients import (
    ClientsReport,
    clients_chart,
    clients_report,
    days_parse,
    page_parse,
)
from crm.analytics.selectors.forecast import (
    ForecastReport,
    forecast_chart,
    forecast_report,
    months_parse,
)
from crm.analytics.selectors.funnel import Funnel, funnel_chart, funnel_report
from crm.analytics.selectors.leads import LeadsReport, leads_chart, leads_report
from crm.analytics.selectors.plans import plan_chart, plan_report
from crm.analytics.selectors.sales import SalesReport, bucket_parse, sales_chart, sales_report
from crm.analytics.services import bonus_rule_set, current_month, plan_set
from crm.core.errors import ValidationFailed
from crm.core.forms import domain_errors, form_post, saved
from crm.core.spreadsheets import csv_bytes, xlsx_bytes
from crm.customers.choices import ClientType
from crm.leads.choices import Channel, LeadKind
from crm.sales.models import Pipeline, Product

BUCKET_LABELS = [
    ("", gettext_lazy("By the period's length")),
    ("day", gettext_lazy("By day")),
    ("week", gettext_lazy("By week")),
    ("month", gettext_lazy("By month")),
]


def printed(
    period: Period, filters: ReportFilters | None = None, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What the print header says besides the title and the period: the filters and the
    report's own options as (label, value), and the moment of printing in the period's
    zone (the viewer's)."""
    shown: list[tuple[str, str]] = []
    if filters is not None:
        shown += [
            (_("Pipeline"), filters.pipeline.name if filters.pipeline else ""),
            (_("Team"), filters.team.name if filters.team else ""),
            (_("Manager"), str(filters.manager) if filters.manager else ""),
            (_("Source"), str(Channel(filters.source).label) if filters.source else ""),
            (
                _("Client type"),
                str(ClientType(filters.client_type).label) if filters.client_type else "",
            ),
        ]
    options = options or {}
    if "bucket" in options:
        bucket = options["bucket"] or ""
        shown.append((_("Grouping"), str(dict(BUCKET_LABELS).get(bucket, bucket))))
    if "months" in options:
        shown.append((_("Conversion measured over, months"), str(options["months"])))
    if "days" in options:
        shown.append((_("No touch for, days"), str(options["days"])))
    return {
        "print_filters": [(label, value) for label, value in shown if value],
        "printed_at": dashboard_selectors.clock(),
        "printed_zone": period.zone,
    }


@login_required
@require_GET
def home(request: SignedInRequest) -> HttpResponse:
    """``/``: the viewer's dashboard for this month (own, their teams', or everyone's)."""
    board = dashboard_for(viewer=request.user)
    return render(request, "analytics/dashboard.html", {"board": board, **printed(board.period)})


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


# The reports read from a period and filters: each is configured once (``REPORTS``) and
# served by the same page and export views.


def _funnel_read(*, viewer: User, period: Period, filters: ReportFilters) -> tuple[Funnel, Funnel]:
    """The funnel of the period and of the period before (the page and the export show both;
    of the period before, its counts: no stays)."""
    return (
        funnel_report(viewer=viewer, period=period, filters=filters),
        funnel_report(viewer=viewer, period=period.previous(), filters=filters, stays=False),
    )


def _funnel_show(
    found: tuple[Funnel, Funnel], period: Period, filters: ReportFilters
) -> dict[str, Any]:
    report, before = found
    deals_url = reverse("sales:deal_list")
    chart = funnel_chart(report)
    reached = {
        row.stage.pk: f"{deals_url}?{deals_reached_query(period, filters, row.stage)}"
        for row in report.stages
    }
    lost_here = {
        row.stage.pk: f"{deals_url}?{deals_reached_query(period, filters, row.stage, True)}"
        for row in report.stages
    }
    won_query = deals_closed_query(period, filters, "won")
    for step, row in zip(chart["steps"], report.stages, strict=False):
        step["url"] = reached[row.stage.pk]
    chart["steps"][-1]["url"] = f"{deals_url}?{won_query}"
    return {
        "report": report,
        "before": before,
        "chart": chart,
        "deals_url": deals_url,
        "won_query": won_query,
        "lost_query": deals_closed_query(period, filters, "lost"),
        "reached_urls": reached,
        "lost_here_urls": lost_here,
    }


def _sales_read(
    *, viewer: User, period: Period, filters: ReportFilters, bucket: str | None
) -> SalesReport:
    return sales_report(
        viewer=viewer, period=period, filters=filters, bucket=bucket_parse(bucket, period)
    )


def _sales_show(report: SalesReport, period: Period, filters: ReportFilters) -> dict[str, Any]:
    deals_url = reverse("sales:deal_list")
    won_query = deals_closed_query(period, filters, "won")
    # The deal list takes one product: under a product filter (already in ``won_query``)
    # only its row links, the other products' rows (deals with both) have no list.
    if filters.product is not None:
        product_urls = {filters.product.pk: f"{deals_url}?{won_query}"}
    else:
        product_urls = {
            row.product_id: f"{deals_url}?{won_query}&{urlencode({'product': row.product_id})}"
            for row in report.by_product
            if row.product_id is not None
        }
    return {
        "report": report,
        "chart": sales_chart(report),
        "deals_url": deals_url,
        "won_query": won_query,
        "product_urls": product_urls,
    }


def _leads_show(report: LeadsReport, period: Period, filters: ReportFilters) -> dict[str, Any]:
    shown = {"owner": filters.manager.pk if filters.manager else "", "channel": filters.source}
    return {
        "report": report,
        "chart": leads_chart(report),
        "leads_url": reverse("leads:lead_list"),
        "leads_query": urlencode({key: value for key, value in shown.items() if value}),
        "kinds": LeadKind.choices,
    }


def _activity_show(
    report: ActivityReport, period: Period, filters: ReportFilters
) -> dict[str, Any]:
    return {
        "report": report,
        "chart": activity_chart(report),
        "deals_url": reverse("sales:deal_list"),
        "leads_url": reverse("leads:lead_list"),
        "tasks_url": reverse("planner:task_list"),
    }


def _forecast_show(
    report: ForecastReport, period: Period, filters: ReportFilters
) -> dict[str, Any]:
    return {
        "report": report,
        "chart": forecast_chart(report),
        "deals_url": reverse("sales:deal_list"),
    }


def _clients_show(report: ClientsReport, period: Period, filters: ReportFilters) -> dict[str, Any]:
    return {"report": report, "chart": clients_chart(report)}


@dataclass(frozen=True)
class ReportPage:
    """One report's page and export, configured.

    ``options(query)`` parses the report's own parameters (a window, a page …) into
    keyword arguments of ``read``; their refusals are named together with the period's and
    the filters'. ``read(viewer=, period=, filters=, **options)`` is the report, ``show``
    what the page shows of it (the chart, the links), ``table`` the export's table;
    ``form`` switches on parts of the filter form; ``product`` takes the product filter (a
    report of deals), which the others refuse.
    """

    name: str
    read: Callable[..., Any]
    show: Callable[[Any, Period, ReportFilters], dict[str, Any]]
    table: Callable[[Any], Table]
    options: Callable[[QueryDict], dict[str, Any]] = lambda query: {}
    form: dict[str, Any] = field(default_factory=dict)
    product: bool = False

    @property
    def template(self) -> str:
        return f"analytics/{self.name}.html"


REPORTS = {
    page.name: page
    for page in (
        ReportPage(
            "funnel",
            _funnel_read,
            _funnel_show,
            lambda found: funnel_table(*found),
            form={"pipeline_required": True},
            product=True,
        ),
        ReportPage(
            "sales",
            _sales_read,
            _sales_show,
            sales_table,
            options=lambda query: {"bucket": query.get("bucket")},
            form={"buckets": BUCKET_LABELS},
            product=True,
        ),
        ReportPage("leads", leads_report, _leads_show, leads_table),
        ReportPage("activity", activity_report, _activity_show, activity_table),
        ReportPage(
            "forecast",
            forecast_report,
            _forecast_show,
            forecast_table,
            options=lambda query: {"months": months_parse(query.get("months"))},
            form={"months_field": True},
            product=True,
        ),
        ReportPage(
            "clients",
            clients_report,
            _clients_show,
            clients_table,
            options=lambda query: named_at_once(
                days=lambda: days_parse(query.get("days")),
                page=lambda: page_parse(query.get("page")),
            ),
            form={"days_field": True},
        ),
    )
}


@dataclass(frozen=True)
class ReportRead:
    """A report read for a query string, with the input it was read for."""

    found: Any
    period: Period
    filters: ReportFilters
    options: dict[str, Any]


def report_read(request: SignedInRequest, page: ReportPage) -> ReportRead:
    """The report ``page`` reads for the query string, with its period, filters and
    options; every refused parameter (the period, the filters, the report's own) named at
    once."""
    parsed = named_at_once(
        input=lambda: report_input(request.GET, viewer=request.user, product=page.product),
        options=lambda: page.options(request.GET),
    )
    period, filters = parsed["input"]
    options = parsed["options"]
    found = page.read(viewer=request.user, period=period, filters=filters, **options)
    return ReportRead(found, period, filters, options)


@login_required
@require_GET
def report(request: SignedInRequest, name: str) -> HttpResponse:
    """A report's page: the filter form and the report, or 400 with each refused
    parameter's message next to it."""
    page = REPORTS[name]
    context = report_choices(request)
    context.update(current=name, export_url=reverse(f"analytics:{name}_export"), **page.form)
    if page.product:
        context["products"] = list(Product.objects.filter(archived=False).order_by("name", "id"))
    try:
        read = report_read(request, page)
    except ValidationFailed as refused_input:
        context["errors"] = refused_input.field_errors
        return render(request, page.template, context, status=400)
    paging = request.GET.copy()
    paging.pop("page", None)
    period = read.period
    context.update(
        page.show(read.found, period, read.filters),
        **printed(period, read.filters, read.options),
        export_query=request.GET.urlencode(),
        paging_query=paging.urlencode(),
        file_period=f"{period.start.isoformat()}-{period.end.isoformat()}",
    )
    return render(request, page.template, context)


@login_required
@require_GET
def report_export(request: SignedInRequest, name: str) -> HttpResponse:
    """A report as CSV or XLSX, for the same parameters as its page; 400 naming the
    refused ones."""
    try:
        read = report_read(request, REPORTS[name])
        return export_response(request, REPORTS[name].table(read.found))
    except ValidationFailed as errors:
        return refused(errors)


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
        file_period=f"{month:%Y-%m}",
        **printed(report.period, filters),
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
