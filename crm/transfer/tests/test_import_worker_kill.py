"""Nothing lost and nothing written twice when the worker running an import is killed: a
real ``manage.py db_worker`` takes the queued import, gets ``SIGKILL`` between batches or
inside one, the scheduler's sweep enqueues the import again once its heartbeat is stale,
and a second worker finishes it from the last committed batch.

As ``crm/leads/tests/test_worker_kill.py``: the processes cannot share the test's
in-memory database, so the test builds its own SQLite file in a temporary
``CRM_VAR_DIR`` and drives everything through subprocesses.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, manage, process_env

ROWS = 3000
ENV = {"CRM_IMPORT_BATCH_ROWS": "100", "CRM_IMPORT_STALE_SECONDS": "3"}

SEED = f"""
from django.core.files.base import ContentFile
from crm.accounts.models import User
from crm.transfer.importing import import_start

admin = User.objects.create_user("admin", "admin@example.com", "pw-2026-pw", role="admin")
lines = ["ФИО,Телефон,E-mail"] + [
    f"Клиентов{{n}} Пётр,+7916{{n:07d}},client{{n}}@example.ru" for n in range({ROWS})
]
job = import_start(
    actor=admin,
    file=ContentFile("\\n".join(lines).encode(), name="clients.csv"),
    filename="clients.csv",
    kind="contact",
    mapping=["full_name", "phone", "email"],
)
print("seeded", job.pk)
"""


def _worker(var_dir: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.1"],
        cwd=ROOT,
        env=process_env(var_dir, **ENV),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def _query(var_dir: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(var_dir / "crm.sqlite3", timeout=30) as connection:
        return connection.execute(sql).fetchall()


def _done(var_dir: Path) -> tuple[str, int]:
    ((status, rows_done),) = _query(var_dir, "SELECT status, rows_done FROM transfer_importjob")
    return status, rows_done


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="signals")
def test_an_import_whose_worker_is_killed_resumes_with_every_row_once(tmp_path):
    var_dir = tmp_path / "var"
    manage(var_dir, "migrate", "--no-input", "-v", "0")
    manage(var_dir, "createcachetable")
    assert "seeded" in manage(var_dir, "shell", "-c", SEED, **ENV)

    first = _worker(var_dir, tmp_path / "worker-1.log")
    try:
        deadline = time.monotonic() + 120
        while _done(var_dir)[1] < 300 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)  # mid-import: some batches committed, one open
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    status, done = _done(var_dir)
    assert status == "running" and 0 < done < ROWS, (status, done)

    time.sleep(4)  # the heartbeat goes stale
    manage(
        var_dir,
        "shell",
        "-c",
        "from crm.transfer.importing import import_sweep; print(import_sweep())",
        **ENV,
    )
    second = _worker(var_dir, tmp_path / "worker-2.log")
    try:
        deadline = time.monotonic() + 240
        while _done(var_dir)[0] != "done" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        _stop(second)

    assert _done(var_dir) == ("done", ROWS)
    ((contacts, phones),) = _query(
        var_dir,
        "SELECT COUNT(*), COUNT(DISTINCT value) FROM customers_contactpoint WHERE kind = 'phone'",
    )
    assert contacts == phones == ROWS
    assert _query(var_dir, "SELECT COUNT(*) FROM customers_contact") == [(ROWS,)]
    ((entries, rows),) = _query(
        var_dir, "SELECT COUNT(*), COUNT(DISTINCT row) FROM transfer_importentry"
    )
    assert entries == rows == ROWS
    assert _query(var_dir, "SELECT created, updated, skipped, failed FROM transfer_importjob") == [
        (ROWS, 0, 0, 0)
    ]
