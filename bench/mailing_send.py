"""A mailing to a large segment, rendered per recipient and handed by TWO send-job workers
to a local SMTP server.

On PostgreSQL with the generated base (``bench/generate.py``), migrated::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_h_mailing_bench \\
        .venv/bin/python bench/mailing_send.py --recipients 100000 --workers 2

What it does:

1. Deletes what an earlier run left (the mailings of its user ``mailing-bench``, their
   timeline entries and queued jobs, the bench's extra addresses), then makes sure the base
   has ``--recipients`` e-mail addresses: contacts without one get
   ``bench-<id>@example.ru`` (removed again at the end).
2. Writes a mailing of ``mailing-bench`` (an administrator: the segment is the whole base)
   to the segment "has an e-mail", from a template with the client's and manager's
   placeholders, at 100,000 messages a minute, and starts it (the list is materialised:
   timed).
3. Starts an SMTP server (aiosmtpd, counting and discarding) in this process and
   ``--workers`` production workers (``manage.py db_worker``, separate processes, pointed at
   it), waits until the mailing is done, and samples the workers' RSS every 0.5 s.
4. Reports messages per second (sent / the time from the first to the last ``sent_at``, and
   over the workers' wall time), the median and p95 of the gap between two consecutive
   ``sent_at``, the workers' peak RSS, and checks each address got one message.

Numbers only: nothing is asserted. A Markdown row is printed at the end.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
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
from django.db import connection  # noqa: E402
from django_tasks_db.models import DBTaskResult  # noqa: E402

from crm.accounts.models import User  # noqa: E402
from crm.activities.models import TimelineEntry  # noqa: E402
from crm.correspondence.models import EmailTemplate  # noqa: E402
from crm.customers.models import Contact, ContactPoint  # noqa: E402
from crm.mailings.models import Mailing, MailingRecipient, Segment  # noqa: E402
from crm.mailings.services import mailing_create, mailing_start, segment_create  # noqa: E402

USERNAME = "mailing-bench"
EXTRA = "@bench-mailing.example.ru"
BODY = (
    "Здравствуйте, {{ client.first_name|default:'коллега' }}!\n\n"
    + "Рассказываем о новинках вентиляционного оборудования этой зимы. " * 10
    + "\n\n{{ manager.full_name }}, {{ company.name }}"
)


class Counter:
    """aiosmtpd handler: counts the messages and their recipients, keeps nothing else."""

    def __init__(self) -> None:
        self.messages = 0
        self.recipients: set[str] = set()
        self.bytes = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages += 1
        self.recipients.update(envelope.rcpt_tos)
        self.bytes += len(envelope.original_content or b"")
        return "250 OK"


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def clean() -> None:
    users = User.objects.filter(username=USERNAME)
    ids = list(Mailing.objects.filter(created_by__in=users).values_list("pk", flat=True))
    for mailing_id in ids:
        TimelineEntry.objects.filter(kind="email", data__mailing_id=mailing_id).delete()
    MailingRecipient.objects.filter(mailing_id__in=ids).delete()
    Mailing.objects.filter(pk__in=ids).delete()
    Segment.objects.filter(owner__in=users).delete()
    EmailTemplate.objects.filter(name=USERNAME).delete()
    ContactPoint.objects.filter(kind="email", value__endswith=EXTRA).delete()
    DBTaskResult.objects.filter(task_path__endswith="mailing_send_job").delete()


def top_up(recipients: int) -> int:
    """Give contacts without an e-mail one, until the base has ``recipients`` addresses."""
    have = ContactPoint.objects.filter(kind="email", contact__isnull=False).count()
    missing = max(0, recipients - have)
    if missing:
        without = (
            Contact.objects.filter(merged_into__isnull=True)
            .exclude(points__kind="email")
            .values_list("pk", flat=True)[:missing]
        )
        ContactPoint.objects.bulk_create(
            (
                ContactPoint(contact_id=pk, kind="email", value=f"bench-{pk}{EXTRA}", position=9)
                for pk in without.iterator(chunk_size=5000)
            ),
            batch_size=5000,
        )
    return ContactPoint.objects.filter(kind="email", contact__isnull=False).count()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()

    clean()
    addresses = top_up(args.recipients)
    user, _created = User.objects.get_or_create(
        username=USERNAME, defaults={"first_name": "Рассылка", "last_name": "Бенч", "role": "admin"}
    )
    template = EmailTemplate.objects.create(
        name=USERNAME, language="ru", subject="Новинки для {{ client.first_name }}", body=BODY
    )
    segment = segment_create(actor=user, name=USERNAME, spec={"has_email": True})
    mailing = mailing_create(
        actor=user,
        name=USERNAME,
        segment_id=segment.pk,
        template_id=template.pk,
        rate_per_minute=100_000,
    )
    started = time.perf_counter()
    mailing = mailing_start(actor=user, mailing=mailing, confirm=True)
    materialised = time.perf_counter() - started
    print(
        f"{addresses} addresses in the base; mailing of {mailing.total} recipients "
        f"materialised in {materialised:.1f} s; load {load()}"
    )

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
        "CRM_MAILING_BATCH": str(args.batch),
    }
    command = [
        sys.executable,
        "manage.py",
        "db_worker",
        "--no-reload",
        "--no-startup-delay",
        "--interval",
        "0.05",
        "-v",
        "0",
    ]
    started = time.perf_counter()
    workers = [subprocess.Popen(command, cwd=ROOT, env=env) for _ in range(args.workers)]
    peak: dict[int, float] = {worker.pid: 0.0 for worker in workers}
    loads = []
    try:
        while Mailing.objects.filter(pk=mailing.pk).values_list("state", flat=True)[0] != "done":
            time.sleep(0.5)
            for worker in workers:
                peak[worker.pid] = max(peak[worker.pid], rss_mb(worker.pid))
            if len(loads) < 10_000:
                loads.append(float(load().split()[0]))
            if any(worker.poll() is not None for worker in workers):
                raise SystemExit("a worker stopped")
    finally:
        elapsed = time.perf_counter() - started
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        for worker in workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
        server.stop()

    rows = MailingRecipient.objects.filter(mailing=mailing)
    sent = rows.filter(state="sent").count()
    moments = sorted(rows.exclude(sent_at=None).values_list("sent_at", flat=True))
    span = (moments[-1] - moments[0]).total_seconds() if len(moments) > 1 else 0.0
    gaps = sorted((b - a).total_seconds() * 1000 for a, b in itertools.pairwise(moments))
    median = statistics.median(gaps) if gaps else 0.0
    p95 = gaps[int(len(gaps) * 0.95) - 1] if gaps else 0.0
    once = sent == counter.messages == len(counter.recipients)
    rate_span = sent / span if span else 0.0
    rate_wall = sent / elapsed
    rss = ", ".join(f"{value:.0f}" for value in peak.values())
    print(
        f"{connection.vendor}: {sent} sent of {mailing.total} by {args.workers} workers "
        f"(batch {args.batch}): {rate_span:.0f} messages/s between the first and last send, "
        f"{rate_wall:.0f}/s over {elapsed:.1f} s of wall time; gap median {median:.2f} ms, "
        f"p95 {p95:.2f} ms; peak RSS per worker {rss} MB; server got {counter.messages} "
        f"({counter.bytes / 2**20:.0f} MB), each address once: {once}; load during the run "
        f"median {statistics.median(loads) if loads else 0:.1f}, now {load()}"
    )
    print(
        f"| {connection.vendor} | {mailing.total} | {args.workers} | {materialised:.1f} "
        f"| {elapsed:.1f} | {rate_span:.0f} | {rate_wall:.0f} | {median:.2f} | {p95:.2f} "
        f"| {rss} | {once} |"
    )
    clean()


if __name__ == "__main__":
    main()
