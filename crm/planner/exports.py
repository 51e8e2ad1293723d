"""How the task list is exported (the registry's ``Exporter``, declared in ``records.py``):
its columns and its rows read in chunks as dictionaries; the records the tasks are about
are named with one query per kind of record in a chunk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from operator import itemgetter
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import User
from crm.accounts.selectors import user_names
from crm.core.records import ExportColumn, Exporter, keyset_chunks
from crm.planner.choices import Priority, TaskStatus
from crm.planner.models import Task
from crm.planner.selectors import TaskFilters, task_queryset

FIELDS = (
    "title",
    "type__name",
    "status",
    "priority",
    "due_at",
    "all_day",
    "subject_type_id",
    "subject_id",
    "owner_id",
    "description",
    "completed_at",
    "result",
    "created_at",
)


def _tasks(user: User, params: Mapping[str, str]) -> QuerySet[Task]:
    """The task list's rows: its scope and its own filters (``TaskFilters``)."""
    return task_queryset(user=user, filters=TaskFilters.from_params(params))


def _subjects(chunk: list[dict[str, Any]]) -> dict[tuple[int, int], str]:
    """The names of the records the tasks of ``chunk`` are about, one query per kind."""
    wanted: dict[int, set[int]] = defaultdict(set)
    for row in chunk:
        if row["subject_type_id"] and row["subject_id"] is not None:
            wanted[row["subject_type_id"]].add(row["subject_id"])
    found: dict[tuple[int, int], str] = {}
    for type_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model is None:
            continue
        for record in model._default_manager.filter(pk__in=ids):
            found[(type_id, record.pk)] = f"{model._meta.verbose_name}: {record}"
    return found


def _chunks(rows: QuerySet[Any], size: int) -> Iterator[list[dict[str, Any]]]:
    names = user_names()
    statuses = {value: str(label) for value, label in TaskStatus.choices}
    priorities = {value: str(label) for value, label in Priority.choices}
    for chunk in keyset_chunks(rows, FIELDS, size):
        subjects = _subjects(chunk)
        for row in chunk:
            row["owner"] = names.get(row["owner_id"], "")
            row["status_label"] = statuses.get(row["status"], row["status"])
            row["priority_label"] = priorities.get(row["priority"], row["priority"])
            row["subject"] = subjects.get((row["subject_type_id"], row["subject_id"]), "")
            # An all-day task is due on a day: no time of day to show.
            if row["all_day"] and row["due_at"] is not None:
                row["due_at"] = timezone.localtime(row["due_at"]).date()
        yield chunk


def _columns() -> list[ExportColumn]:
    return [
        ExportColumn(_("ID"), itemgetter("id")),
        ExportColumn(_("Title"), itemgetter("title")),
        ExportColumn(_("Type"), itemgetter("type__name")),
        ExportColumn(_("Status"), itemgetter("status_label")),
        ExportColumn(_("Priority"), itemgetter("priority_label")),
        ExportColumn(_("Due"), itemgetter("due_at")),
        ExportColumn(_("Record"), itemgetter("subject")),
        ExportColumn(_("Responsible"), itemgetter("owner")),
        ExportColumn(_("Description"), itemgetter("description")),
        ExportColumn(_("Completed"), itemgetter("completed_at")),
        ExportColumn(_("Result"), itemgetter("result")),
        ExportColumn(_("Created"), itemgetter("created_at")),
    ]


TASK_EXPORT = Exporter(kind="task", name="tasks", select=_tasks, columns=_columns, chunks=_chunks)
