"""Reminder delivery by real worker processes: 100,000 reminders across 1,000 users.

On PostgreSQL (or SQLite under ``CRM_VAR_DIR``), migrated::

    createdb -h 127.0.0.1 -U postgres bench_planner
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_planner .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_planner \\
        .venv/bin/python bench/reminders.py --workers 1 --window 3600
    … --workers 2                   # two schedulers at once
    … --window 600                  # the same 100,000 compressed into 10 minutes (6× the rate)
    … --backlog                     # all of them already due: a worker back after downtime

What it does:

1. Deletes what an earlier run left (its users ``rb…`` with their tasks, reminders and
   notifications, and the queued e-mail jobs), then makes 1,000 users (with e-mail
   addresses, so every notification also enqueues its e-mail job as in production) and
   100,000 open tasks, each with one reminder "at the due time", in bulk.
2. Spreads the reminders' moments evenly over ``--window`` seconds starting ``--lead``
   seconds from now (time for the workers to start), in random order across the users.
   With ``--backlog`` every moment is ``--lead`` seconds in the past instead.
3. Starts ``--workers`` ``manage.py scheduler`` processes (the production command, all
   sweeps registered, ``--tick 0.5``) and waits until every reminder is marked sent.
   ``CRM_TASK_DIGEST_TIME=23:59`` keeps the daily digest (which would find these tasks
   overdue as they pass) out of the measurement.
4. Checks and measures, in SQL: every reminder sent with exactly one notification; the sum of
   ``delivered=`` over the workers' logs equals the number of reminders (so no reminder was
   claimed twice — the notification's dedupe key would otherwise hide a double delivery);
   the delay of each notification after its reminder's moment (median, p95, max).

Numbers only: nothing is asserted here. A Markdown row is printed at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from django.utils import timezone  # noqa: E402

from crm.accounts.models import User  # noqa: E402
from crm.notifications.models import Notification  # noqa: E402
from crm.planner.models import Task, TaskReminder, TaskType  # noqa: E402

PREFIX = "rb"
DELIVERED = re.compile(r"reminders_deliver delivered=(\d+)")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def clean() -> None:
    users = User.objects.filter(username__startswith=PREFIX)
    tasks = Task.objects.filter(owner__in=users)
    TaskReminder.objects.filter(task__in=tasks).delete()
    tasks.delete()
    Notification.objects.filter(recipient__in=users).delete()
    users.delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_tasks_database_dbtaskresult WHERE task_path LIKE %s",
            ["crm.notifications.jobs.%"],
        )


def make(count: int, people: int, *, start: dt.datetime, window: float, seed: int) -> None:
    rng = random.Random(seed)
    todo = TaskType.objects.get(code="todo")
    with transaction.atomic():
        users = User.objects.bulk_create(
            [
                User(username=f"{PREFIX}{index:04d}", email=f"{PREFIX}{index:04d}@example.com")
                for index in range(people)
            ],
            batch_size=1000,
        )
    moments = [start + dt.timedelta(seconds=window * index / count) for index in range(count)]
    rng.shuffle(moments)
    chunk = 10_000
    for offset in range(0, count, chunk):
        with transaction.atomic():
            tasks = Task.objects.bulk_create(
                [
                    Task(
                        type=todo,
                        title=f"Bench reminder {index}",
                        owner=users[index % people],
                        due_at=moments[index],
                    )
                    for index in range(offset, min(count, offset + chunk))
                ],
                batch_size=2000,
            )
            TaskReminder.objects.bulk_create(
                [TaskReminder(task=task, minutes_before=0, fire_at=task.due_at) for task in tasks],
                batch_size=2000,
            )


def shift(seconds: float) -> None:
    """Move every bench moment by ``seconds`` (the set-up took time; start counts from now)."""
    delta = dt.timedelta(seconds=seconds)
    users = User.objects.filter(username__startswith=PREFIX)
    with transaction.atomic():
        Task.objects.filter(owner__in=users).update(due_at=F("due_at") + delta)
        TaskReminder.objects.filter(task__owner__in=users).update(fire_at=F("fire_at") + delta)


def worker(index: int, logs: Path) -> tuple[subprocess.Popen, Path]:
    log = logs / f"worker-{index}.log"
    env = {**os.environ, "CRM_TASK_DIGEST_TIME": "23:59", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "scheduler", "--tick", "0.5"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    return process, log


def sent() -> int:
    return TaskReminder.objects.filter(
        task__owner__username__startswith=PREFIX, sent_at__isnull=False
    ).count()


def stats() -> dict[str, float]:
    vendor = connection.vendor
    delay = (
        "EXTRACT(EPOCH FROM n.created_at - r.fire_at)"
        if vendor == "postgresql"
        else "(julianday(n.created_at) - julianday(r.fire_at)) * 86400"
    )
    key = "'reminder:' || r.id"
    sql = f"""
        SELECT {delay} FROM planner_taskreminder r
        JOIN planner_task t ON t.id = r.task_id
        JOIN accounts_user u ON u.id = t.owner_id AND u.username LIKE %s
        JOIN notifications_notification n ON n.recipient_id = t.owner_id AND n.dedupe_key = {key}
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [f"{PREFIX}%"])
        delays = sorted(float(row[0]) for row in cursor.fetchall())
        cursor.execute(
            "SELECT COUNT(*), SUM(r.delivered_count) FROM planner_taskreminder r "
            "JOIN planner_task t ON t.id = r.task_id JOIN accounts_user u ON u.id = t.owner_id "
            "WHERE u.username LIKE %s",
            [f"{PREFIX}%"],
        )
        reminders, delivered = cursor.fetchone()
    notifications = Notification.objects.filter(
        recipient__username__startswith=PREFIX, kind="reminder"
    ).count()

    def percentile(share: float) -> float:
        return delays[min(len(delays) - 1, int(share * len(delays)))] if delays else float("nan")

    return {
        "reminders": reminders,
        "delivered_count": int(delivered or 0),
        "notifications": notifications,
        "joined": len(delays),
        "median": percentile(0.5),
        "p95": percentile(0.95),
        "p99": percentile(0.99),
        "max": delays[-1] if delays else float("nan"),
        "min": delays[0] if delays else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--window", type=float, default=3600, help="seconds the moments span")
    parser.add_argument("--lead", type=float, default=20, help="seconds before the first")
    parser.add_argument("--backlog", action="store_true", help="all due already")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--logs", default=str(Path(tempfile.gettempdir()) / "bench-reminders"))
    parser.add_argument("--keep", action="store_true", help="leave the rows")
    args = parser.parse_args()

    logs = Path(args.logs)
    logs.mkdir(parents=True, exist_ok=True)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; load {load()}")
    clean()
    started = time.monotonic()
    placeholder = timezone.now()
    make(
        args.reminders,
        args.users,
        start=placeholder,
        window=0 if args.backlog else args.window,
        seed=args.seed,
    )
    print(f"made {args.reminders:,} tasks and reminders in {time.monotonic() - started:.1f} s")
    # The first moment is --lead seconds from now (or ago, for a backlog).
    first = timezone.now() + dt.timedelta(seconds=-args.lead if args.backlog else args.lead)
    shift((first - placeholder).total_seconds())
    last = first + dt.timedelta(seconds=0 if args.backlog else args.window)
    print(f"moments from {first:%H:%M:%S} to {last:%H:%M:%S}; starting {args.workers} worker(s)")

    processes = [worker(index + 1, logs) for index in range(args.workers)]
    begun = time.monotonic()
    deadline = (last - timezone.now()).total_seconds() + 600
    done = 0
    loads = [load()]
    try:
        while time.monotonic() - begun < deadline:
            time.sleep(5)
            done = sent()
            if int(time.monotonic() - begun) % 60 < 5:
                loads.append(load())
                print(f"  {time.monotonic() - begun:6.0f} s: {done:,} sent; load {load()}")
            if done >= args.reminders:
                time.sleep(3)  # let each worker finish its sweep and log what it claimed
                break
    finally:
        for process, _log in processes:
            process.send_signal(signal.SIGINT)
        for process, _log in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    elapsed = time.monotonic() - begun
    claimed = [
        sum(int(value) for value in DELIVERED.findall(log.read_text())) for _p, log in processes
    ]
    result = stats()
    loads.append(load())
    print(f"sent {done:,} in {elapsed:.0f} s; claimed by worker: {claimed} (sum {sum(claimed):,})")
    print(
        "reminders {reminders:,}, delivered_count {delivered_count:,}, notifications "
        "{notifications:,}, joined {joined:,}".format(**result)
    )
    print(
        "delay after the moment, s: min {min:.2f}, median {median:.2f}, p95 {p95:.2f}, "
        "p99 {p99:.2f}, max {max:.2f}".format(**result)
    )
    every = result["notifications"] == args.reminders == result["joined"] == sum(claimed)
    kind = "backlog" if args.backlog else f"{args.window:.0f} s window"
    print(
        f"\n| {connection.vendor} | {args.workers} | {kind} | {args.reminders:,} / {args.users:,} "
        f"| {'yes' if every else 'NO'} | {sum(claimed):,} | {result['median']:.2f} "
        f"| {result['p95']:.2f} | {result['max']:.2f} | {elapsed:.0f} s | {loads[0]} → {loads[-1]} |"
    )
    if not args.keep:
        clean()


if __name__ == "__main__":
    main()
