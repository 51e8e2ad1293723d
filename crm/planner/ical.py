"""The iCalendar feed of a user's tasks (RFC 5545), built with the ``icalendar`` package.

Each task with a due time is a VEVENT (calendar clients show events everywhere; VTODO is
ignored by Google Calendar): timed tasks last their duration (30 minutes by default), all-day
ones are DATE events. UIDs are stable (``task-<id>@<host>``), so a rescheduled task moves.

icalendar is imported when a feed is built, not at start-up: only the feed uses it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.notifications.services import in_language
from crm.planner.choices import TaskStatus
from crm.planner.models import Task
from crm.planner.permissions import TASK
from crm.planner.selectors import attach_subjects

if TYPE_CHECKING:
    from icalendar import Event

PAST = dt.timedelta(days=90)
FUTURE = dt.timedelta(days=366)
FEED_MAX = 2000
DEFAULT_MINUTES = 30


def calendar_feed(*, user: User, base_url: str, now: dt.datetime | None = None) -> bytes:
    """The open and done tasks of ``user`` (responsible or co-worker) from 90 days ago to a
    year ahead, at most 2000, as an iCalendar document."""
    from icalendar import Calendar

    now = now or timezone.now()
    host = urlsplit(base_url).hostname or "crm"
    shown = Q(
        status__in=[TaskStatus.OPEN, TaskStatus.DONE],
        due_at__gte=now - PAST,
        due_at__lt=now + FUTURE,
    )
    tasks = list(
        Task.objects.filter(TASK.owned_or_coworked(user, {user.pk}, shown), shown)
        .select_related("type")
        .order_by("due_at", "id")[:FEED_MAX]
    )
    attach_subjects(tasks)
    with in_language(user):
        calendar = Calendar()
        calendar.add("prodid", "-//CRM//Tasks//EN")
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("method", "PUBLISH")
        calendar.add("x-wr-calname", _("CRM tasks: %(user)s") % {"user": user})
        calendar.add("x-published-ttl", dt.timedelta(minutes=15))
        for task in tasks:
            calendar.add_component(_event(task, host=host, base_url=base_url, now=now))
    document: bytes = calendar.to_ical()
    return document


def _event(task: Task, *, host: str, base_url: str, now: dt.datetime) -> Event:
    from icalendar import Event

    assert task.due_at is not None  # the feed selects tasks by their due time
    event = Event()
    event.add("uid", f"task-{task.pk}@{host}")
    event.add("dtstamp", now.astimezone(dt.UTC))
    event.add("last-modified", task.updated_at.astimezone(dt.UTC))
    done = task.status == TaskStatus.DONE
    event.add("summary", f"✓ {task.title}" if done else task.title)
    if task.all_day:
        day = timezone.localdate(task.due_at)
        event.add("dtstart", day)
        event.add("dtend", day + dt.timedelta(days=1))
        event.add("transp", "TRANSPARENT")
    else:
        start = task.due_at.astimezone(dt.UTC)
        event.add("dtstart", start)
        event.add("dtend", start + dt.timedelta(minutes=task.duration_minutes or DEFAULT_MINUTES))
    link = urljoin(base_url, reverse("planner:task_detail", args=[task.pk]))
    lines = [task.type.label]
    subject = getattr(task, "subject_record", None)
    if subject is not None:
        lines.append(str(subject))
    if task.description:
        lines += ["", task.description]
    lines += ["", link]
    event.add("description", "\n".join(lines))
    event.add("url", link)
    event.add("categories", [task.type.label])
    event.add("status", "CONFIRMED")
    return event
