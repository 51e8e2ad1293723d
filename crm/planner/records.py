"""What the planner declares in the registry (``crm.core.records``): the task kind, the
substitutes who get the notices of an absent colleague, the planner's sweeps, the task
list's export and the task tables of the full export."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext_lazy as _

from crm.core.records import BaseTable, CoverLookup, OwnerMover, RecordKind, Sweep
from crm.planner.exports import TASK_EXPORT
from crm.planner.models import Task, TaskType
from crm.planner.permissions import TASK
from crm.planner.services import (
    digests_send,
    escalations_run,
    reminders_deliver,
    substitutes_today,
    tasks_hand_over,
    tasks_open_of,
)


def _quiet(sweep: Callable[[], dict[str, int]]) -> Callable[[], dict[str, int] | None]:
    """The sweep, answering None when it did nothing, so the scheduler logs only work."""

    def run() -> dict[str, int] | None:
        counts = sweep()
        return counts if any(counts.values()) else None

    return run


CONTRIBUTIONS = [
    RecordKind(
        key="task",
        model=Task,
        policy=TASK,
        label=_("Task"),
        plural_label=_("Tasks"),
        url="planner:task_detail",
    ),
    OwnerMover("task", tasks_open_of, tasks_hand_over, order=50),
    TASK_EXPORT,
    BaseTable("task_types", TaskType, order=85),
    BaseTable("tasks", Task, order=90, many=("coworkers", "watchers")),
    # The notices about an absent colleague's clients reach their substitute too.
    CoverLookup("planner.substitutes", substitutes_today),
    Sweep("planner.reminders", 1, _quiet(reminders_deliver)),
    Sweep("planner.overdue_digests", 60, _quiet(digests_send)),
    Sweep("planner.escalations", 300, _quiet(escalations_run)),
]
