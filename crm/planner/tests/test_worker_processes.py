"""Reminders delivered by real worker processes: two ``manage.py scheduler`` processes at
once against one database file, then a restart after downtime.

The processes cannot share the test's in-memory database, so this test builds its own
SQLite file with ``migrate`` in a temporary ``CRM_VAR_DIR`` and drives everything through
subprocesses, as production does. The same run on PostgreSQL, with 100,000 reminders,
is ``bench/reminders.py``.
"""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, manage, process_env

DELIVERED = re.compile(r"reminders_deliver delivered=(\d+)")

SEED = """
import datetime as dt
from django.utils import timezone
from crm.accounts.models import User
from crm.planner.models import TaskReminder
from crm.planner.services import task_create

users = [
    User.objects.get_or_create(username=f"{prefix}{index}", defaults={"email": ""})[0]
    for index in range(5)
]
now = timezone.now()
count = 0
for index in range(COUNT):
    owner = users[index % len(users)]
    due = now + dt.timedelta(seconds=OFFSET + (index % SPREAD))
    task_create(actor=owner, owner=owner, title=f"{prefix} task {index}", due_at=due,
                reminders=[0], check_actor=False)
    count += 1
# Reminders whose moment passes while no worker runs would be consumed by the service as
# "too late to remind" when set in the past; here they are set ahead and then pulled back.
if OFFSET < 0:
    TaskReminder.objects.filter(task__title__startswith=prefix).update(
        fire_at=now + dt.timedelta(seconds=OFFSET), sent_at=None
    )
print(count)
"""


def _manage(var_dir: Path, *args: str, timeout: float = 120) -> str:
    return manage(var_dir, *args, timeout=timeout, CRM_LOG_LEVEL="INFO")


def _seed(var_dir: Path, prefix: str, count: int, offset: int, spread: int) -> None:
    script = (
        SEED.replace("COUNT", str(count))
        .replace("OFFSET", str(offset))
        .replace("SPREAD", str(spread))
        .replace("prefix", repr(prefix))
    )
    assert _manage(var_dir, "shell", "-c", script).split()[-1] == str(count)


def _worker(var_dir: Path, log: Path) -> subprocess.Popen:
    handle = log.open("w")
    return subprocess.Popen(
        [sys.executable, "manage.py", "scheduler", "--tick", "0.2"],
        cwd=ROOT,
        env=process_env(var_dir, CRM_LOG_LEVEL="INFO"),
        stdout=handle,
        stderr=subprocess.STDOUT,
    )


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _query(var_dir: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(var_dir / "crm.sqlite3", timeout=30) as connection:
        return connection.execute(sql, params).fetchall()


def _wait_until_sent(var_dir: Path, prefix: str, expected: int, deadline: float) -> int:
    sent = 0
    while time.monotonic() < deadline:
        ((sent,),) = _query(
            var_dir,
            "SELECT COUNT(*) FROM planner_taskreminder r JOIN planner_task t ON t.id = r.task_id "
            "WHERE r.sent_at IS NOT NULL AND t.title LIKE ?",
            (f"{prefix}%",),
        )
        if sent >= expected:
            return sent
        time.sleep(0.3)
    return sent


def _delivered(*logs: Path) -> int:
    return sum(int(match) for log in logs for match in DELIVERED.findall(log.read_text()))


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="signals")
def test_two_workers_deliver_every_reminder_once_and_a_restart_catches_up(tmp_path):
    var_dir = tmp_path / "var"
    _manage(var_dir, "migrate", "--no-input", "-v", "0", timeout=300)
    # 300 reminders already due (as after downtime) and 60 due over the next few seconds.
    _seed(var_dir, "backlog", 300, offset=-600, spread=1)
    _seed(var_dir, "ontime", 60, offset=8, spread=4)

    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = [_worker(var_dir, log) for log in logs]
    try:
        assert _wait_until_sent(var_dir, "backlog", 300, time.monotonic() + 60) == 300
        assert _wait_until_sent(var_dir, "ontime", 60, time.monotonic() + 60) == 60
        time.sleep(2)  # each worker finishes its sweep and logs what it delivered
    finally:
        for worker in workers:
            _stop(worker)

    # Both workers ran; together they delivered each reminder exactly once.
    assert _delivered(*logs) == 360
    ((notifications,),) = _query(
        var_dir, "SELECT COUNT(*) FROM notifications_notification WHERE kind = 'reminder'"
    )
    assert notifications == 360
    (late,) = _query(
        var_dir,
        "SELECT MAX((julianday(n.created_at) - julianday(r.fire_at)) * 86400) "
        "FROM planner_taskreminder r JOIN notifications_notification n "
        "ON n.dedupe_key = 'reminder:' || r.id JOIN planner_task t ON t.id = r.task_id "
        "WHERE t.title LIKE 'ontime%'",
    )
    assert late[0] < 10, f"an on-time reminder came {late[0]:.1f} s late"

    # Downtime: reminders fall due while no worker runs; one restarted worker catches up.
    _seed(var_dir, "downtime", 40, offset=2, spread=1)
    time.sleep(3.5)
    restart_log = tmp_path / "worker-restart.log"
    worker = _worker(var_dir, restart_log)
    try:
        assert _wait_until_sent(var_dir, "downtime", 40, time.monotonic() + 60) == 40
        time.sleep(2)  # a few more sweeps: nothing is delivered twice
    finally:
        _stop(worker)
    assert _delivered(restart_log) == 40
    ((notifications,),) = _query(
        var_dir, "SELECT COUNT(*) FROM notifications_notification WHERE kind = 'reminder'"
    )
    assert notifications == 400
