"""Working time: "due in 4 working hours" and "in 2 working days" on a team's calendar.

A calendar is the working days of the week, the daily hours and a set of holidays, in one
time zone. Arithmetic walks whole days, so adding months of working time stays cheap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class WorkCalendar:
    time_zone: str = "Europe/Moscow"
    day_start: dt.time = dt.time(9, 0)
    day_end: dt.time = dt.time(18, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.day_end <= self.day_start:
            raise ValueError("The working day must end after it starts.")
        if not self.weekdays:
            raise ValueError("At least one working day a week is needed.")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def _bounds(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        zone = self.zone
        return (
            dt.datetime.combine(day, self.day_start, zone),
            dt.datetime.combine(day, self.day_end, zone),
        )

    def _next_working_day(self, day: dt.date) -> dt.date:
        day += dt.timedelta(days=1)
        for _ in range(366 * 2):
            if self.is_working_day(day):
                return day
            day += dt.timedelta(days=1)
        raise ValueError("No working day within two years.")

    def add_hours(self, start: dt.datetime, hours: float) -> dt.datetime:
        """The moment ``hours`` of working time after ``start`` (an aware datetime)."""
        if hours < 0:
            raise ValueError("hours must not be negative")
        remaining = dt.timedelta(hours=hours)
        moment = start.astimezone(self.zone)
        day = moment.date()
        if not self.is_working_day(day):
            day = self._next_working_day(day)
            moment = self._bounds(day)[0]
        while True:
            opens, closes = self._bounds(day)
            moment = max(moment, opens)
            if moment < closes:
                available = closes - moment
                if remaining <= available:
                    return moment + remaining
                remaining -= available
            day = self._next_working_day(day)
            moment = self._bounds(day)[0]

    def add_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """The same time of day ``days`` working days later (clamped into working hours)."""
        if days < 0:
            raise ValueError("days must not be negative")
        moment = start.astimezone(self.zone)
        day = moment.date()
        for _ in range(days):
            day = self._next_working_day(day)
        if not self.is_working_day(day):
            day = self._next_working_day(day)
        opens, closes = self._bounds(day)
        candidate = dt.datetime.combine(day, moment.timetz().replace(tzinfo=None), self.zone)
        return min(max(candidate, opens), closes)

    def working_hours_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working hours from ``start`` to ``end`` (0 when ``end`` is not later)."""
        if end <= start:
            return 0.0
        total = dt.timedelta()
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            if self.is_working_day(day):
                opens, closes = self._bounds(day)
                lo, hi = max(opens, start), min(closes, end)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total.total_seconds() / 3600


def parse_hours(value: str) -> tuple[dt.time, dt.time]:
    """``"09:00-18:00"`` → the two times; raises ``ValueError`` on anything else."""
    start_text, _, end_text = value.partition("-")
    return dt.time.fromisoformat(start_text.strip()), dt.time.fromisoformat(end_text.strip())


def parse_weekdays(value: str) -> frozenset[int]:
    """``"1-5"`` or ``"1,2,3,4,5"`` (ISO: Monday = 1) → Python weekdays (Monday = 0)."""
    days: set[int] = set()
    for part in value.split(","):
        first, _, last = part.strip().partition("-")
        low, high = int(first), int(last or first)
        if not 1 <= low <= high <= 7:
            raise ValueError(f"bad weekday range {part!r}")
        days.update(range(low - 1, high))
    return frozenset(days)


def parse_holidays(values: Collection[str]) -> frozenset[dt.date]:
    return frozenset(dt.date.fromisoformat(value.strip()) for value in values if value.strip())
