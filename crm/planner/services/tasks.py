"""Tasks: create, edit, complete, reopen, cancel, reschedule, reassign; moving them on a merge.

A task of a record goes on that record's timeline twice: when it is planned and when it is
done (with its result). A task created by a rule carries its ``origin``. Every refusal
names the field and writes nothing: the checks run before the first write, inside one
transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.accounts.models import User
from crm.activities.choices import EntryKind
from crm.activities.services import timeline_record
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.permissions import can_write
from crm.core.policies import CHANGE
from crm.notifications.models import Notification
from crm.notifications.services import notify
from crm.planner.choices import CallOutcome, Priority, TaskStatus
from crm.planner.models import Task, TaskType
from crm.planner.permissions import TASK
from crm.planner.selectors import tasks_visible_to
from crm.planner.services.absences import substitutes_on
from crm.planner.services.reminders import (
    REMINDERS_MAX,
    ReminderSpec,
    reminder_offsets,
    reminders_close,
    reminders_recompute,
    reminders_replace,
)
from crm.planner.services.subjects import (
    subject_of,
    subject_unshare,
    subject_visible_to,
    task_url,
)

if TYPE_CHECKING:
    from crm.accounts.models import User

TITLE_MAX = 300
DESCRIPTION_MAX = 10000
RESULT_MAX = 5000
DURATION_MAX = 7 * 24 * 60
PEOPLE_MAX = 20
UNSET: Any = object()


class Errors(dict[str, list[str]]):
    """Field messages collected before anything is written."""

    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(str(message))

    def raise_if_any(self) -> None:
        if self:
            raise ValidationFailed(_("Check the task."), field_errors=dict(self))


def _errors(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("Check the task."), field_errors={field: [message]})


# --- checks --------------------------------------------------------------------------------


def task_type_get(code: str) -> TaskType:
    try:
        return TaskType.objects.get(code=code, archived=False)
    except TaskType.DoesNotExist:
        raise _errors("type", _("Unknown task type.")) from None


def _owner_problem(owner: User | None, subject: models.Model | None) -> str:
    if owner is None or not owner.is_active:
        return _("No such active user.")
    if not can_write(owner):
        return _("A read-only user cannot be responsible for a task.")
    # The record's own responsible sees it by the ownership rule: no query needed.
    if (
        subject is not None
        and getattr(subject, "owner_id", None) != owner.pk
        and not subject_visible_to(owner, subject)
    ):
        return _("This user has no access to the record.")
    return ""


def _checked_owner(owner: User | None, subject: models.Model | None) -> User:
    """``owner`` if they may be responsible for a task on ``subject``; refused otherwise."""
    problem = _owner_problem(owner, subject)
    if problem or owner is None:
        raise _errors("owner_id", problem)
    return owner


def _people(
    errors: Errors, field: str, ids: Iterable[Any], subject: models.Model | None
) -> list[Any]:
    """Active users by id for co-workers or watchers; each must see the record."""
    wanted: list[int] = []
    for value in ids:
        try:
            wanted.append(int(value))
        except (TypeError, ValueError):
            errors.add(field, _("Choose users from the list."))
            return []
    wanted = list(dict.fromkeys(wanted))
    if len(wanted) > PEOPLE_MAX:
        errors.add(field, _("At most %(n)d people.") % {"n": PEOPLE_MAX})
        return []
    users = list(get_user_model().objects.filter(pk__in=wanted, is_active=True))
    if len(users) != len(wanted):
        errors.add(field, _("No such active user."))
        return []
    for user in users:
        if subject is not None and not subject_visible_to(user, subject):
            errors.add(field, _("%(user)s has no access to the record.") % {"user": user})
    return users


def _clean_due(errors: Errors, due_at: dt.datetime | None, all_day: bool) -> dt.datetime | None:
    if due_at is None:
        if all_day:
            errors.add("due_at", _("Choose the day."))
        return None
    if not isinstance(due_at, dt.datetime):
        errors.add("due_at", _("Enter a valid date and time."))
        return None
    if timezone.is_naive(due_at):
        errors.add("due_at", _("Give the time zone of the due time."))
        return None
    if not 2000 <= due_at.year <= 2100:
        errors.add("due_at", _("Enter a date between 2000 and 2100."))
        return None
    if all_day:
        day = timezone.localdate(due_at)
        return timezone.make_aware(dt.datetime.combine(day, dt.time()))
    return due_at


def _clean_text(
    errors: Errors, *, title: str | None, description: str | None
) -> tuple[str | None, str | None]:
    if title is not None:
        title = " ".join((title or "").split())
        if not title:
            errors.add("title", _("This field is required."))
        elif len(title) > TITLE_MAX:
            errors.add("title", _("At most %(n)d characters.") % {"n": TITLE_MAX})
    if description is not None and len(description) > DESCRIPTION_MAX:
        errors.add("description", _("At most %(n)d characters.") % {"n": DESCRIPTION_MAX})
    return title, description


def _clean_numbers(errors: Errors, *, priority: Any, duration_minutes: Any) -> None:
    if priority is not UNSET and priority not in Priority.values:
        errors.add("priority", _("Unknown priority."))
    if duration_minutes not in (UNSET, None) and not (
        isinstance(duration_minutes, int) and 1 <= duration_minutes <= DURATION_MAX
    ):
        errors.add("duration_minutes", _("Between 1 and %(n)d minutes.") % {"n": DURATION_MAX})


def _type_or_error(errors: Errors, code: str) -> TaskType | None:
    try:
        return task_type_get(code)
    except ValidationFailed as error:
        for message in error.field_errors.get("type", []):
            errors.add("type", message)
        return None


def _check_change(actor: User, task: Task) -> None:
    TASK.check(actor, CHANGE, task)


def task_can_change(actor: User, task: Task) -> bool:
    """Whether ``actor`` may change ``task`` (which they see): for the pages' buttons."""
    return TASK.may_change(actor, task)


def _tell_owner(actor: User | None, task: Task, *, reassigned: bool = False) -> None:
    """The new responsible hears of a task someone else gave them (in the app only)."""
    if actor is None or task.owner_id == actor.pk:
        return
    notify(
        recipient=task.owner,
        kind=Notification.Kind.TASK,
        title=lambda _owner: (
            (
                _("%(user)s passed a task to you: %(title)s")
                if reassigned
                else _("%(user)s gave you a task: %(title)s")
            )
            % {"user": actor, "title": task.title}
        ),
        url=task_url(task),
        email=False,
    )


def _tell_substitute(actor: User | None, task: Task) -> None:
    """While the responsible is away, the colleague covering for them hears of a task given
    to them (by a person or by a rule, e.g. a missed call's call-back) in the app at once."""
    substitute = substitutes_on(day=timezone.localdate(), user_ids=[task.owner_id]).get(
        task.owner_id
    )
    if substitute is None or (actor is not None and substitute.pk == actor.pk):
        return
    notify(
        recipient=substitute,
        kind=Notification.Kind.TASK,
        title=lambda _substitute: (
            _("New task for %(user)s, whom you cover: %(title)s")
            % {"user": task.owner, "title": task.title}
        ),
        url=task_url(task),
        email=False,
        dedupe_key=f"task-cover:{task.pk}:{task.owner_id}",
    )


# --- writes --------------------------------------------------------------------------------


@transaction.atomic
def task_create(
    *,
    actor: User | None,
    title: str,
    owner: User,
    type_code: str = "todo",
    subject: models.Model | None = None,
    due_at: dt.datetime | None = None,
    all_day: bool = False,
    duration_minutes: int | None = None,
    description: str = "",
    priority: int = Priority.NORMAL,
    origin: str = "",
    check_actor: bool = True,
    coworker_ids: Iterable[Any] = (),
    watcher_ids: Iterable[Any] = (),
    reminders: Sequence[ReminderSpec] | None = None,
) -> Task:
    """Create a task; ``check_actor=False`` is for rules acting on the system's behalf.

    ``reminders`` are minutes before the due time or moments (aware datetimes) not after it;
    None means one reminder at the due time when there is one. The record's timeline gets a
    "task planned" entry; a responsible other than the actor is notified in the app.
    Raises ``ValidationFailed`` with every offending field, ``PermissionDenied`` for a
    read-only actor and ``NotFound`` for a record the actor may not see.
    """
    if check_actor:
        if actor is None or not can_write(actor):
            raise PermissionDenied(_("Your role may not create tasks."))
        if subject is not None and not subject_visible_to(actor, subject):
            raise NotFound(_("Not found."))
    errors = Errors()
    clean_title, clean_description = _clean_text(errors, title=title, description=description or "")
    _clean_numbers(errors, priority=priority, duration_minutes=duration_minutes)
    due_at = _clean_due(errors, due_at, all_day)
    task_type = _type_or_error(errors, type_code)
    problem = _owner_problem(owner, subject)
    if problem:
        errors.add("owner_id", problem)
    coworkers = _people(errors, "coworker_ids", coworker_ids, subject)
    watchers = _people(errors, "watcher_ids", watcher_ids, subject)
    offsets = reminder_offsets(
        errors,
        due_at=due_at,
        all_day=all_day,
        reminders=[0] if reminders is None and due_at else reminders or [],
    )
    errors.raise_if_any()
    assert clean_title is not None and task_type is not None  # refused above otherwise
    task = Task.objects.create(
        subject_type=ContentType.objects.get_for_model(subject) if subject is not None else None,
        subject_id=subject.pk if subject is not None else None,
        type=task_type,
        title=clean_title,
        description=clean_description or "",
        due_at=due_at,
        all_day=all_day,
        duration_minutes=duration_minutes,
        owner=owner,
        created_by=actor,
        priority=priority,
        origin=origin[:100],
    )
    if coworkers:
        task.coworkers.set(coworkers)
    if watchers:
        task.watchers.set(watchers)
    reminders_replace(task=task, offsets=offsets)
    if subject is not None:
        timeline_record(
            subject=subject,
            kind=EntryKind.SYSTEM,
            author=actor if check_actor else None,
            title=gettext_noop("Task planned"),
            body=task.title,
            data=_timeline_data(task),
        )
    if check_actor:
        _tell_owner(actor, task)
    _tell_substitute(actor, task)
    return task


def _timeline_data(task: Task) -> dict[str, Any]:
    return {
        "task_id": task.pk,
        "task": task.title,
        "type": task.type.code,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "all_day": task.all_day,
        "owner_id": task.owner_id,
    }


def task_get(*, actor: User, pk: int, for_update: bool = False) -> Task:
    """A task ``actor`` may see (``NotFound`` otherwise), locked with ``for_update``."""
    qs = tasks_visible_to(actor).select_related("type", "owner")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=pk)
    except (Task.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Not found.")) from None


@transaction.atomic
def task_update(
    *,
    actor: User,
    pk: int,
    title: str = UNSET,
    description: str = UNSET,
    type_code: str = UNSET,
    priority: int = UNSET,
    due_at: dt.datetime | None = UNSET,
    all_day: bool = UNSET,
    duration_minutes: int | None = UNSET,
    coworker_ids: Iterable[Any] = UNSET,
    watcher_ids: Iterable[Any] = UNSET,
    reminders: Sequence[ReminderSpec] = UNSET,
) -> Task:
    """Change the given fields of a task (the others stay). A new due time moves its
    reminders; new ``reminders`` replace them. Same refusals as ``task_create``."""
    task = task_get(actor=actor, pk=pk, for_update=True)
    _check_change(actor, task)
    subject = subject_of(task)
    errors = Errors()
    new_title, new_description = _clean_text(
        errors,
        title=None if title is UNSET else title,
        description=None if description is UNSET else (description or ""),
    )
    _clean_numbers(errors, priority=priority, duration_minutes=duration_minutes)
    new_all_day = task.all_day if all_day is UNSET else bool(all_day)
    due_changed = due_at is not UNSET or all_day is not UNSET
    new_due = (
        _clean_due(errors, task.due_at if due_at is UNSET else due_at, new_all_day)
        if due_changed
        else task.due_at
    )
    task_type = task.type if type_code is UNSET else _type_or_error(errors, type_code)
    coworkers = (
        None if coworker_ids is UNSET else _people(errors, "coworker_ids", coworker_ids, subject)
    )
    watchers = (
        None if watcher_ids is UNSET else _people(errors, "watcher_ids", watcher_ids, subject)
    )
    offsets = None
    if reminders is not UNSET:
        offsets = reminder_offsets(errors, due_at=new_due, all_day=new_all_day, reminders=reminders)
    elif due_changed and new_due is None and task.reminders.exists():
        offsets = []
    errors.raise_if_any()
    if new_title is not None:
        task.title = new_title
    if new_description is not None:
        task.description = new_description
    if priority is not UNSET:
        task.priority = priority
    if duration_minutes is not UNSET:
        task.duration_minutes = duration_minutes
    assert task_type is not None  # an unknown type was refused above
    task.type = task_type
    if due_changed:
        if new_due != task.due_at:
            task.escalated_at = None
        task.due_at, task.all_day = new_due, new_all_day
    task.save()
    if coworkers is not None:
        task.coworkers.set(coworkers)
    if watchers is not None:
        task.watchers.set(watchers)
    if offsets is not None:
        reminders_replace(task=task, offsets=offsets)
    elif due_changed:
        reminders_recompute(task=task)
    return task


@transaction.atomic
def task_complete(*, actor: User, pk: int, result: str = "", outcome: str = "") -> Task:
    """Close the task with its result; a done call needs its outcome. The record's timeline
    gets the done task with its result; reminders not yet sent are dropped."""
    task = task_get(actor=actor, pk=pk, for_update=True)
    _check_change(actor, task)
    if task.status != TaskStatus.OPEN:
        raise ValidationFailed(
            _("The task is already closed."), field_errors={"status": [_("Closed.")]}
        )
    result = (result or "").strip()
    errors = Errors()
    if len(result) > RESULT_MAX:
        errors.add("result", _("At most %(n)d characters.") % {"n": RESULT_MAX})
    if outcome and outcome not in CallOutcome.values:
        errors.add("outcome", _("Unknown outcome."))
    if task.type.code == "call" and not outcome:
        errors.add("outcome", _("How did the call go?"))
    errors.raise_if_any()
    task.status = TaskStatus.DONE
    task.completed_at = timezone.now()
    task.completed_by = actor
    task.result = result
    task.outcome = outcome
    task.save(
        update_fields=["status", "completed_at", "completed_by", "result", "outcome", "updated_at"]
    )
    subject = subject_of(task)
    _end_escalation_shares(task, subject)
    reminders_close(task=task)
    if subject is not None:
        timeline_record(
            subject=subject,
            kind=EntryKind.SYSTEM,
            author=actor,
            title=gettext_noop("Task done"),
            body="\n".join(part for part in (task.title, result) if part),
            data={**_timeline_data(task), "outcome": outcome, "result": result},
        )
    return task


def _end_escalation_shares(task: Task, subject: models.Model | None = None) -> None:
    """The task is closed: its record, shared by its escalation, is taken back. ``subject``
    is the task's record when the caller has read it already."""
    shares = list(task.escalation_shares.select_related("user"))
    if not shares:
        return
    subject = subject or subject_of(task)
    if subject is not None:
        for share in shares:
            subject_unshare(subject, share.user)
    task.escalation_shares.all().delete()


@transaction.atomic
def task_reopen(*, actor: User, pk: int) -> Task:
    """Open a done or cancelled task again; its reminders still ahead fire again."""
    task = task_get(actor=actor, pk=pk, for_update=True)
    _check_change(actor, task)
    if task.status == TaskStatus.OPEN:
        raise ValidationFailed(_("The task is open."), field_errors={"status": [_("Open.")]})
    task.status = TaskStatus.OPEN
    task.completed_at = None
    task.completed_by = None
    task.escalated_at = None
    task.save(
        update_fields=["status", "completed_at", "completed_by", "escalated_at", "updated_at"]
    )
    reminders_recompute(task=task)
    return task


@transaction.atomic
def task_cancel(*, actor: User, pk: int) -> Task:
    """Cancel an open task (kept, shown as cancelled); its reminders are dropped."""
    task = task_get(actor=actor, pk=pk, for_update=True)
    _check_change(actor, task)
    if task.status != TaskStatus.OPEN:
        raise ValidationFailed(
            _("The task is already closed."), field_errors={"status": [_("Closed.")]}
        )
    task.status = TaskStatus.CANCELLED
    task.completed_at = timezone.now()
    task.completed_by = actor
    task.save(update_fields=["status", "completed_at", "completed_by", "updated_at"])
    _end_escalation_shares(task)
    reminders_close(task=task)
    return task


@transaction.atomic
def task_reschedule(
    *, actor: User, pk: int, due_at: dt.datetime | None, all_day: bool = False
) -> Task:
    """Move an open task to another moment (or day); its reminders move with it."""
    task = task_get(actor=actor, pk=pk, for_update=True)
    _check_change(actor, task)
    errors = Errors()
    if task.status != TaskStatus.OPEN:
        errors.add("status", _("Reopen the task to reschedule it."))
    due_at = _clean_due(errors, due_at, all_day)
    errors.raise_if_any()
    task.due_at = due_at
    task.all_day = all_day
    task.escalated_at = None
    task.save(update_fields=["due_at", "all_day", "escalated_at", "updated_at"])
    if due_at is None:
        reminders_replace(task=task, offsets=[])
    else:
        reminders_recompute(task=task)
    return task


@transaction.atomic
def task_reassign(*, actor: User, pk: int, owner_id: int) -> Task:
    """Give the task to another user who sees its record; they are told in the app."""
    task = task_get(actor=actor, pk=pk, for_update=True)
    _check_change(actor, task)
    try:
        owner = get_user_model().objects.filter(pk=int(owner_id)).first()
    except (TypeError, ValueError):
        owner = None
    new_owner = _checked_owner(owner, subject_of(task))
    if new_owner.pk == task.owner_id:
        return task
    task.owner = new_owner
    task.escalated_at = None
    task.save(update_fields=["owner", "escalated_at", "updated_at"])
    _tell_owner(actor, task, reassigned=True)
    _tell_substitute(actor, task)
    return task


@transaction.atomic
def reminder_add(*, actor: User, task_pk: int, spec: ReminderSpec) -> Any:
    """Add one reminder (minutes before, or a moment not after the due time) to a task.

    Refusals name the field the caller gave: ``minutes_before`` or ``at``. Adding an offset
    the task already has returns the existing reminder.
    """
    task = task_get(actor=actor, pk=task_pk, for_update=True)
    _check_change(actor, task)
    collected = Errors()
    offsets = reminder_offsets(
        collected, due_at=task.due_at, all_day=task.all_day, reminders=[spec]
    )
    field = "at" if isinstance(spec, dt.datetime) else "minutes_before"
    if collected:
        raise ValidationFailed(
            _("Check the reminder."),
            field_errors={field: [m for messages in collected.values() for m in messages]},
        )
    current = list(task.reminders.values_list("minutes_before", flat=True))
    if offsets[0] not in current and len(current) >= REMINDERS_MAX:
        raise ValidationFailed(
            _("Check the reminder."),
            field_errors={field: [_("At most %(n)d reminders.") % {"n": REMINDERS_MAX}]},
        )
    reminders_replace(task=task, offsets=sorted({*current, offsets[0]}))
    return task.reminders.get(minutes_before=offsets[0])


@transaction.atomic
def reminder_delete(*, actor: User, task_pk: int, pk: int) -> None:
    """Remove a reminder of a task the actor may change; ``NotFound`` if it is not there."""
    task = task_get(actor=actor, pk=task_pk, for_update=True)
    _check_change(actor, task)
    deleted, _rows = task.reminders.filter(pk=pk).delete()
    if not deleted:
        raise NotFound(_("Not found."))
