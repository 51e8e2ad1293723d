"""E-mails written from cards, handed by ONE send-job worker to a local SMTP server.

On SQLite (``CRM_VAR_DIR``) or PostgreSQL (``DATABASE_URL``), migrated::

    CRM_VAR_DIR=/tmp/bench-mail .venv/bin/python manage.py migrate
    CRM_VAR_DIR=/tmp/bench-mail .venv/bin/python bench/mail_send.py --count 2000
    … --attachment 100000          # each e-mail with a 100 kB PDF attached

What it does:

1. Deletes what an earlier run left (its user ``mail-bench`` and the e-mails, timeline
   entries and queued jobs of it), then writes ``--count`` queued ``OutgoingEmail`` rows of
   one deal's contact (a subject and a 1 kB body of Russian text, optionally one attachment
   of ``--attachment`` bytes shared by all) and enqueues ``email_send_job`` for each with the
   database backend (``django_tasks_db``), as ``email_send`` does on commit.
2. Starts an SMTP server (aiosmtpd) on 127.0.0.1 in this process, counting what it accepts,
   and runs ONE production worker, ``manage.py db_worker --batch`` (a separate process, with
   ``CRM_EMAIL_HOST``/``PORT`` pointing at the server), until the queue is empty.
3. Reports e-mails per second (count / the worker's wall time), the median and p95 of the
   time between two consecutive ``sent_at`` (one e-mail's cost in the worker), and checks
   every row is ``sent`` once and the server got exactly ``--count`` messages.

Numbers only: nothing is asserted here. A Markdown row is printed at the end.
"""

from __future__ import annotations

import argparse
import itertools
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")

import django  # noqa: E402

django.setup()

from aiosmtpd.controller import Controller  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tasks_db.models import DBTaskResult  # noqa: E402

from crm.accounts.models import User  # noqa: E402
from crm.activities.models import Attachment  # noqa: E402
from crm.correspondence.jobs import email_send_job  # noqa: E402
from crm.correspondence.models import OutgoingEmail  # noqa: E402
from crm.customers.models import Contact  # noqa: E402

USERNAME = "mail-bench"
BODY = ("Здравствуйте, Анна! Направляем счёт по сделке «Вентиляция склада». " * 16)[:1000]


class Counter:
    """aiosmtpd handler: counts the messages and their bytes."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages += 1
        self.bytes += len(envelope.original_content or b"")
        return "250 OK"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def clean() -> None:
    users = User.objects.filter(username=USERNAME)
    OutgoingEmail.objects.filter(sender__in=users).delete()
    Contact.objects.filter(owner__in=users).delete()
    Attachment.objects.filter(uploaded_by__in=users).delete()
    DBTaskResult.objects.filter(task_path__endswith="email_send_job").delete()


def prepare(count: int, attachment_size: int) -> list[int]:
    user, _created = User.objects.get_or_create(
        username=USERNAME, defaults={"first_name": "Почта", "last_name": "Бенч"}
    )
    contact = Contact.objects.create(owner=user, first_name="Анна", last_name="Смирнова")
    attachment = None
    if attachment_size:
        data = b"%PDF-1.4\n" + os.urandom(attachment_size - 9)
        attachment = Attachment(
            original_name="Счёт.pdf",
            content_type="application/pdf",
            size=len(data),
            sha256="0" * 64,
            uploaded_by=user,
        )
        attachment.file.save("bench-invoice.pdf", ContentFile(data), save=True)
    now = timezone.now()
    rows = OutgoingEmail.objects.bulk_create(
        [
            OutgoingEmail(
                record_kind="contact",
                record_id=contact.pk,
                contact=contact,
                sender=user,
                from_name="Вентпром",
                from_address="sales@example.ru",
                to=[f"anna{index}@client.ru"],
                subject=f"Счёт по сделке №{index}",
                body=BODY,
                message_id=f"<bench-{index}-{now.timestamp()}@example.ru>",
                next_attempt_at=now,
            )
            for index in range(count)
        ],
        batch_size=1000,
    )
    ids = [row.pk for row in rows] if rows[0].pk else list(
        OutgoingEmail.objects.filter(sender=user).order_by("id").values_list("id", flat=True)
    )  # fmt: skip
    if attachment is not None:
        through = OutgoingEmail.attachments.through
        through.objects.bulk_create(
            [through(outgoingemail_id=pk, attachment_id=attachment.pk) for pk in ids],
            batch_size=1000,
        )
    for pk in ids:
        email_send_job.enqueue(pk)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--attachment", type=int, default=0, help="bytes of one attachment")
    args = parser.parse_args()

    clean()
    started = time.perf_counter()
    ids = prepare(args.count, args.attachment)
    print(f"prepared {len(ids)} e-mails and jobs in {time.perf_counter() - started:.1f} s")

    counter = Counter()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = Controller(counter, hostname="127.0.0.1", port=port)
    server.start()
    env = {
        **os.environ,
        "CRM_EMAIL_HOST": "127.0.0.1",
        "CRM_EMAIL_PORT": str(port),
        "CRM_EMAIL_TLS": "0",
        "CRM_EMAIL_SSL": "0",
    }
    command = [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay"]
    started = time.perf_counter()
    subprocess.run([*command, "-v", "0"], cwd=ROOT, env=env, check=True)
    elapsed = time.perf_counter() - started
    server.stop()

    rows = OutgoingEmail.objects.filter(pk__in=ids)
    sent = rows.filter(status="sent", attempts=1).count()
    moments = sorted(rows.exclude(sent_at=None).values_list("sent_at", flat=True))
    gaps = [(b - a).total_seconds() * 1000 for a, b in itertools.pairwise(moments)]
    gaps.sort()
    median = statistics.median(gaps) if gaps else 0.0
    p95 = gaps[int(len(gaps) * 0.95) - 1] if gaps else 0.0
    rate = len(ids) / elapsed
    print(
        f"{connection.vendor}: {len(ids)} e-mails, attachment {args.attachment} B: "
        f"worker {elapsed:.1f} s = {rate:.1f} e-mails/s; per e-mail median {median:.1f} ms, "
        f"p95 {p95:.1f} ms; sent once {sent}/{len(ids)}, server got {counter.messages} "
        f"({counter.bytes / 2**20:.1f} MB); load {load()}"
    )
    print(
        f"| {connection.vendor} | {len(ids)} | {args.attachment} | {elapsed:.1f} | {rate:.1f} "
        f"| {median:.1f} | {p95:.1f} | {sent == len(ids) == counter.messages} |"
    )
    clean()


if __name__ == "__main__":
    main()
