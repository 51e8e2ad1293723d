"""The working calendar deadlines are counted on (settings ``CRM_WORK_*``)."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from crm.core.workhours import WorkCalendar, parse_holidays, parse_hours, parse_weekdays


@cache
def default_calendar() -> WorkCalendar:
    start, end = parse_hours(settings.WORK_HOURS)
    return WorkCalendar(
        time_zone=settings.TIME_ZONE,
        day_start=start,
        day_end=end,
        weekdays=parse_weekdays(settings.WORK_DAYS),
        holidays=parse_holidays(settings.WORK_HOLIDAYS),
    )
