"""Factories of planner tests: tasks through the service, so reminders and timeline entries
are made as in production."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from crm.accounts.models import User
from crm.planner.models import Absence, Task
from crm.planner.services import task_create


def make_task(owner: User, *, actor: User | None = None, **fields: Any) -> Task:
    """An open to-do of ``owner`` due in two hours (``due_at=None`` for an undated one)."""
    fields.setdefault("title", "Позвонить клиенту")
    fields.setdefault("due_at", timezone.now() + dt.timedelta(hours=2))
    fields.setdefault("check_actor", False)
    return task_create(actor=actor or owner, owner=owner, **fields)


def later_today(now: dt.datetime | None = None) -> dt.datetime:
    """A moment between ``now`` and local midnight: "later today" whatever the hour a test runs
    at (a fixed 23:30, or now + 1 hour, is already past or tomorrow late in the evening)."""
    now = timezone.localtime(now)
    midnight = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return now + (midnight - now) * 3 / 4


def make_absence(
    user: User, *, starts_on: dt.date | None = None, days: int = 5, **fields: Any
) -> Absence:
    """An absence recorded directly (no checks): for setting up the state of a test."""
    start = starts_on or timezone.localdate()
    fields.setdefault("kind", "vacation")
    return Absence.objects.create(
        user=user, starts_on=start, ends_on=start + dt.timedelta(days=days - 1), **fields
    )
