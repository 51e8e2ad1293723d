"""Reminders of tasks: their moments, and their delivery exactly once by the sweep.

A reminder fires ``minutes_before`` the task's due time (for an all-day task, the start of
the working day). Delivery is a write: ``reminders_deliver`` claims due rows and, in the same
transaction, writes the notifications (``notifications.notify_many``, which e-mails a copy
after commit) and marks the rows sent. On PostgreSQL the claim is ``SELECT … FOR UPDATE SKIP
LOCKED``, so two workers take different rows; on SQLite every write transaction starts with
``BEGIN IMMEDIATE``, so the second worker waits and then sees the rows sent. A worker that
dies mid-batch rolls back and another delivers the batch later, once; the notification's
``dedupe_key`` (``reminder:<id>``) guards the same once again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.notifications.models import Notification
from crm.notifications.services import notify_many
from crm.planner.calendars import default_calendar
from crm.planner.choices import TaskStatus
from crm.planner.models import Task, TaskReminder

logger = logging.getLogger("crm.planner")

ReminderSpec = int | dt.datetime
"""Minutes before the due time, or the moment itself (aware, not after the due time)."""

REMINDERS_MAX = 5
OFFSET_MAX_MINUTES = 60 * 24 * 60  # 60 days
REMINDER_BATCH = 200
REMINDER_BATCHES_PER_RUN = 25


def reference_moment(due_at: dt.datetime, all_day: bool) -> dt.datetime:
    """What reminders count back from: the due time, or an all-day task's working-day start."""
    if not all_day:
        return due_at
    calendar = default_calendar()
    day = timezone.localdate(due_at, calendar.zone)
    return dt.datetime.combine(day, calendar.day_start, calendar.zone)


def reminder_offsets(
    errors: Any, *, due_at: dt.datetime | None, all_day: bool, reminders: Sequence[ReminderSpec]
) -> list[int]:
    """Minutes before the due time of each wanted reminder, checked.

    ``errors.add(field, message)`` collects the refusals: a reminder after the due time,
    one without a due time, a naive moment, more than five, more than 60 days before.
    """
    if not reminders:
        return []
    if due_at is None:
        errors.add("reminders", _("Set the due time first."))
        return []
    if len(reminders) > REMINDERS_MAX:
        errors.add("reminders", _("At most %(n)d reminders.") % {"n": REMINDERS_MAX})
        return []
    reference = reference_moment(due_at, all_day)
    offsets: list[int] = []
    for index, spec in enumerate(reminders):
        field = f"reminders[{index}]"
        if isinstance(spec, dt.datetime):
            if timezone.is_naive(spec):
                errors.add(field, _("Give the time zone of the reminder."))
                continue
            if spec > reference:
                errors.add(field, _("The reminder is after the due time."))
                continue
            minutes = int((reference - spec).total_seconds() // 60)
        elif isinstance(spec, int) and not isinstance(spec, bool):
            if spec < 0:
                errors.add(field, _("The reminder is after the due time."))
                continue
            minutes = spec
        else:
            errors.add(field, _("Give minutes before the due time."))
            continue
        if minutes > OFFSET_MAX_MINUTES:
            errors.add(field, _("At most 60 days before the due time."))
            continue
        offsets.append(minutes)
    return sorted(set(offsets))


def _plan(reminder: TaskReminder, task: Task, now: dt.datetime) -> None:
    """Set ``fire_at`` from the task; decide whether the reminder is still to be sent.

    A reminder whose moment is ahead is pending. One whose moment has passed is consumed
    unsent (a task moved into the past, a reminder set too late, a closed task), except a
    pending one whose moment did not change: the sweep is about to deliver it.
    """
    if task.due_at is None:
        fire_at = reminder.fire_at or now
    else:
        fire_at = reference_moment(task.due_at, task.all_day) - dt.timedelta(
            minutes=reminder.minutes_before
        )
    unchanged = reminder.pk is not None and reminder.fire_at == fire_at
    reminder.fire_at = fire_at
    if task.status != TaskStatus.OPEN or task.due_at is None:
        if reminder.sent_at is None:
            reminder.sent_at = now
        return
    if fire_at > now:
        reminder.sent_at, reminder.delivered_count = None, 0
    elif reminder.sent_at is None and not unchanged:
        reminder.sent_at = now


def reminders_replace(*, task: Task, offsets: Sequence[int]) -> list[TaskReminder]:
    """Make the task's reminders exactly ``offsets`` (minutes before), keeping the rows of
    the offsets it already had. Call inside the task's transaction."""
    now = timezone.now()
    existing = {reminder.minutes_before: reminder for reminder in task.reminders.all()}
    gone = [reminder.pk for offset, reminder in existing.items() if offset not in offsets]
    if gone:
        TaskReminder.objects.filter(pk__in=gone).delete()
    kept: list[TaskReminder] = []
    new: list[TaskReminder] = []
    for offset in offsets:
        reminder = existing.get(offset) or TaskReminder(task=task, minutes_before=offset)
        _plan(reminder, task, now)
        (kept if reminder.pk else new).append(reminder)
    if kept:
        TaskReminder.objects.bulk_update(kept, ["fire_at", "sent_at", "delivered_count"])
    if new:
        TaskReminder.objects.bulk_create(new)
    return kept + new


def reminders_recompute(*, task: Task) -> None:
    """Move the task's reminders after its due time or status changed."""
    reminders_replace(
        task=task, offsets=list(task.reminders.values_list("minutes_before", flat=True))
    )


def reminders_close(*, task: Task) -> int:
    """Drop the unsent reminders of a closed task (they are consumed, not delivered)."""
    return task.reminders.filter(sent_at__isnull=True).update(sent_at=timezone.now())


# --- delivery ------------------------------------------------------------------------------


def _moment(task: Task) -> str:
    if task.due_at is None:
        return ""
    local = timezone.localtime(task.due_at)
    if task.all_day:
        return formats.date_format(local, "DATE_FORMAT")
    return formats.date_format(local, "SHORT_DATETIME_FORMAT")


def _titles(reminder: TaskReminder) -> tuple[Callable[[Any], str], Callable[[Any], str]]:
    """The title for the task's people and the one for a substitute, in each one's language."""
    task = reminder.task
    owner = task.owner

    def title(user: User) -> str:
        if reminder.minutes_before == 0:
            return _("Due now: %(title)s") % {"title": task.title}
        return _("Reminder: %(title)s, due %(when)s") % {
            "title": task.title,
            "when": _moment(task),
        }

    def cover_title(user: User) -> str:
        return _("Reminder for %(user)s, whom you cover: %(title)s, due %(when)s") % {
            "user": owner,
            "title": task.title,
            "when": _moment(task),
        }

    return title, cover_title


def _body(reminder: TaskReminder) -> Callable[[Any], str]:
    task = reminder.task

    def body(user: User) -> str:
        lines = [f"{task.type.label}: {task.title}", _("Due: %(when)s") % {"when": _moment(task)}]
        subject = getattr(task, "subject_record", None)
        if subject is not None:
            lines.append(str(subject))
        if task.description:
            lines += ["", task.description[:1000]]
        return "\n".join(lines)

    return body


def _claim(now: dt.datetime, limit: int) -> list[TaskReminder]:
    """Lock and load up to ``limit`` due, unsent reminders no other worker holds."""
    due = TaskReminder.objects.filter(sent_at__isnull=True, fire_at__lte=now).order_by(
        "fire_at", "id"
    )
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True)
    ids = list(due.values_list("pk", flat=True)[:limit])
    if not ids:
        return []
    active = get_user_model().objects.filter(is_active=True)
    return list(
        TaskReminder.objects.filter(pk__in=ids)
        .select_related("task__owner", "task__type")
        .prefetch_related(models.Prefetch("task__coworkers", queryset=active))
        .order_by("fire_at", "id")
    )


@transaction.atomic
def _deliver_batch(now: dt.datetime, limit: int) -> dict[str, int]:
    from crm.planner.selectors import attach_subjects
    from crm.planner.services.absences import substitutes_on

    reminders = _claim(now, limit)
    counts = {"claimed": len(reminders), "delivered": 0, "skipped": 0, "notifications": 0}
    if not reminders:
        return counts
    live = [r for r in reminders if r.task.status == TaskStatus.OPEN and r.task.due_at]
    attach_subjects([r.task for r in live])
    cover = substitutes_on(day=timezone.localdate(now), user_ids={r.task.owner_id for r in live})
    live_ids = {reminder.pk for reminder in live}
    for reminder in reminders:
        reminder.sent_at = now
        if reminder.pk not in live_ids:
            counts["skipped"] += 1
            continue
        task = reminder.task
        people = {task.owner_id: task.owner}
        people.update({user.pk: user for user in task.coworkers.all()})
        title, cover_title = _titles(reminder)
        url = reverse("planner:task_detail", args=[task.pk])
        key = f"reminder:{reminder.pk}"
        body = _body(reminder)
        rows = notify_many(
            recipients=people.values(),
            kind=Notification.Kind.REMINDER,
            title=title,
            body=body,
            url=url,
            dedupe_key=key,
        )
        substitute = cover.get(task.owner_id)
        if substitute is not None and substitute.pk not in people:
            rows += notify_many(
                recipients=[substitute],
                kind=Notification.Kind.REMINDER,
                title=cover_title,
                body=body,
                url=url,
                dedupe_key=key,
            )
        reminder.delivered_count = len(rows)
        counts["delivered"] += 1
        counts["notifications"] += len(rows)
    TaskReminder.objects.bulk_update(reminders, ["sent_at", "delivered_count"])
    return counts


def reminders_deliver(
    *,
    now: dt.datetime | None = None,
    batch: int = REMINDER_BATCH,
    max_batches: int = REMINDER_BATCHES_PER_RUN,
) -> dict[str, int]:
    """Deliver every reminder due at ``now`` (the clock, if None) that is not sent yet.

    Runs batches of ``batch`` rows, each in its own transaction, until none is left or
    ``max_batches`` ran (the scheduler calls again a second later, so a backlog after
    downtime drains without starving the other sweeps). Reminders of closed tasks are
    consumed unsent. Safe to run in any number of processes at once. Returns the counts:
    ``delivered`` reminders, ``skipped`` ones and ``notifications`` written.
    """
    total = {"delivered": 0, "skipped": 0, "notifications": 0}
    for _round in range(max_batches):
        counts = _deliver_batch(now or timezone.now(), batch)
        for key in total:
            total[key] += counts[key]
        if counts["claimed"] < batch:
            break
    if total["delivered"] or total["skipped"]:
        logger.info(
            "reminders_deliver delivered=%s skipped=%s notifications=%s",
            total["delivered"],
            total["skipped"],
            total["notifications"],
        )
    return total
