"""Writes of the planner: tasks, reminders and their delivery, absences and cover, overdue
digests and escalation, calendar-feed tokens.

Modules: ``tasks`` (create, edit, complete, reopen, cancel, reschedule, reassign),
``subjects`` (the records tasks belong to), ``movers`` (tasks moved on a merge or a handover),
``reminders`` (moments and the delivery sweep), ``absences`` (who is away, cover),
``overdue`` (digests, escalation), ``feeds`` (secret calendar URLs). Other apps import from
here.
"""

from crm.planner.services.absences import (
    absence_can_manage,
    absence_cancel,
    absence_create,
    absence_get,
    absence_manageable_user_ids,
    substitutes_on,
    substitutes_today,
    users_away,
)
from crm.planner.services.feeds import (
    feed_token_authenticate,
    feed_token_create,
    feed_token_revoke,
)
from crm.planner.services.movers import (
    open_tasks_for,
    task_move,
    task_move_back,
    tasks_hand_over,
    tasks_open_of,
)
from crm.planner.services.overdue import digests_send, escalations_run, team_digest_set
from crm.planner.services.reminders import (
    reminder_offsets,
    reminders_deliver,
    reminders_replace,
)
from crm.planner.services.subjects import (
    subject_find,
    subject_history,
    subject_of,
    subject_url,
    subject_visible_to,
    task_url,
)
from crm.planner.services.tasks import (
    Errors,
    reminder_add,
    reminder_delete,
    task_can_change,
    task_cancel,
    task_complete,
    task_create,
    task_get,
    task_reassign,
    task_reopen,
    task_reschedule,
    task_type_get,
    task_update,
)

__all__ = [
    "Errors",
    "absence_can_manage",
    "absence_cancel",
    "absence_create",
    "absence_get",
    "absence_manageable_user_ids",
    "digests_send",
    "escalations_run",
    "feed_token_authenticate",
    "feed_token_create",
    "feed_token_revoke",
    "open_tasks_for",
    "reminder_add",
    "reminder_delete",
    "reminder_offsets",
    "reminders_deliver",
    "reminders_replace",
    "subject_find",
    "subject_history",
    "subject_of",
    "subject_url",
    "subject_visible_to",
    "substitutes_on",
    "substitutes_today",
    "task_can_change",
    "task_cancel",
    "task_complete",
    "task_create",
    "task_get",
    "task_move",
    "task_move_back",
    "task_reassign",
    "task_reopen",
    "task_reschedule",
    "task_type_get",
    "task_update",
    "task_url",
    "tasks_hand_over",
    "tasks_open_of",
    "team_digest_set",
    "users_away",
]
