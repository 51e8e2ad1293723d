"""Moving tasks between records (the merge of two contacts or companies), and the open
tasks of a record for the cards of other apps."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import models

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
