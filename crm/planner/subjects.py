"""What a task can belong to. Apps above the planner (customers, sales, leads) register
their record models here in ``AppConfig.ready``, saying how to find the records a user
may see and how to name and link one, so the planner checks access without importing them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import models


@dataclass(frozen=True)
class SubjectKind:
    """``shareable``: the model has a ``shared_with`` many-to-many to users that widens
    ``visible_to``, so the planner may let one more person see a record (the colleague an
    overdue task escalates to). ``history(record, user, limit)``: the newest entries of the
    record's timeline as ``user`` sees it (the task page shows them)."""

    model: type[models.Model]
    visible_to: Callable[[Any], models.QuerySet[models.Model]]
    url: Callable[[models.Model], str]
    shareable: bool = False
    history: Callable[[Any, Any, int], Sequence[Any]] | None = None


SUBJECT_KINDS: dict[str, SubjectKind] = {}


def register(kind: SubjectKind) -> None:
    SUBJECT_KINDS[kind.model._meta.label_lower] = kind


def kind_for(model: type[models.Model]) -> SubjectKind | None:
    return SUBJECT_KINDS.get(model._meta.label_lower)
