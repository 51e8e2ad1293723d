"""Exact query-count baselines of the planner pages: my day, the task list, the calendar, the
task card, absences and team digests, each the same pinned number of queries for one row and
for fifty (varied owners, subjects, co-workers, priorities, days)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import client_for
from crm.accounts.models import Team
from crm.accounts.tests.factories import TeamFactory, UserFactory, add_member
from crm.core.tests.baselines import one_then_fifty
from crm.planner.tests.factories import make_absence, make_task
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 12, 16)  # a Wednesday


@pytest.fixture
def subjects(org, contact, company):
    """Records of the manager to hang tasks on: a contact, a company, a deal and none."""
    return (contact, company, make_deal(org.manager, title="Кухня"), None)


def _tasks(org, index, subjects, *, owner=None, due_at=None):
    """Task ``index``; the first build makes one task per kind of subject (each kind of
    record costs its own query, once per page: the baseline includes every kind)."""
    for each in range(4) if index == 0 else [index + 3]:
        _task(org, each, subjects, owner=owner, due_at=due_at)


def _task(org, index, subjects, *, owner=None, due_at=None):
    owner = owner or (org.manager, org.head)[index % 2]
    other = org.head if owner != org.head else org.manager
    return make_task(
        owner,
        subject=subjects[index % 4],
        title=f"Задача {index}",
        priority=(1, 2, 3)[index % 3],
        due_at=due_at or timezone.now() - dt.timedelta(minutes=index + 1),
        coworker_ids=[other.pk] if index % 2 else [],
        watcher_ids=[org.viewer.pk] if index % 3 == 0 else [],
    )


def test_my_day(org, subjects, django_assert_num_queries):
    client, url = client_for(org.manager), reverse("planner:my_day")
    response = one_then_fifty(
        lambda index: _tasks(org, index, subjects, owner=org.manager),
        10,
        lambda: client.get(url),
        django_assert_num_queries,
    )
    assert response.content.decode().count("Задача ") >= 50


def test_task_list(org, subjects, django_assert_num_queries):
    client, url = client_for(org.head), reverse("planner:task_list")
    response = one_then_fifty(
        lambda index: _tasks(org, index, subjects),
        12,
        lambda: client.get(url, {"scope": "team"}),
        django_assert_num_queries,
    )
    assert len(response.context["page"].items) == 50


@pytest.mark.parametrize("view", ["month", "week", "day"])
def test_calendar(org, subjects, view, django_assert_num_queries):
    client, url = client_for(org.head), reverse("planner:calendar")
    params = {"view": view, "date": DAY.isoformat(), "scope": "team"}

    def build(index):
        due = dt.datetime.combine(
            DAY, dt.time(8 + index % 10), tzinfo=timezone.get_current_timezone()
        )
        _tasks(org, index, subjects, owner=(org.manager, org.head)[index % 2], due_at=due)
        if index == 1:
            make_absence(org.colleague, starts_on=DAY, days=3)

    one_then_fifty(build, 10, lambda: client.get(url, params), django_assert_num_queries)


def test_task_card(org, subjects, django_assert_num_queries):
    task = _task(org, 1, subjects, owner=org.manager)
    team = Team.objects.get(name="Москва")
    client = client_for(org.manager)
    url = reverse("planner:task_detail", args=[task.pk])

    users = []

    def build(index):
        user = UserFactory(username=f"worker{index}")
        users.append(user)
        add_member(team, user)
        (task.coworkers if index % 2 else task.watchers).add(user)

    response = one_then_fifty(build, 13, lambda: client.get(url), django_assert_num_queries)
    html = response.content.decode()
    assert all(str(user) in html for user in users)


def test_absence_list(org, django_assert_num_queries):
    client, url = client_for(org.head), reverse("planner:absence_list")

    def build(index):
        user = (org.manager, org.colleague, org.head, org.viewer)[index % 4]
        make_absence(user, starts_on=timezone.localdate() + dt.timedelta(days=index // 4), days=1)

    response = one_then_fifty(build, 5, lambda: client.get(url), django_assert_num_queries)
    assert len(response.context["absences"]) == 50


def test_team_digests(org, django_assert_num_queries):
    client, url = client_for(org.admin), reverse("planner:team_digests")

    def build(index):
        team = TeamFactory(name=f"Отдел {index}")
        team.heads.add(org.head)

    one_then_fifty(build, 3, lambda: client.get(url), django_assert_num_queries)
