"""Nothing lost and nothing made twice when a lead worker is killed mid-batch: a real
``manage.py db_worker`` process takes the queued arrivals, gets ``SIGKILL`` while it works,
and a second one started after it finishes the queue.

The processes cannot share the test's in-memory database, so the test builds its own SQLite
file (WAL, as production) with ``migrate`` in a temporary ``CRM_VAR_DIR`` and drives
everything through subprocesses, as ``crm/planner/tests/test_worker_processes.py`` does.
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

ARRIVALS = 400
CLIENTS = 300  # a hundred clients write twice

SEED = f"""
from django.db import transaction
from crm.leads.services import intake

with transaction.atomic():  # queued as they would be, each with its job, committed at once
    for number in range({ARRIVALS}):
        client = number % {CLIENTS}
        intake.inbound_store(
            channel="api",
            payload={{"name": f"Клиент {{client}}", "phone": f"+7916{{client:07d}}",
                      "message": f"заявка {{number}}"}},
            idempotency_key=f"kill-{{number}}",
        )
print("seeded")
"""


def _worker(var_dir: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.1"],
        cwd=ROOT,
        env=process_env(var_dir),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def _query(var_dir: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(var_dir / "crm.sqlite3", timeout=30) as connection:
        return connection.execute(sql).fetchall()


def _pending(var_dir: Path) -> int:
    return _query(var_dir, "SELECT COUNT(*) FROM leads_inbound WHERE status = 'pending'")[0][0]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="signals")
def test_a_worker_killed_mid_batch_loses_nothing_and_makes_nothing_twice(tmp_path):
    var_dir = tmp_path / "var"
    manage(var_dir, "migrate", "--no-input", "-v", "0")
    manage(var_dir, "createcachetable")  # as `make migrate` and docs/operations.md do
    assert "seeded" in manage(var_dir, "shell", "-c", SEED)
    assert _pending(var_dir) == ARRIVALS

    first = _worker(var_dir, tmp_path / "worker-1.log")
    try:
        deadline = time.monotonic() + 120
        while _pending(var_dir) == ARRIVALS and time.monotonic() < deadline:
            time.sleep(0.05)
        # Killed while it works: some arrivals done, a batch's transaction open.
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    left = _pending(var_dir)
    assert 0 < left < ARRIVALS, "the kill came before or after the work, not in it"

    second = _worker(var_dir, tmp_path / "worker-2.log")
    try:
        deadline = time.monotonic() + 180
        while _pending(var_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        second.send_signal(signal.SIGINT)
        try:
            second.wait(15)
        except subprocess.TimeoutExpired:
            second.kill()
    # The killed job's own arrival may be left to the sweep (run by the scheduler).
    manage(
        var_dir,
        "shell",
        "-c",
        "from crm.leads.services.intake import inbound_sweep; inbound_sweep(older_than_seconds=0)",
    )

    # Every arrival is processed, each exactly once: one lead per client (a client's second
    # request joins their open lead), every arrival pointing at its client's lead, and one
    # "created" entry on each lead's timeline.
    assert _pending(var_dir) == 0
    statuses = dict(_query(var_dir, "SELECT status, COUNT(*) FROM leads_inbound GROUP BY 1"))
    assert statuses == {"processed": ARRIVALS}
    ((leads, phones),) = _query(var_dir, "SELECT COUNT(*), COUNT(DISTINCT phone) FROM leads_lead")
    assert leads == phones == CLIENTS
    ((unlinked,),) = _query(var_dir, "SELECT COUNT(*) FROM leads_inbound WHERE lead_id IS NULL")
    assert unlinked == 0
    ((mixed,),) = _query(
        var_dir,
        "SELECT COUNT(*) FROM leads_inbound i JOIN leads_lead l ON l.id = i.lead_id "
        "WHERE json_extract(i.payload, '$.phone') <> l.phone",
    )
    assert mixed == 0
    created = _query(
        var_dir,
        "SELECT e.subject_id, COUNT(*) FROM activities_timelineentry e "
        "JOIN django_content_type t ON t.id = e.subject_type_id "
        "WHERE t.app_label = 'leads' AND t.model = 'lead' AND e.kind = 'created' "
        "GROUP BY e.subject_id",
    )
    assert len(created) == CLIENTS and {count for _lead, count in created} == {1}
