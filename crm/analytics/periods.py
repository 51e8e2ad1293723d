"""Report periods: a preset (this or the previous week, month, quarter, year) or a custom
range of local dates, in the user's time zone, with the period before it for comparison.

A period is a range of whole local days ``start``..``end`` (both included); ``start_at`` and
``end_at`` are the aware moments of its first midnight and of the midnight after its last
day, so a filter ``start_at <= moment < end_at`` takes exactly its days in that zone.
The period before a preset is the previous calendar unit (the month before this month);
before a custom range, the same number of days just before it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.accounts.models import User
from crm.accounts.zones import user_zone
from crm.core.errors import ValidationFailed

MAX_DAYS = 5 * 366
PRESETS = {
    "this_week": gettext_lazy("This week"),
    "this_month": gettext_lazy("This month"),
    "this_quarter": gettext_lazy("This quarter"),
    "this_year": gettext_lazy("This year"),
    "last_week": gettext_lazy("Last week"),
    "last_month": gettext_lazy("Last month"),
    "last_quarter": gettext_lazy("Last quarter"),
    "last_year": gettext_lazy("Last year"),
    "custom": gettext_lazy("Custom range"),
}
UNITS = ("week", "month", "quarter", "year")


@dataclass(frozen=True)
class Period:
    """Local days ``start``..``end`` in ``zone``; ``unit`` is the calendar unit of a preset
    (``""`` for a custom range)."""

    start: dt.date
    end: dt.date
    zone: ZoneInfo
    unit: str = ""
    preset: str = "custom"

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time.min, self.zone)

    @property
    def end_at(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, self.zone)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period just before: the previous calendar unit, or as many days before."""
        if self.unit:
            return unit_period(self.unit, self.start - dt.timedelta(days=1), self.zone)
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end, self.zone)

    def as_dict(self) -> dict[str, Any]:
        return {"preset": self.preset, "date_from": self.start, "date_to": self.end}


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def unit_period(unit: str, day: dt.date, zone: ZoneInfo, preset: str = "") -> Period:
    """The calendar ``unit`` (week from Monday, month, quarter, year) that holds ``day``."""
    if unit == "week":
        start = day - dt.timedelta(days=day.weekday())
        end = start + dt.timedelta(days=6)
    elif unit == "month":
        start = day.replace(day=1)
        end = add_months(start, 1) - dt.timedelta(days=1)
    elif unit == "quarter":
        start = _quarter_start(day)
        end = add_months(start, 3) - dt.timedelta(days=1)
    else:
        start = dt.date(day.year, 1, 1)
        end = dt.date(day.year, 12, 31)
    return Period(start, end, zone, unit, preset or f"this_{unit}")


def user_time_zone(user: User) -> ZoneInfo:
    """The zone a user's periods are counted in: their own ``time_zone`` if set, otherwise
    the zone of their first team (by name) that sets one, otherwise the site's
    ``TIME_ZONE`` (``crm.accounts.zones.user_zone``)."""
    return user_zone(user)


def _parse_date(
    params: Mapping[str, Any], name: str, errors: dict[str, list[str]]
) -> dt.date | None:
    raw = params.get(name)
    if raw in (None, ""):
        errors[name] = [_("Enter a date.")]
        return None
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        errors[name] = [_("Enter a date as YYYY-MM-DD.")]
        return None


def period_parse(
    params: Mapping[str, Any], *, today: dt.date, zone: ZoneInfo, default: str = "this_month"
) -> Period:
    """The period the query parameters ``period`` (a preset or ``custom``), ``date_from``
    and ``date_to`` describe, relative to the local ``today``.

    Raises ``ValidationFailed`` naming the parameter: an unknown preset, a missing or
    malformed date, an end before the start, a range over five years.
    """
    preset = str(params.get("period") or default)
    if preset not in PRESETS:
        raise ValidationFailed(field_errors={"period": [_("Unknown period.")]})
    if preset != "custom":
        which, unit = preset.split("_", 1)
        current = unit_period(unit, today, zone)
        if which == "this":
            return current
        before = current.previous()
        return Period(before.start, before.end, zone, unit, preset)
    errors: dict[str, list[str]] = {}
    start = _parse_date(params, "date_from", errors)
    end = _parse_date(params, "date_to", errors)
    if start and end and end < start:
        errors["date_to"] = [_("The end of the period is before its start.")]
    elif start and end and (end - start).days + 1 > MAX_DAYS:
        errors["date_to"] = [_("The period may not be longer than five years.")]
    if errors or start is None or end is None:
        raise ValidationFailed(field_errors=errors)
    return Period(start, end, zone)
