"""Click-through: the query strings of the deal and lead lists that show exactly the
records behind a report's figure (same period, in the viewer's zone, and same filters)."""

from __future__ import annotations

from urllib.parse import urlencode

from crm.analytics.filters import ReportFilters
from crm.analytics.periods import Period


def deals_closed_query(period: Period, filters: ReportFilters, status: str) -> str:
    """The deal list's query for the deals of ``status`` (won or lost) closed in ``period``
    under ``filters`` (the list reads the dates in the viewer's zone, as the report does)."""
    params = {
        "status": status,
        "closed_from": period.start.isoformat(),
        "closed_to": period.end.isoformat(),
        **{
            "owner" if name == "manager" else name: value for name, value in filters.query().items()
        },
    }
    return urlencode(params)


def leads_created_query(period: Period, **extra: str) -> str:
    """The lead list's query for the leads created in ``period`` (and ``extra`` filters)."""
    params = {"created_from": period.start.isoformat(), "created_to": period.end.isoformat()}
    return urlencode({**params, **extra})
