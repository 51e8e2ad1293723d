"""Periods of local dates as database filters."""

from __future__ import annotations

import datetime as dt

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
