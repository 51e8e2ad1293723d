"""Reads of tasks: who sees which task, "My day", the task list, a task's card, the record
panel, and the choices of the forms.

Who sees a task: its responsible and everyone whose scope holds the responsible
(the task policy's ``owner_ids``: a head their teams, read-only users their teams, a
substitute the colleague they cover today), its co-workers and watchers; an administrator
sees all. Everything here asks ``crm.planner.permissions.TASK``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Prefetch, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import Team, TeamMembership, User
from crm.core.errors import ValidationFailed
from crm.core.pagination import Page, decode_cursor, encode_cursor
from crm.core.permissions import Role, sees_everything
from crm.core.records import registry
from crm.planner.choices import TaskStatus
from crm.planner.models import Task, TaskReminder, TaskType
from crm.planner.permissions import TASK, covered_user_ids

FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
LIST_LIMIT = 50
PANEL_LIMIT = 20


# --- scope ---------------------------------------------------------------------------------


def tasks_visible_to(user: User) -> models.QuerySet[Task]:
    """Tasks ``user`` may see (the task policy): in their scope's owners, shared as
    co-worker or watcher."""
    return TASK.restrict(Task.objects.all(), user)


def tasks_visible_to_resolved(user: User) -> models.QuerySet[Task]:
    """The same tasks as ``tasks_visible_to``, with the shared ids read first (for
    reports: ``OwnedRecordPolicy.restrict_resolved``)."""
    return TASK.restrict_resolved(Task.objects.all(), user)


def day_start(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in the current time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def overdue_filter(now: dt.datetime | None = None) -> Q:
    """Open tasks past due: timed ones after their moment, all-day ones after their day."""
    now = now or timezone.now()
    today = day_start(timezone.localdate(now))
    return Q(status=TaskStatus.OPEN, due_at__isnull=False) & (
        Q(all_day=False, due_at__lt=now) | Q(all_day=True, due_at__lt=today)
    )


def attach_subjects(tasks: Iterable[Task]) -> None:
    """Set ``task.subject_record`` (None for none or a deleted record): one query per kind
    of record among the tasks, whatever their number."""
    tasks = list(tasks)
    wanted: dict[int, set[int]] = defaultdict(set)
    for task in tasks:
        if task.subject_type_id and task.subject_id is not None:
            wanted[task.subject_type_id].add(task.subject_id)
    found: dict[tuple[int | None, int | None], models.Model] = {}
    for type_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model is None:
            continue
        for record in model._default_manager.filter(pk__in=ids):
            found[(type_id, record.pk)] = record
    for task in tasks:
        task.subject_record = found.get((task.subject_type_id, task.subject_id))


# --- "My day" ------------------------------------------------------------------------------


@dataclass
class MyDay:
    overdue: list[Task]
    today: list[Task]
    tomorrow: list[Task]
    undated: list[Task]
    covering: list[Any]  # the colleagues the user covers today
    now: dt.datetime
    # Sections other apps declared ("My day" sections of ``crm.core.records``): (key, title, items).
    extra: list[tuple[str, str, list[Any]]] = field(default_factory=list)


def my_day(*, user: User, now: dt.datetime | None = None, limit: int = 100) -> MyDay:
    """The user's open tasks, and those of the colleagues they cover today: overdue (the
    oldest first), due today, due tomorrow, and (a few) with no due date, at most ``limit``
    in each. A fixed number of queries whatever the number of tasks."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    covered = covered_user_ids(user)
    owners = {user.pk, *covered}

    def mine(narrow: Q) -> models.QuerySet[Task]:
        narrow &= Q(status=TaskStatus.OPEN)
        return (
            Task.objects.filter(TASK.owned_or_coworked(user, owners, narrow), narrow)
            .select_related("type", "owner")
            .order_by(F("due_at").asc(nulls_last=True), "id")
        )

    day_after = day_start(today + dt.timedelta(days=2))
    late = overdue_filter(now)
    overdue = list(mine(late)[:limit])
    soon = list(mine(Q(due_at__lt=day_after)).exclude(late)[: limit * 2])
    undated = list(mine(Q(due_at__isnull=True))[:20])
    attach_subjects([*overdue, *soon, *undated])
    due_today = [task for task in soon if timezone.localdate(task.due_at) == today]
    due_tomorrow = [task for task in soon if timezone.localdate(task.due_at) != today]
    people = (
        list(get_user_model().objects.filter(pk__in=covered).order_by("last_name"))
        if covered
        else []
    )
    extra = [
        (section.key, str(section.title), section.items(user))
        for section in registry.day_sections.values()
    ]
    return MyDay(
        overdue[:limit], due_today[:limit], due_tomorrow[:limit], undated, people, now, extra
    )


# --- the task list -------------------------------------------------------------------------

SCOPES = ("mine", "team", "covered", "all")
VIEWS = ("open", "overdue", "today", "week", "done", "all")


@dataclass
class TaskFilters:
    """What the task list shows; read from the query string by the page and the API alike."""

    scope: str = "mine"
    view: str = "open"
    type: str = ""
    owner: int | None = None
    team: int | None = None
    subject: str = ""  # "contact:12"
    q: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TaskFilters:
        def number(name: str) -> int | None:
            try:
                value = int(params.get(name) or 0)
            except (TypeError, ValueError):
                return None
            return value if 0 < value < 2**63 else None

        scope = params.get("scope") or "mine"
        view = params.get("view") or "open"
        return cls(
            scope=scope if scope in SCOPES else "mine",
            view=view if view in VIEWS else "open",
            type=(params.get("type") or "")[:30],
            owner=number("owner"),
            team=number("team"),
            subject=(params.get("subject") or "")[:60],
            q=" ".join((params.get("q") or "").split())[:100],
        )

    def subject_parts(self) -> tuple[str, int] | None:
        kind, _sep, number = self.subject.partition(":")
        try:
            return kind, int(number)
        except ValueError:
            return None


def teams_led(user: User) -> list[Team]:
    """Teams whose calendar and lists ``user`` may open as a team: led ones, or all for an
    administrator."""
    if sees_everything(user):
        return list(Team.objects.order_by("name"))
    if user.role == Role.HEAD:
        return list(Team.objects.filter(heads=user).order_by("name"))
    return []


def team_owner_ids(user: User, team_id: int | None) -> set[int]:
    """Members of the team ``team_id`` (or of every team the user leads) the user may see."""
    teams = teams_led(user)
    chosen = [team.pk for team in teams if team_id in (None, team.pk)]
    if user.role == Role.READONLY and not chosen:
        return set(TASK.owner_ids(user))
    ids = set(TeamMembership.objects.filter(team_id__in=chosen).values_list("user_id", flat=True))
    if user.role == Role.HEAD and team_id is None:
        ids.add(user.pk)
    return ids


def _view_condition(view: str, now: dt.datetime) -> Q:
    """The tasks a view of the list shows (open, overdue, due today, this week, done, all)."""
    today = timezone.localdate(now)
    if view == "open":
        return Q(status=TaskStatus.OPEN)
    if view == "overdue":
        return overdue_filter(now)
    if view == "today":
        return Q(
            status=TaskStatus.OPEN,
            due_at__gte=day_start(today),
            due_at__lt=day_start(today + dt.timedelta(days=1)),
        )
    if view == "week":
        return Q(status=TaskStatus.OPEN, due_at__lt=day_start(today + dt.timedelta(days=7)))
    if view == "done":
        return Q(status=TaskStatus.DONE)
    return Q()


def _task_rows(user: User, filters: TaskFilters, now: dt.datetime) -> models.QuerySet[Task]:
    shown = _view_condition(filters.view, now)
    if filters.scope == "mine":
        rows = TASK.restrict_to_mine(Task.objects.filter(shown), user, {user.pk}, shown)
    else:
        rows = tasks_visible_to(user).filter(shown)
    if filters.scope == "covered":
        rows = rows.filter(owner_id__in=sorted(covered_user_ids(user)))
    elif filters.scope == "team":
        rows = rows.filter(owner_id__in=sorted(team_owner_ids(user, filters.team)))
    if filters.owner:
        rows = rows.filter(owner_id=filters.owner)
    if filters.type:
        rows = rows.filter(type__code=filters.type)
    parts = filters.subject_parts() if filters.subject else None
    if filters.subject:
        if parts is None:
            raise ValidationFailed(field_errors={"subject": [_("Invalid record.")]})
        kind, number = parts
        content_type = _content_type(kind)
        if content_type is None:
            raise ValidationFailed(field_errors={"subject": [_("Unknown kind of record.")]})
        rows = rows.filter(subject_type=content_type, subject_id=number)
    if filters.q:
        rows = rows.filter(title__icontains=filters.q)
    return rows


def task_queryset(
    *, user: User, filters: TaskFilters, now: dt.datetime | None = None
) -> models.QuerySet[Task]:
    """The tasks the list shows ``user`` under ``filters`` (no order, no joins): the list
    page and its export read the same rows. A malformed ``subject`` raises
    ``ValidationFailed``."""
    return _task_rows(user, filters, now or timezone.now())


def _content_type(kind: str) -> ContentType | None:
    registered = registry.find(kind)
    if registered is None or not registered.has_tasks:
        return None
    return ContentType.objects.get_for_model(registered.model)


def task_table(
    *,
    user: User,
    filters: TaskFilters,
    cursor: str | None = None,
    limit: int = LIST_LIMIT,
    now: dt.datetime | None = None,
) -> Page[Task]:
    """One page of tasks under ``filters``, soonest due first (undated last), with type,
    responsible and record loaded. A keyset page: the same cost on page 1 and page 100;
    a forged cursor raises ``ValidationFailed`` (``cursor``)."""
    if not 1 <= limit <= 200:
        raise ValidationFailed(field_errors={"limit": [_("Between 1 and 200.")]})
    now = now or timezone.now()
    rows = (
        _task_rows(user, filters, now)
        .annotate(due_sort=Coalesce("due_at", Value(FAR_FUTURE)))
        .select_related("type", "owner")
    )
    if cursor:
        due_text, last_id = decode_cursor(cursor, 2)
        try:
            last_due = dt.datetime.fromisoformat(str(due_text))
            last_id = int(last_id)
        except (TypeError, ValueError):
            raise ValidationFailed(field_errors={"cursor": [_("Invalid cursor.")]}) from None
        if timezone.is_naive(last_due):
            raise ValidationFailed(field_errors={"cursor": [_("Invalid cursor.")]})
        rows = rows.filter(Q(due_sort__gt=last_due) | Q(due_sort=last_due, pk__gt=last_id))
    items = list(rows.order_by("due_sort", "id")[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    attach_subjects(items)
    next_cursor = (
        encode_cursor([items[-1].due_sort.isoformat(), items[-1].pk]) if more and items else None
    )
    return Page(list(items), next_cursor)  # a Page[Task]: due_sort is internal


def task_detail(*, user: User, pk: int) -> Task:
    """One task the user sees, with people, reminders and its record; ``NotFound`` else."""
    from crm.planner.services.tasks import task_get

    task = task_get(actor=user, pk=pk)
    active = get_user_model().objects.order_by("last_name", "first_name")
    task = (
        Task.objects.select_related("type", "owner", "created_by", "completed_by")
        .prefetch_related(
            Prefetch("coworkers", queryset=active),
            Prefetch("watchers", queryset=active),
            Prefetch("reminders", queryset=TaskReminder.objects.order_by("-minutes_before")),
        )
        .get(pk=task.pk)
    )
    attach_subjects([task])
    return task


def task_prefetch_api(tasks: list[Task]) -> None:
    """Load what the API shows of each task (people, reminders): three queries in all."""
    models.prefetch_related_objects(
        tasks,
        Prefetch("coworkers", queryset=get_user_model().objects.only("id")),
        Prefetch("watchers", queryset=get_user_model().objects.only("id")),
        Prefetch("reminders", queryset=TaskReminder.objects.order_by("-minutes_before")),
    )


def tasks_panel(*, user: User, subject: models.Model, limit: int = PANEL_LIMIT) -> list[Task]:
    """The open tasks of a record that ``user`` sees, soonest first (the card's panel)."""
    rows = (
        tasks_visible_to(user)
        .filter(
            subject_type=ContentType.objects.get_for_model(subject),
            subject_id=subject.pk,
            status=TaskStatus.OPEN,
        )
        .select_related("type", "owner")
        .order_by(F("due_at").asc(nulls_last=True), "id")
    )
    return list(rows[:limit])


def task_types() -> list[TaskType]:
    return list(TaskType.objects.filter(archived=False))


def assignable_users(*, actor: User) -> list[Any]:
    """Who the actor may pick as responsible: anyone active who may write (the service
    then checks that they see the record)."""
    users = get_user_model().objects.filter(is_active=True).exclude(role=Role.READONLY)
    return list(users.order_by("last_name", "first_name", "username"))


def user_by_id(pk: Any) -> Any:
    """An active user by id, or None."""
    try:
        return get_user_model().objects.filter(pk=int(pk), is_active=True).first()
    except (TypeError, ValueError):
        return None


def people_choices() -> list[Any]:
    """Active users for co-workers and watchers."""
    return list(get_user_model().objects.filter(is_active=True).order_by("last_name", "first_name"))
