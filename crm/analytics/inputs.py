"""The input every report shares — period and filters — read from a page's query string
or the API's parameters alike, so the two refuse the same values with the same messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from crm.analytics.filters import ReportFilters, filters_parse
from crm.analytics.periods import Period, period_parse, user_time_zone
from crm.analytics.selectors import dashboard as dashboard_selectors
from crm.core.errors import ValidationFailed


def report_input(params: Mapping[str, Any], *, viewer: Any) -> tuple[Period, ReportFilters]:
    """The period (in the viewer's zone, relative to their today) and the filters of
    ``params``; raises ``ValidationFailed`` naming every refused parameter at once."""
    zone = user_time_zone(viewer)
    today = dashboard_selectors.clock().astimezone(zone).date()
    errors: dict[str, list[str]] = {}
    period = filters = None
    try:
        period = period_parse(params, today=today, zone=zone)
    except ValidationFailed as refused:
        errors.update(refused.field_errors)
    try:
        filters = filters_parse(params, viewer=viewer)
    except ValidationFailed as refused:
        errors.update(refused.field_errors)
    if errors or period is None or filters is None:
        raise ValidationFailed(field_errors=errors)
    return period, filters


def plan_input(params: Mapping[str, Any], *, viewer: Any) -> tuple[dt.date, ReportFilters]:
    """The month (``month=YYYY-MM``, the viewer's current month without it) and the filters
    of the plan report; raises ``ValidationFailed`` naming every refused parameter."""
    from crm.analytics.services import current_month, month_parse

    errors: dict[str, list[str]] = {}
    month = filters = None
    try:
        raw = params.get("month")
        month = month_parse(raw) if raw not in (None, "") else current_month(viewer)
    except ValidationFailed as refused:
        errors.update(refused.field_errors)
    try:
        filters = filters_parse(params, viewer=viewer)
    except ValidationFailed as refused:
        errors.update(refused.field_errors)
    if errors or month is None or filters is None:
        raise ValidationFailed(field_errors=errors)
    return month, filters
