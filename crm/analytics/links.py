"""Click-through: the query strings of the deal and lead lists that show exactly the
records behind a report's figure (same period, in the viewer's zone, and same filters)."""

from __future__ import annotations

from urllib.parse import urlencode

from crm.analytics.filters import ReportFilters
from crm.analytics.periods import Period
from crm.sales.models import Stage


def _deal_filters(filters: ReportFilters) -> dict[str, str]:
    """The report filters as the deal list names them (the manager is its ``owner``)."""
    return {
        "owner" if name == "manager" else name: value for name, value in filters.query().items()
    }


def deals_closed_query(period: Period, filters: ReportFilters, status: str) -> str:
    """The deal list's query for the deals of ``status`` (won or lost) closed in ``period``
    under ``filters`` (the list reads the dates in the viewer's zone, as the report does)."""
    params = {
        "status": status,
        "closed_from": period.start.isoformat(),
        "closed_to": period.end.isoformat(),
        **_deal_filters(filters),
    }
    return urlencode(params)


def deals_reached_query(
    period: Period, filters: ReportFilters, stage: Stage, lost_here: bool = False
) -> str:
    """The deal list's query for the deals the funnel counts as having reached ``stage`` in
    ``period`` under ``filters`` (or, ``lost_here``, the lost ones whose furthest stage it
    was): the list evaluates them with the funnel's own query builder."""
    params = {
        "reached_stage": str(stage.pk),
        "reached_from": period.start.isoformat(),
        "reached_to": period.end.isoformat(),
        **({"lost_here": "1"} if lost_here else {}),
        **_deal_filters(filters),
    }
    return urlencode(params)


def leads_created_query(period: Period, **extra: str) -> str:
    """The lead list's query for the leads created in ``period`` (and ``extra`` filters)."""
    params = {"created_from": period.start.isoformat(), "created_to": period.end.isoformat()}
    return urlencode({**params, **extra})
