"""Tasks: create, complete, reopen, reschedule, reassign; moving them on a merge.

Every task of a record goes on that record's timeline when it is done (the completed
task with its result); a task created by a rule carries its ``origin``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.activities.choices import EntryKind
from crm.activities.services import timeline_record
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.core.permissions import can_write, sees_everything
from crm.planner.choices import CallOutcome, Priority, TaskStatus
from crm.planner.models import Task, TaskType
from crm.planner.subjects import kind_for

TITLE_MAX = 300
DESCRIPTION_MAX = 10000


def _errors(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("Check the task."), field_errors={field: [message]})


def subject_visible_to(user: Any, subject: models.Model) -> bool:
    """Whether ``user`` may see ``subject`` (a registered record)."""
    kind = kind_for(type(subject))
    if kind is None:
        return False
    return kind.visible_to(user).filter(pk=subject.pk).exists()


def task_type_get(code: str) -> TaskType:
    try:
        return TaskType.objects.get(code=code, archived=False)
    except TaskType.DoesNotExist:
        raise _errors("type", _("Unknown task type.")) from None


def _check_owner(owner: Any, subject: models.Model | None) -> None:
    if owner is None or not owner.is_active:
        raise _errors("owner_id", _("No such active user."))
    if not can_write(owner):
        raise _errors("owner_id", _("A read-only user cannot be responsible for a task."))
    if subject is not None and not subject_visible_to(owner, subject):
        raise _errors("owner_id", _("This user has no access to the record."))


@transaction.atomic
def task_create(
    *,
    actor: Any,
    title: str,
    owner: Any,
    type_code: str = "todo",
    subject: models.Model | None = None,
    due_at: dt.datetime | None = None,
    all_day: bool = False,
    duration_minutes: int | None = None,
    description: str = "",
    priority: int = Priority.NORMAL,
    origin: str = "",
    check_actor: bool = True,
) -> Task:
    """Create a task; ``check_actor=False`` is for rules acting on the system's behalf."""
    if check_actor:
        if actor is None or not can_write(actor):
            raise PermissionDenied(_("Your role may not create tasks."))
        if subject is not None and not subject_visible_to(actor, subject):
            raise NotFound(_("Not found."))
    title = " ".join((title or "").split())
    if not title:
        raise _errors("title", _("This field is required."))
    if len(title) > TITLE_MAX:
        raise _errors("title", _("At most %(n)d characters.") % {"n": TITLE_MAX})
    if len(description or "") > DESCRIPTION_MAX:
        raise _errors("description", _("At most %(n)d characters.") % {"n": DESCRIPTION_MAX})
    if priority not in Priority.values:
        raise _errors("priority", _("Unknown priority."))
    if due_at is not None and timezone.is_naive(due_at):
        raise _errors("due_at", _("Give the time zone of the due time."))
    _check_owner(owner, subject)
    task = Task.objects.create(
        subject_type=ContentType.objects.get_for_model(subject) if subject is not None else None,
        subject_id=subject.pk if subject is not None else None,
        type=task_type_get(type_code),
        title=title,
        description=description or "",
        due_at=due_at,
        all_day=all_day,
        duration_minutes=duration_minutes,
        owner=owner,
        created_by=actor,
        priority=priority,
        origin=origin[:100],
    )
    return task


def _visible_tasks(actor: Any) -> models.QuerySet[Task]:
    """Tasks ``actor`` may see: their own, shared as co-worker or watcher, their scope's."""
    if sees_everything(actor):
        return Task.objects.all()
    return Task.objects.filter(
        models.Q(owner_id__in=sorted(actor.scope_owner_ids))
        | models.Q(pk__in=Task.coworkers.through.objects.filter(user_id=actor.pk).values("task_id"))
        | models.Q(pk__in=Task.watchers.through.objects.filter(user_id=actor.pk).values("task_id"))
    )


def task_get(*, actor: Any, pk: int, for_update: bool = False) -> Task:
    qs = _visible_tasks(actor).select_related("type", "owner")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=pk)
    except Task.DoesNotExist:
        raise NotFound(_("Not found.")) from None


def _check_change(actor: Any, task: Task) -> None:
    if not can_write(actor):
        raise PermissionDenied(_("Your role may not change tasks."))
    allowed = (
        sees_everything(actor)
        or task.owner_id in actor.scope_owner_ids
        or task.coworkers.filter(pk=actor.pk).exists()
    )
    if not allowed:
        raise PermissionDenied(_("You may not change this task."))


def _subject(task: Task) -> models.Model | None:
    if task.subject_type_id is None:
        return None
    model = task.subject_type.model_class()
    return model._default_manager.filter(pk=task.subject_id).first() if model else None


@transaction.atomic
def task_complete(*, actor: Any, pk: int, result: str = "", outcome: str = "") -> Task:
    """Close the task with its result; a done call needs its outcome."""
    task = task_get(actor=actor, pk=pk, for_update=True)
    _check_change(actor, task)
    if task.status != TaskStatus.OPEN:
        raise ValidationFailed(
            _("The task is already closed."), field_errors={"status": [_("Closed.")]}
        )
    result = (result or "").strip()
    if len(result) > 5000:
        raise _errors("result", _("At most %(n)d characters.") % {"n": 5000})
    if outcome and outcome not in CallOutcome.values:
        raise _errors("outcome", _("Unknown outcome."))
    if task.type.code == "call" and not outcome:
        raise _errors("outcome", _("How did the call go?"))
    task.status = TaskStatus.DONE
    task.completed_at = timezone.now()
    task.completed_by = actor
    task.result = result
    task.outcome = outcome
    task.save(
        update_fields=["status", "completed_at", "completed_by", "result", "outcome", "updated_at"]
    )
    subject = _subject(task)
    if subject is not None:
        timeline_record(
            subject=subject,
            kind=EntryKind.SYSTEM,
            author=actor,
            title=gettext_noop("Task done"),
            body=result,
            data={
                "task_id": task.pk,
                "task": task.title,
                "outcome": outcome,
                "type": task.type.code,
            },
        )
    return task


@transaction.atomic
def task_reopen(*, actor: Any, pk: int) -> Task:
    task = task_get(actor=actor, pk=pk, for_update=True)
    _check_change(actor, task)
    task.status = TaskStatus.OPEN
    task.completed_at = None
    task.completed_by = None
    task.save(update_fields=["status", "completed_at", "completed_by", "updated_at"])
    return task


@transaction.atomic
def task_reschedule(
    *, actor: Any, pk: int, due_at: dt.datetime | None, all_day: bool = False
) -> Task:
    task = task_get(actor=actor, pk=pk, for_update=True)
    _check_change(actor, task)
    if due_at is not None and timezone.is_naive(due_at):
        raise _errors("due_at", _("Give the time zone of the due time."))
    task.due_at = due_at
    task.all_day = all_day
    task.save(update_fields=["due_at", "all_day", "updated_at"])
    return task


@transaction.atomic
def task_reassign(*, actor: Any, pk: int, owner_id: int) -> Task:
    task = task_get(actor=actor, pk=pk, for_update=True)
    _check_change(actor, task)
    owner = get_user_model().objects.filter(pk=owner_id).first()
    _check_owner(owner, _subject(task))
    task.owner = owner
    task.save(update_fields=["owner", "updated_at"])
    return task


def open_tasks_for(subject: models.Model) -> models.QuerySet[Task]:
    """The open tasks of one record, soonest first (for the tasks panel on a card)."""
    return (
        Task.objects.filter(
            subject_type=ContentType.objects.get_for_model(subject),
            subject_id=subject.pk,
            status=TaskStatus.OPEN,
        )
        .select_related("type", "owner")
        .order_by(models.F("due_at").asc(nulls_last=True), "id")
    )


def task_move(*, model: type[models.Model], from_id: int, to_id: int) -> list[int]:
    """Move every task of one record to another (merge); returns the moved ids."""
    subject_type = ContentType.objects.get_for_model(model)
    ids = list(
        Task.objects.filter(subject_type=subject_type, subject_id=from_id).values_list(
            "id", flat=True
        )
    )
    Task.objects.filter(id__in=ids).update(subject_id=to_id)
    return ids


def task_move_back(*, ids: Iterable[int], to_id: int) -> None:
    Task.objects.filter(id__in=list(ids)).update(subject_id=to_id)
