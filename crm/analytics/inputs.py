"""The input every report shares — period and filters — read from a page's query string
or the API's parameters alike, so the two refuse the same values with the same messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from crm.accounts.models import User
from crm.analytics.filters import ReportFilters, filters_parse
from crm.analytics.periods import Period, period_parse, user_time_zone
from crm.analytics.selectors import dashboard as dashboard_selectors
from crm.core.errors import ValidationFailed


def named_at_once(**steps: Callable[[], Any]) -> dict[str, Any]:
    """Each step's value by its name; the refusals of all of them together in one
    ``ValidationFailed``, so a form or a query names every refused parameter at once."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, step in steps.items():
        try:
            values[name] = step()
        except ValidationFailed as refused:
            errors.update(refused.field_errors)
    if errors:
        raise ValidationFailed(field_errors=errors)
    return values


def report_input(
    params: Mapping[str, Any], *, viewer: User, product: bool = False
) -> tuple[Period, ReportFilters]:
    """The period (in the viewer's zone, relative to their today) and the filters of
    ``params`` (the product filter only where ``product``: the reports of deals); raises
    ``ValidationFailed`` naming every refused parameter at once."""
    zone = user_time_zone(viewer)
    today = dashboard_selectors.clock().astimezone(zone).date()
    parsed = named_at_once(
        period=lambda: period_parse(params, today=today, zone=zone),
        filters=lambda: filters_parse(params, viewer=viewer, product=product),
    )
    return parsed["period"], parsed["filters"]


def plan_input(params: Mapping[str, Any], *, viewer: User) -> tuple[dt.date, ReportFilters]:
    """The month (``month=YYYY-MM``, the viewer's current month without it) and the filters
    of the plan report; raises ``ValidationFailed`` naming every refused parameter."""
    from crm.analytics.services import current_month, month_parse

    raw = params.get("month")
    parsed = named_at_once(
        month=lambda: month_parse(raw) if raw not in (None, "") else current_month(viewer),
        filters=lambda: filters_parse(params, viewer=viewer, product=False),
    )
    return parsed["month"], parsed["filters"]
