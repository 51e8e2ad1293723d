"""Bench: "My day" and the task list at full size, pages and selectors, median and p95.

On a database filled by ``generate_tasks_leads.py`` (2,000,000 tasks, 1,000 users)::

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench_tasks
    .venv/bin/python bench/tasks_lists.py
    .venv/bin/python bench/tasks_lists.py --explain     # plans of the task queries
    CRM_VAR_DIR=/tmp/bench-tasks-sqlite .venv/bin/python bench/tasks_lists.py --explain

Each run is made as a different one of ``--viewers`` managers (``tl0001``, ``tl0021`` …, so
the cost is not that of one user's rows kept hot), after ``--warmup`` runs:

- ``my day page``: ``GET /tasks/`` (Django's test ``Client``: middleware, session,
  view, template; the new leads waiting included);
- ``task list page``: ``GET /tasks/list/`` (my open tasks, the first 50);
- ``my day``, ``list open``, ``list overdue``, ``list done``, ``list all``: the selectors
  ``my_day`` and ``task_table`` (scope "mine") alone;
- ``substitute my day``: ``my_day`` of the users who cover an absent colleague today.

The CPU per run is this process's and its PostgreSQL backend's (read from ``/proc``): on a
loaded machine a better guide than the wall time. ``--explain`` prints the plan of every
query on ``planner_task`` of one ``my_day`` and one ``task_table`` (``EXPLAIN (ANALYZE,
BUFFERS)`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite). ``--label`` names the run in
the Markdown rows printed at the end (e.g. ``before`` and ``after`` from two checkouts
against the same database, run in turns). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")
os.environ.setdefault("CRM_DEBUG", "0")
os.environ.setdefault("CRM_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

import django  # noqa: E402

django.setup()

from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from crm.accounts.models import User  # noqa: E402
from crm.planner.models import Absence  # noqa: E402
from crm.planner.selectors import TaskFilters, my_day, task_table  # noqa: E402


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def backend_cpu() -> float:
    """CPU seconds the database server process of this connection has used (PostgreSQL on
    this machine; 0 for SQLite, whose work is this process's)."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fresh(user: User) -> User:
    """The user as a new request sees them (no cached scope or cover)."""
    return User.objects.get(pk=user.pk)


def measure(
    name: str, users: list[User], run: Callable[[User], object], warmup: int, iterations: int
) -> dict[str, object]:
    for index in range(warmup):
        run(users[index % len(users)])
    times, counts = [], []
    cpu_started, server_started = time.process_time(), backend_cpu()
    for index in range(iterations):
        user = users[index % len(users)]
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            run(user)
            times.append((time.perf_counter() - started) * 1000)
        counts.append(len(queries))
    cpu = (time.process_time() - cpu_started + backend_cpu() - server_started) / iterations
    times.sort()
    row = {
        "cpu": cpu * 1000,
        "name": name,
        "median": statistics.median(times),
        "p95": times[min(len(times) - 1, round(0.95 * len(times)) - 1)],
        "queries": statistics.mode(counts),
    }
    print(
        f"{name:24} median {row['median']:7.1f} ms  p95 {row['p95']:7.1f} ms  "
        f"CPU {row['cpu']:6.1f} ms  queries {row['queries']}  (load {load()})",
        flush=True,
    )
    return row


def explain(user: User) -> None:
    with CaptureQueriesContext(connection) as queries:
        my_day(user=fresh(user))
        task_table(user=fresh(user), filters=TaskFilters())
    for query in queries.captured_queries:
        sql = query["sql"]
        if "planner_task" not in sql.split("FROM", 1)[-1][:40]:
            continue
        print("\n" + sql[:600] + (" …" if len(sql) > 600 else ""))
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
            for line in cursor.fetchall():
                print("   ", " ".join(str(part) for part in line))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--only", default="", help="comma-separated names (prefixes)")
    parser.add_argument("--label", default="")
    parser.add_argument("--explain", action="store_true")
    options = parser.parse_args()
    managers = list(
        User.objects.filter(username__regex=r"^tl[0-9]{4}$", role="manager").order_by("username")
    )
    if not managers:
        sys.exit("No 'tl…' users: fill the database with bench/generate_tasks_leads.py first.")
    step = max(1, len(managers) // options.viewers)
    viewers = managers[::step][: options.viewers]
    today = timezone.localdate()
    substitutes = (
        list(
            User.objects.filter(
                pk__in=Absence.objects.on(today).values("substitute_id"), username__startswith="tl"
            )
        )
        or viewers
    )
    print(
        f"{connection.vendor}; {len(viewers)} viewers; substitutes: {len(substitutes)}; "
        f"load {load()}",
        flush=True,
    )
    if options.explain:
        explain(viewers[0])
        return
    clients: dict[int, Client] = {}
    for user in viewers:
        clients[user.pk] = Client()
        clients[user.pk].force_login(user)

    def page(url: str) -> Callable[[User], object]:
        def get(user: User) -> object:
            response = clients[user.pk].get(url)
            assert response.status_code == 200, response.status_code
            return response

        return get

    def table(view: str) -> Callable[[User], object]:
        return lambda user: task_table(user=fresh(user), filters=TaskFilters(view=view))

    cases: list[tuple[str, list[User], Callable[[User], object]]] = [
        ("my day page", viewers, page(reverse("planner:my_day"))),
        ("task list page", viewers, page(reverse("planner:task_list"))),
        ("my day", viewers, lambda user: my_day(user=fresh(user))),
        ("list open", viewers, table("open")),
        ("list overdue", viewers, table("overdue")),
        ("list done", viewers, table("done")),
        ("list all", viewers, table("all")),
        ("substitute my day", substitutes, lambda user: my_day(user=fresh(user))),
    ]
    wanted = [name.strip() for name in options.only.split(",") if name.strip()]
    rows = []
    for name, users, run in cases:
        if wanted and not any(name.startswith(prefix) for prefix in wanted):
            continue
        rows.append(measure(name, users, run, options.warmup, options.iterations))
        reset_queries()
    label = f" {options.label} |" if options.label else ""
    print()
    for row in rows:
        print(
            f"|{label} {row['name']} | {row['median']:.1f} | {row['p95']:.1f} | {row['cpu']:.1f} "
            f"| {row['queries']} |"
        )


if __name__ == "__main__":
    main()
