"""Reads of the planner: who sees which task, "My day", the task list, the record panel
(``tasks``), the calendar grid (``calendar``) and the absences (``absences``). Each
selector applies the viewer's scope and owns its related loading, so a page costs the same
number of queries for one row and for many. Other apps import from here.
"""

from crm.planner.selectors.absences import (
    AwayRow,
    absence_board,
    absence_people,
    absences_visible_to,
    away_user_ids,
    user_teams,
)
from crm.planner.selectors.calendar import (
    DAY_SLOT_MAX,
    MONTH_CELL_MAX,
    SLOT_CELL_MAX,
    CalendarDay,
    CalendarItem,
    CalendarView,
    calendar_owner_ids,
    calendar_view,
)
from crm.planner.selectors.tasks import (
    LIST_LIMIT,
    PANEL_LIMIT,
    MyDay,
    TaskFilters,
    assignable_users,
    attach_subjects,
    my_day,
    overdue_filter,
    people_choices,
    task_detail,
    task_prefetch_api,
    task_table,
    task_types,
    tasks_panel,
    tasks_visible_to,
    team_owner_ids,
    teams_led,
    user_by_id,
)

__all__ = [
    "DAY_SLOT_MAX",
    "LIST_LIMIT",
    "MONTH_CELL_MAX",
    "PANEL_LIMIT",
    "SLOT_CELL_MAX",
    "AwayRow",
    "CalendarDay",
    "CalendarItem",
    "CalendarView",
    "MyDay",
    "TaskFilters",
    "absence_board",
    "absence_people",
    "absences_visible_to",
    "assignable_users",
    "attach_subjects",
    "away_user_ids",
    "calendar_owner_ids",
    "calendar_view",
    "my_day",
    "overdue_filter",
    "people_choices",
    "task_detail",
    "task_prefetch_api",
    "task_table",
    "task_types",
    "tasks_panel",
    "tasks_visible_to",
    "team_owner_ids",
    "teams_led",
    "user_by_id",
    "user_teams",
]
