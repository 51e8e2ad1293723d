"""Measure the duplicate scan of contacts on a large base: a full scan, or an incremental one
after importing new contacts.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_crm   # bench/generate.py
    .venv/bin/python bench/dedupe_scan.py --full            # every contact
    .venv/bin/python bench/dedupe_scan.py --add 10000       # import 10,000, then scan them

``--add N`` first imports N contacts through the import job (policy "create anyway", so
the duplicates land): 10% are existing contacts written otherwise (in Latin letters or in
capitals, the phone as 8 (9xx) …, no e-mail), the rest new people with names of the base's
(namesakes happen) and phones and e-mails of their own. The import is not timed; the scan
after it is incremental (the contacts created or changed since the last scan), so run a
full scan once before. Prints the scan's counts, the wall time, the CPU time of this
process and of its PostgreSQL backend (parallel workers of a query are not counted) and the
maximum resident memory.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")

import django  # noqa: E402

django.setup()

from django.core.files import File  # noqa: E402
from django.db import connection  # noqa: E402

from crm.accounts.models import User  # noqa: E402
from crm.core.permissions import Role  # noqa: E402
from crm.core.text import latin_key  # noqa: E402
from crm.customers.choices import Entity  # noqa: E402
from crm.customers.models import Contact, ContactPoint  # noqa: E402
from crm.customers.services.scan import duplicates_scan, duplicates_scan_status  # noqa: E402
from crm.transfer.importing import import_execute, import_start  # noqa: E402


def _backend_cpu(pid: int) -> float:
    """User + system CPU seconds of a local PostgreSQL backend, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _import(count: int, seed: int) -> None:
    rng = random.Random(seed)
    top = Contact.objects.order_by("-id").values_list("id", flat=True).first() or 0
    sample = list(
        Contact.objects.filter(id__in=[rng.randint(1, top) for _ in range(count * 2)]).values_list(
            "id", "last_name", "first_name", "middle_name"
        )[:count]
    )
    phones = dict(
        ContactPoint.objects.filter(
            contact_id__in=[row[0] for row in sample], kind="phone"
        ).values_list("contact_id", "value")
    )
    path = Path(tempfile.mkdtemp()) / "new_contacts.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("Фамилия,Имя,Отчество,Телефон,E-mail\n")
        for number, (pk, last, first, middle) in enumerate(sample):
            if number % 10 == 0 and pk in phones:  # an existing client written otherwise
                phone = phones[pk]
                last, first = (
                    (latin_key(last).title(), latin_key(first).title())
                    if number % 20
                    else (last.upper(), first.upper())
                )
                handle.write(f"{last},{first},,8 ({phone[2:5]}) {phone[5:8]}-{phone[8:]},\n")
                continue
            other = sample[rng.randrange(len(sample))]
            handle.write(
                f"{last},{other[2]},{middle},+7999{seed % 100:02d}{number:05d},"
                f"new{seed}.{number}@example.org\n"
            )
    actor = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("id").first()
    assert actor is not None, "the base needs an administrator (bench/generate.py makes one)"
    started = time.perf_counter()
    with path.open("rb") as handle:
        job = import_start(
            actor=actor,
            file=File(handle, name=path.name),
            filename=path.name,
            kind="contact",
            mapping=["last_name", "first_name", "middle_name", "phone", "email"],
            policy="create",
            enqueue=False,
        )
    done = import_execute(job_id=job.pk)
    assert done is not None
    print(
        f"imported {done.created:,} created / {done.failed:,} failed in "
        f"{time.perf_counter() - started:.1f} s (not part of the scan's time)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="scan every contact")
    parser.add_argument("--add", type=int, default=0, help="import this many contacts first")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.add:
        _import(args.add, args.seed)
    if not args.full and not duplicates_scan_status(entity=Entity.CONTACT).get("watermarks"):
        print("no finished scan is known: this one scans every contact")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_backend_pid()" if connection.vendor == "postgresql" else "SELECT 0"
        )
        pid = cursor.fetchone()[0]
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    backend_before = _backend_cpu(pid) if pid else 0.0
    started = time.perf_counter()
    result = duplicates_scan(entity=Entity.CONTACT, full=args.full)
    wall = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime - own_before.ru_utime + own.ru_stime - own_before.ru_stime
    backend = _backend_cpu(pid) - backend_before if pid else 0.0
    print(result)
    print(
        f"wall {wall:.1f} s; CPU: this process {cpu:.1f} s, its scoring workers "
        f"{workers.ru_utime + workers.ru_stime:.1f} s, PostgreSQL backend {backend:.1f} s; "
        f"max RSS {own.ru_maxrss / 1024:.0f} MB (a worker {workers.ru_maxrss / 1024:.0f} MB); "
        f"load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
