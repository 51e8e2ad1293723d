"""The calendar page of a team of 20 with 5,000 tasks in the month shown.

(Not ``bench/calendar.py``: a module of that name beside the other scripts would shadow the
standard library's ``calendar`` for every script in this folder.)

On PostgreSQL (or SQLite under ``CRM_VAR_DIR``), migrated::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_planner .venv/bin/python bench/calendar_view.py

Makes (after deleting an earlier run's ``cb…`` users and their tasks) a team «Bench calendar»
of 20 people — a head of sales and 19 managers — and 5,000 tasks of theirs in one month
(March 2027): timed ones between 08:00 and 19:59, one in eight all-day, one in ten done,
mixed types; plus 2,000 tasks in the months around it and two absences. Then, through
Django's test ``Client`` against the real URL (middleware, session, view, template):

- the head's team calendar, month view (5,000 tasks in the grid: four per day shown, the
  rest counted), and the same week and day views;
- one manager's own month (about 250 tasks).

``--warmup`` runs, then ``--iterations`` timed ones; the median, the 95th percentile and the
query count are printed, and a Markdown table at the end. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")
os.environ.setdefault("CRM_DEBUG", "0")
os.environ.setdefault("CRM_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from crm.accounts.models import Team, TeamMembership, User  # noqa: E402
from crm.core.permissions import Role  # noqa: E402
from crm.planner.models import Absence, Task, TaskType  # noqa: E402
from crm.planner.selectors import calendar_view  # noqa: E402

PREFIX = "cb"
MONTH = dt.date(2027, 3, 1)
TEAM = "Bench calendar"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def clean() -> None:
    users = User.objects.filter(username__startswith=PREFIX)
    Task.objects.filter(owner__in=users).delete()
    Absence.objects.filter(user__in=users).delete()
    Team.objects.filter(name=TEAM).delete()
    users.delete()


def make(tasks: int, seed: int) -> tuple[User, User]:
    rng = random.Random(seed)
    types = list(TaskType.objects.filter(code__in=["call", "meeting", "email", "todo"]))
    with transaction.atomic():
        head = User.objects.create(username=f"{PREFIX}head", role=Role.HEAD, first_name="Глава")
        managers = User.objects.bulk_create(
            [
                User(username=f"{PREFIX}{index:02d}", first_name="Менеджер", last_name=f"№{index}")
                for index in range(19)
            ]
        )
        team = Team.objects.create(name=TEAM)
        team.heads.add(head)
        TeamMembership.objects.bulk_create(
            [TeamMembership(team=team, user=user) for user in [head, *managers]]
        )
        people = [head, *managers]
        days = [MONTH + dt.timedelta(days=offset) for offset in range(31)]

        def task(day: dt.date, index: int) -> Task:
            all_day = index % 8 == 0
            moment = (
                dt.time(0, 0)
                if all_day
                else dt.time(rng.randint(8, 19), rng.choice([0, 15, 30, 45]))
            )
            return Task(
                type=rng.choice(types),
                title=f"Задача {index}: позвонить клиенту по счёту",
                owner=people[index % len(people)],
                due_at=timezone.make_aware(dt.datetime.combine(day, moment)),
                all_day=all_day,
                status="done" if index % 10 == 0 else "open",
            )

        rows = [task(rng.choice(days), index) for index in range(tasks)]
        around = [MONTH - dt.timedelta(days=offset) for offset in range(1, 60)] + [
            MONTH + dt.timedelta(days=offset) for offset in range(31, 90)
        ]
        rows += [task(rng.choice(around), tasks + index) for index in range(2000)]
        Task.objects.bulk_create(rows, batch_size=2000)
        Absence.objects.create(
            user=managers[0], kind="vacation", starts_on=MONTH + dt.timedelta(days=7),
            ends_on=MONTH + dt.timedelta(days=20), substitute=managers[1],
        )  # fmt: skip
        Absence.objects.create(
            user=managers[2], kind="sick", starts_on=MONTH + dt.timedelta(days=2),
            ends_on=MONTH + dt.timedelta(days=4),
        )  # fmt: skip
    return head, managers[5]


def measure(client: Client, url: str, *, warmup: int, iterations: int) -> tuple[float, float, int]:
    for _ in range(warmup):
        client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    count = len(queries.captured_queries)  # read now: the log is a view, emptied later
    assert response.status_code == 200, response.status_code
    timings = []
    for _ in range(iterations):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(0.95 * len(timings)))]
    return statistics.median(timings), p95, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; load {load()}")
    clean()
    head, manager = make(args.tasks, args.seed)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # what autovacuum would do after the load
            cursor.execute("ANALYZE planner_task")
    client = Client()
    client.force_login(head)
    own = Client()
    own.force_login(manager)
    date = (MONTH + dt.timedelta(days=14)).isoformat()
    cases = [
        ("head, team, month", client, head, "month", "team", "150 ms"),
        ("head, team, week", client, head, "week", "team", ""),
        ("head, team, day", client, head, "day", "team", ""),
        ("manager, own, month", own, manager, "month", "mine", ""),
    ]
    rows = []
    started_load = load()
    for name, who, user, view, scope, target in cases:
        url = f"/tasks/calendar/?view={view}&scope={scope}&date={date}"
        median, p95, queries = measure(who, url, warmup=args.warmup, iterations=args.iterations)
        total = calendar_view(
            user=User.objects.get(pk=user.pk), view=view, scope=scope,
            anchor=MONTH + dt.timedelta(days=14),
        ).total  # fmt: skip
        verdict = ("met" if p95 <= float(target.split()[0]) else "missed") if target else ""
        print(
            f"{name:22} median {median:7.1f} ms  p95 {p95:7.1f} ms  {queries} queries  {total} tasks"
        )
        rows.append(
            f"| {name} | {total:,} | {median:.1f} | {p95:.1f} | {queries} | {target} {verdict} |"
        )
    print(f"\nload {started_load} → {load()}\n")
    print("| page | tasks in the grid | median, ms | p95, ms | queries | target |")
    print("|---|---:|---:|---:|---:|---|")
    print("\n".join(rows))
    if not args.keep:
        clean()


if __name__ == "__main__":
    main()
