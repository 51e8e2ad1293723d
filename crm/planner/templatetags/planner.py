"""Template helpers of the planner: how a due time reads, whether a task is overdue, and
the ``kind:id`` key of a record for links that create a task for it."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import formats, timezone

register = template.Library()


@register.filter
def due(task: Any) -> str:
    """The due date (all-day) or date and time, in the current time zone; "" for none."""
    if task.due_at is None:
        return ""
    local = timezone.localtime(task.due_at)
    if task.all_day:
        return formats.date_format(local, "SHORT_DATE_FORMAT")
    return formats.date_format(local, "SHORT_DATETIME_FORMAT")


@register.filter
def due_time(task: Any) -> str:
    """Only the time of a timed task ("" for all-day and undated ones)."""
    if task.due_at is None or task.all_day:
        return ""
    return formats.time_format(timezone.localtime(task.due_at), "TIME_FORMAT")


@register.filter
def overdue(task: Any) -> bool:
    return bool(task.is_overdue())


@register.filter
def subject_key(record: Any) -> str:
    """``contact:12`` for a record (what ``?subject=`` of the new-task page takes)."""
    return f"{record._meta.model_name}:{record.pk}" if record is not None else ""


@register.filter
def subject_link(record: Any) -> str:
    from crm.planner.services import subject_url

    return subject_url(record)


@register.inclusion_tag("planner/_tasks_panel.html", takes_context=True)
def tasks_panel(context: template.Context, subject: Any) -> dict[str, Any]:
    """A record's open tasks on its card (``tasks`` from the card's context): the planner's
    interface to the cards of other apps, which never include its templates themselves."""
    values: dict[str, Any] = context.flatten()  # type: ignore[assignment]
    return {**values, "subject": subject}
