""" "My tasks" read by one indexed path per reason (owned, co-worked) joined in a subquery:
the list's views, my day and the calendar hold exactly the tasks the plain rule names —
owned by me (or whom I cover) or co-worked, never merely watched or a colleague's — each
once, and on SQLite the plan reads the owner index and the co-worker index, not the table."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.planner import selectors
from crm.planner.choices import TaskStatus
from crm.planner.models import Task
from crm.planner.selectors.tasks import VIEWS
from crm.planner.tests.factories import make_absence, make_task

pytestmark = pytest.mark.django_db


def _tasks(org):
    """Tasks of every kind around ``org.manager``: theirs in each state, a colleague's they
    co-work (open and done), a stranger's they only watch, one of a stranger, one of theirs that a
    colleague co-works, and one they own and (oddly) co-work as well."""
    now = timezone.now()
    manager, colleague = org.manager, org.colleague
    made = [
        make_task(manager, title="Моя будущая", due_at=now + dt.timedelta(days=3)),
        make_task(manager, title="Моя сегодня", due_at=now.replace(hour=23, minute=50)),
        make_task(manager, title="Моя через 10 дней", due_at=now + dt.timedelta(days=10)),
        make_task(manager, title="Моя без срока", due_at=None),
        make_task(manager, title="Моя просроченная", due_at=now + dt.timedelta(hours=1)),
        make_task(manager, title="Моя сделанная"),
        make_task(manager, title="Моя отменённая"),
        make_task(colleague, title="Помогаю", coworker_ids=[manager.pk]),
        make_task(colleague, title="Помогал", coworker_ids=[manager.pk]),
        make_task(org.outsider, title="Наблюдаю", watcher_ids=[manager.pk]),
        make_task(org.outsider, title="Чужая"),
        make_task(manager, title="Мне помогают", coworker_ids=[colleague.pk]),
        make_task(manager, title="Сам себе помощник", coworker_ids=[manager.pk]),
    ]
    Task.objects.filter(title="Моя просроченная").update(due_at=now - dt.timedelta(days=2))
    Task.objects.filter(title__in=["Моя сделанная", "Помогал"]).update(status=TaskStatus.DONE)
    Task.objects.filter(title="Моя отменённая").update(status=TaskStatus.CANCELLED)
    return made


def _shown_by(view, task, now):
    """The list's view, written out independently of the selector."""
    today = timezone.localdate(now)
    due_day = timezone.localdate(task.due_at) if task.due_at else None
    is_open = task.status == TaskStatus.OPEN
    return {
        "open": is_open,
        "overdue": task.is_overdue(now),
        "today": is_open and due_day == today,
        "week": is_open and due_day is not None and due_day < today + dt.timedelta(days=7),
        "done": task.status == TaskStatus.DONE,
        "all": True,
    }[view]


def _all_pages(user, filters):
    titles, cursor = [], None
    while True:
        page = selectors.task_table(user=user, filters=filters, limit=3, cursor=cursor)
        titles += [task.title for task in page.items]
        if not (cursor := page.next_cursor):
            return titles


@pytest.mark.parametrize("view", VIEWS)
def test_my_list_holds_my_tasks_of_the_view_each_once(org, view):
    _tasks(org)
    now = timezone.now()
    mine = [
        task
        for task in Task.objects.all()
        if task.owner_id == org.manager.pk or task.coworkers.filter(pk=org.manager.pk).exists()
    ]
    expected = sorted(task.title for task in mine if _shown_by(view, task, now))
    got = _all_pages(org.manager, selectors.TaskFilters(view=view))
    assert sorted(got) == expected
    assert len(got) == len(set(got))
    assert "Наблюдаю" not in got and "Чужая" not in got


def test_my_day_holds_mine_the_covered_colleagues_and_the_coworked(org):
    _tasks(org)
    make_task(org.colleague, title="Коллеги сегодня", due_at=timezone.now() + dt.timedelta(hours=1))
    make_absence(org.colleague, substitute=org.manager)
    day = selectors.my_day(user=org.manager)
    titles = [
        task.title for part in (day.overdue, day.today, day.tomorrow, day.undated) for task in part
    ]
    assert "Коллеги сегодня" in titles and "Помогаю" in titles and "Моя просроченная" in titles
    assert "Моя без срока" in titles and "Моя сегодня" in titles
    assert "Наблюдаю" not in titles and "Чужая" not in titles and "Помогал" not in titles
    assert len(titles) == len(set(titles))
    assert day.covering == [org.colleague]


def test_my_calendar_month_holds_mine_and_the_coworked(org):
    due = timezone.make_aware(dt.datetime(2027, 3, 10, 12, 0))
    manager, colleague = org.manager, org.colleague
    make_task(manager, title="Моя", due_at=due)
    make_task(colleague, title="Помогаю", due_at=due, coworker_ids=[manager.pk])
    make_task(manager, title="Сам себе помощник", due_at=due, coworker_ids=[manager.pk])
    make_task(colleague, title="Наблюдаю", due_at=due, watcher_ids=[manager.pk])
    make_task(org.outsider, title="Чужая", due_at=due)
    grid = selectors.calendar_view(user=manager, view="month", anchor=due.date())
    titles = [item.title for week in grid.weeks for day in week for item in day.items]
    assert sorted(titles) == ["Моя", "Помогаю", "Сам себе помощник"]


def test_an_inactive_user_has_no_tasks_even_coworked_ones(org):
    make_task(org.colleague, title="Помогаю", coworker_ids=[org.manager.pk])
    make_task(org.manager, title="Своя")
    org.manager.is_active = False
    assert selectors.task_table(user=org.manager, filters=selectors.TaskFilters()).items == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan")
def test_sqlite_reads_my_tasks_by_the_owner_and_coworker_indexes(org):
    _tasks(org)
    with CaptureQueriesContext(connection) as queries:
        selectors.task_table(user=org.manager, filters=selectors.TaskFilters())
        selectors.my_day(user=org.manager)
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "planner_task" ' in q["sql"]]
    assert len(reads) == 4  # the list, my day's overdue, soon and undated
    for sql in reads:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = " / ".join(row[-1] for row in cursor.fetchall())
        assert "task_owner_due" in plan and "planner_task_coworkers_user_id" in plan, plan
        assert "SCAN planner_task" not in plan and "SCAN U0" not in plan, plan
