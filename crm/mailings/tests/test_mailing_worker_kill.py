"""A mailing of 1,000 recipients (10 unsubscribed, 5 undeliverable) whose worker is killed
halfway: a real ``manage.py db_worker`` sends through a real SMTP server (aiosmtpd), which
kills the worker with ``SIGKILL`` while it hands over the 500th message, inside a batch
whose first messages the server already took. After the lease, the sweep and a second
worker finish the mailing: each address receives exactly one message, the excluded ones
none, and every sent message is on its contact's timeline.

As ``crm/transfer/tests/test_import_worker_kill.py``: the processes cannot share the test's
in-memory database, so the test builds its own SQLite file in a temporary ``CRM_VAR_DIR``
and drives everything through subprocesses.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from conftest import ROOT, manage, process_env
from crm.notifications.tests.conftest import free_port

ROWS = 1000
KILL_AT = 500

SEED = f"""
from crm.accounts.models import User
from crm.correspondence.models import EmailTemplate
from crm.customers.models import Contact, ContactPoint
from crm.mailings.services import mailing_create, mailing_start, segment_create

admin = User.objects.create_user("admin", "admin@example.com", "pw-2026-pw", role="admin")
contacts = Contact.objects.bulk_create(
    Contact(owner=admin, first_name=f"Имя{{n}}", last_name="Клиентов") for n in range({ROWS})
)
ContactPoint.objects.bulk_create(
    ContactPoint(contact=c, kind="email", value=f"client{{n}}@example.ru", is_primary=True)
    for n, c in enumerate(contacts)
)
ContactPoint.objects.filter(value__in=[f"client{{n}}@example.ru" for n in range(10)]).update(
    unsubscribed_at="2026-01-01T00:00Z"
)
ContactPoint.objects.filter(value__in=[f"client{{n}}@example.ru" for n in range(10, 15)]).update(
    undeliverable_at="2026-01-01T00:00Z", undeliverable_reason="550 5.1.1"
)
template = EmailTemplate.objects.create(
    name="Новости", language="ru", subject="Новости для {{{{ client.first_name }}}}",
    body="Здравствуйте, {{{{ client.first_name }}}}!",
)
segment = segment_create(actor=admin, name="Все", spec={{"has_email": True}})
mailing = mailing_create(actor=admin, name="Тысяча", segment_id=segment.pk,
                         template_id=template.pk, rate_per_minute=100000)
mailing = mailing_start(actor=admin, mailing=mailing, confirm=True)
print("seeded", mailing.pk, mailing.total)
"""


class Killer:
    """Records each message; at the ``KILL_AT``-th it kills the sending worker before
    taking the message (so the worker never learns the outcome of its batch)."""

    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.victim: int | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.victim is not None and len(self.addresses) == KILL_AT - 1:
            os.kill(self.victim, signal.SIGKILL)
            self.victim = None
            return "451 4.3.0 The worker is gone"
        self.addresses.extend(envelope.rcpt_tos)
        return "250 Message accepted"


def _env(port: int) -> dict[str, str]:
    return {
        "CRM_EMAIL_HOST": "127.0.0.1",
        "CRM_EMAIL_PORT": str(port),
        "CRM_EMAIL_TLS": "0",
        "CRM_MAIL_FROM": "Вентпром <news@example.ru>",
        "CRM_MAILING_BATCH": "50",
        "CRM_MAILING_LEASE_SECONDS": "3",
    }


def _worker(var_dir: Path, log: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.1"],
        cwd=ROOT,
        env=process_env(var_dir, **env),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def _query(var_dir: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(var_dir / "crm.sqlite3", timeout=30) as connection:
        return connection.execute(sql).fetchall()


def _state(var_dir: Path) -> str:
    return str(_query(var_dir, "SELECT state FROM mailings_mailing")[0][0])


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="signals")
def test_a_mailing_whose_worker_is_killed_reaches_each_address_once(tmp_path):
    var_dir = tmp_path / "var"
    killer = Killer()
    controller = Controller(killer, hostname="127.0.0.1", port=free_port())
    controller.start()
    env = _env(controller.port)
    try:
        manage(var_dir, "migrate", "--no-input", "-v", "0")
        manage(var_dir, "createcachetable")
        assert f"seeded 1 {ROWS}" in manage(var_dir, "shell", "-c", SEED, **env)

        first = _worker(var_dir, tmp_path / "worker-1.log", env)
        killer.victim = first.pid
        try:
            first.wait(180)
        finally:
            if first.poll() is None:
                first.kill()
        assert first.returncode == -signal.SIGKILL
        assert len(killer.addresses) == KILL_AT - 1
        ((sent, queued),) = _query(
            var_dir,
            "SELECT SUM(state = 'sent'), SUM(state = 'queued') FROM mailings_mailingrecipient",
        )
        assert sent == KILL_AT - 1 and queued == ROWS - 15 - sent  # the batch in flight too
        assert _state(var_dir) == "sending"

        time.sleep(4)  # the dead worker's lease runs out
        assert "resumed" in manage(
            var_dir,
            "shell",
            "-c",
            "from datetime import timedelta; from django.utils import timezone;"
            "from crm.mailings.services.delivery import mailing_sweep;"
            "print(mailing_sweep(now=timezone.now() + timedelta(minutes=2)))",
            **env,
        )
        second = _worker(var_dir, tmp_path / "worker-2.log", env)
        try:
            deadline = time.monotonic() + 240
            while _state(var_dir) != "done" and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            _stop(second)
    finally:
        controller.stop()

    assert _state(var_dir) == "done"
    expected = {f"client{n}@example.ru" for n in range(15, ROWS)}
    assert len(killer.addresses) == len(expected)
    assert set(killer.addresses) == expected  # each once, the excluded none
    assert _query(
        var_dir,
        "SELECT state, reason, COUNT(*) FROM mailings_mailingrecipient "
        "GROUP BY state, reason ORDER BY state, reason",
    ) == [("sent", "", ROWS - 15), ("skipped", "undeliverable", 5), ("skipped", "unsubscribed", 10)]
    ((entries, contacts),) = _query(
        var_dir,
        "SELECT COUNT(*), COUNT(DISTINCT subject_id) FROM activities_timelineentry "
        "WHERE kind = 'email'",
    )
    assert entries == contacts == ROWS - 15
