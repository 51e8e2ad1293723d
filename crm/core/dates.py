"""Periods of local dates as database filters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils import timezone


def local_dates(
    field: str,
    date_from: dt.date | None,
    date_to: dt.date | None,
    zone: dt.tzinfo | None = None,
) -> Q:
    """Rows whose moment ``field`` falls on the local dates ``date_from``..``date_to``.

    Both ends are included and either may be missing; the days are those of ``zone``, by
    default the current time zone, so a period means what the person who chose it sees.
    """
    zone = zone or timezone.get_current_timezone()
    condition = Q()
    if date_from:
        condition &= Q(**{f"{field}__gte": dt.datetime.combine(date_from, dt.time.min, zone)})
    if date_to:
        day_after = date_to + dt.timedelta(days=1)
        condition &= Q(**{f"{field}__lt": dt.datetime.combine(day_after, dt.time.min, zone)})
    return condition


def query_date(value: Any) -> dt.date | None:
    """A date from a query string (``YYYY-MM-DD``) within 1900–2100, or ``None``: list
    filters parse leniently, as a hand-edited URL should not break the page."""
    try:
        parsed = dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    return parsed if parsed and dt.date(1900, 1, 1) <= parsed <= dt.date(2100, 12, 31) else None
