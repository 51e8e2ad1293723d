"""Moving tasks between records (the merge of two contacts or companies) and between owners
(a leaving manager's handover), and the open tasks of a record for the cards of other
apps."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import models

from crm.core.models import owner_hand_over
from crm.planner.choices import TaskStatus
from crm.planner.models import Task


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


def tasks_open_of(user_id: int) -> models.QuerySet[Task]:
    """A user's open tasks (done and cancelled ones keep their owner: they are history)."""
    return Task.objects.filter(owner_id=user_id, status=TaskStatus.OPEN)


def tasks_hand_over(ids: list[int], from_id: int, to_id: int) -> int:
    """Give the tasks ``ids`` still owned by ``from_id`` to ``to_id`` (a leaving manager's
    handover), no longer escalated, as ``task_reassign`` does; answers how many moved."""
    return owner_hand_over(Task, ids, from_id, to_id, escalated_at=None)
