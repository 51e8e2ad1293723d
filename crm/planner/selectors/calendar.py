"""The calendar grid: a day, a week or a month of tasks with who is away, counted in the
database so the cost hardly grows with the number of tasks."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, Window
from django.db.models.functions import ExtractHour, RowNumber, TruncDate
from django.utils import timezone

from crm.accounts.models import User
from crm.core.permissions import can_write, sees_everything
from crm.planner.choices import TaskStatus
from crm.planner.models import Absence, Task, TaskType
from crm.planner.permissions import TASK, covered_user_ids
from crm.planner.selectors.tasks import day_start, tasks_visible_to, team_owner_ids

MONTH_CELL_MAX = 4
SLOT_CELL_MAX = 3
DAY_SLOT_MAX = 30

# --- the calendar --------------------------------------------------------------------------


@dataclass
class CalendarItem:
    """A task in a calendar cell: only what the cell shows."""

    id: int
    title: str
    due_at: dt.datetime
    local: dt.datetime
    all_day: bool
    duration_minutes: int | None
    type_code: str
    priority: int
    owner_id: int
    owner_name: str = ""
    is_overdue: bool = False
    can_move: bool = False


@dataclass
class CalendarDay:
    day: dt.date
    in_period: bool
    is_today: bool
    items: list[CalendarItem] = field(default_factory=list)
    more: int = 0  # not shown: past the month cell's room, or the all-day row's
    absent: list[str] = field(default_factory=list)
    all_day: list[CalendarItem] = field(default_factory=list)


@dataclass
class CalendarView:
    view: str
    anchor: dt.date
    start: dt.date
    end: dt.date  # exclusive
    weeks: list[list[CalendarDay]]
    hours: list[int]
    previous: dt.date
    next: dt.date
    total: int
    # Week and day views: per hour, each day's cell with its first items and how many more.
    hour_rows: list[tuple[int, list[tuple[CalendarDay, list[CalendarItem], int]]]]

    @property
    def last(self) -> dt.date:
        return self.end - dt.timedelta(days=1)


def _period(view: str, anchor: dt.date) -> tuple[dt.date, dt.date, dt.date, dt.date]:
    """The grid's first and last-exclusive days and the anchors of the previous and next."""
    if view == "day":
        return (
            anchor,
            anchor + dt.timedelta(days=1),
            anchor - dt.timedelta(days=1),
            anchor + dt.timedelta(days=1),
        )
    if view == "week":
        start = anchor - dt.timedelta(days=anchor.weekday())
        return (
            start,
            start + dt.timedelta(days=7),
            start - dt.timedelta(days=7),
            start + dt.timedelta(days=7),
        )
    first = anchor.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    start = first - dt.timedelta(days=first.weekday())
    end = following + dt.timedelta(days=(7 - following.weekday()) % 7)
    return start, end, previous, following


def calendar_owner_ids(*, user: User, scope: str, team_id: int | None) -> set[int]:
    """Whose tasks the calendar shows: the user's and the colleagues they cover, or a team."""
    if scope == "team":
        return team_owner_ids(user, team_id)
    return {user.pk, *covered_user_ids(user)}


def calendar_view(
    *,
    user: User,
    view: str,
    anchor: dt.date,
    scope: str = "mine",
    team_id: int | None = None,
    now: dt.datetime | None = None,
) -> CalendarView:
    """The grid of a day, a week (Monday first) or a month, with the open and done tasks of
    the scope in their cells and who is away each day.

    A month cell shows ``MONTH_CELL_MAX`` tasks, a week's hour ``SLOT_CELL_MAX``, a day's
    hour ``DAY_SLOT_MAX``, then "+N". The database does the counting: one query returns only
    the first tasks of each cell (day, or day and hour) with the cell's count, two window
    functions over one scan, so only the rows shown travel and the query count is fixed.
    """
    now = now or timezone.now()
    zone = timezone.get_current_timezone()
    today = timezone.localdate(now)
    start, end, previous, following = _period(view, anchor)
    owners = calendar_owner_ids(user=user, scope=scope, team_id=team_id)
    wanted = Q(
        due_at__gte=day_start(start),
        due_at__lt=day_start(end),
        status__in=[TaskStatus.OPEN, TaskStatus.DONE],
    )
    if scope == "team":
        rows = tasks_visible_to(user).filter(owner_id__in=sorted(owners))
    else:
        rows = TASK.restrict_to_mine(Task.objects.all(), user, owners, wanted)
    rows = rows.filter(wanted).annotate(cell_day=TruncDate("due_at", tzinfo=zone))
    if view == "month":
        cell = ["cell_day"]
        cap = MONTH_CELL_MAX
    else:
        # All-day tasks are due at local midnight: hour 0 of their day, in their own row.
        rows = rows.annotate(cell_hour=ExtractHour("due_at", tzinfo=zone))
        cell = ["cell_day", "all_day", "cell_hour"]
        cap = max(MONTH_CELL_MAX, SLOT_CELL_MAX if view == "week" else DAY_SLOT_MAX)
    shown = list(
        rows.annotate(
            place=Window(
                RowNumber(),
                partition_by=[F(name) for name in cell],
                order_by=[F("due_at").asc(), F("id").asc()],
            ),
            in_cell=Window(Count("id"), partition_by=[F(name) for name in cell]),
        )
        .filter(place__lte=cap)
        .order_by("due_at", "id")
        .values_list(
            "id", "title", "due_at", "all_day", "duration_minutes", "type_id", "priority",
            "owner_id", "status", *(name for name in cell if name != "all_day"), "in_cell",
        )
    )  # fmt: skip
    # How many tasks each cell holds, shown or not (every cell with tasks has a shown row).
    # The cell: (day,) in a month, (day, all-day?, hour) in a week or a day.
    counts: dict[tuple[Any, ...], int] = {
        (row[9],) if view == "month" else (row[9], bool(row[3]), row[10]): row[-1] for row in shown
    }
    # Names and type codes for the few shown rows, not joined into the windowed scan.
    shown = list(shown)
    names = {
        pk: f"{first} {last}".strip() or username
        for pk, first, last, username in get_user_model()
        .objects.filter(pk__in={row[7] for row in shown})
        .values_list("id", "first_name", "last_name", "username")
    }
    codes = dict(TaskType.objects.values_list("id", "code"))
    writable, admin, mine = can_write(user), sees_everything(user), TASK.owner_ids(user)
    days: dict[dt.date, CalendarDay] = {}
    current = start
    while current < end:
        in_period = view != "month" or current.month == anchor.month
        days[current] = CalendarDay(current, in_period, current == today)
        current += dt.timedelta(days=1)
    timed_hours = [key[2] for key in counts if view != "month" and not key[1]]
    hours = list(range(min([8, *timed_hours]), max([20, *timed_hours]) + 1))
    slot_cap = SLOT_CELL_MAX if view == "week" else DAY_SLOT_MAX
    by_slot: dict[tuple[dt.date, int], list[CalendarItem]] = defaultdict(list)
    for pk, title, due_at, all_day, duration, type_id, priority, owner_id, status, *_cell in shown:
        local = due_at.astimezone(zone)
        day = days.get(local.date())
        if day is None:
            continue
        is_open = status == TaskStatus.OPEN
        item = CalendarItem(
            pk, title, due_at, local, all_day, duration,
            codes.get(type_id, "") if is_open else "done", priority, owner_id,
            owner_name=names.get(owner_id, ""),
            is_overdue=is_open and (local.date() < today if all_day else due_at < now),
            can_move=is_open and writable and (admin or owner_id in mine),
        )  # fmt: skip
        if view == "month":
            day.items.append(item)
        elif all_day:
            if len(day.all_day) < MONTH_CELL_MAX:
                day.all_day.append(item)
        elif len(by_slot[(day.day, local.hour)]) < slot_cap:
            by_slot[(day.day, local.hour)].append(item)
    for key, count in counts.items():
        day = days.get(key[0])
        if day is None:
            continue
        if view == "month":
            day.more = count - len(day.items)
        elif key[1]:
            day.more = count - len(day.all_day)
    hour_rows: list[tuple[int, list[tuple[CalendarDay, list[CalendarItem], int]]]] = []
    if view != "month":
        for hour in hours:
            row = []
            for day in days.values():
                items = by_slot[(day.day, hour)]
                row.append((day, items, counts.get((day.day, False, hour), 0) - len(items)))
            hour_rows.append((hour, row))
    for absence in (
        Absence.objects.overlapping(start, end - dt.timedelta(days=1))
        .filter(user_id__in=owners)
        .select_related("user")
    ):
        current = max(absence.starts_on, start)
        while current <= absence.ends_on and current < end:
            days[current].absent.append(str(absence.user))
            current += dt.timedelta(days=1)
    ordered = list(days.values())
    weeks = [ordered[index : index + 7] for index in range(0, len(ordered), 7)]
    return CalendarView(
        view, anchor, start, end, weeks, hours, previous, following, sum(counts.values()),
        hour_rows,
    )  # fmt: skip
