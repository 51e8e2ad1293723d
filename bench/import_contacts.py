"""Measure importing contacts from a CSV file: rows per second end to end (read, clean,
match, write, journal), through the same job as the wizard, in the foreground.

The file has ``--rows`` contacts (full name, phone, e-mail, company: one of ``--rows/20``
companies, created by the import) in the forms spreadsheets write them. With
``--base N`` the database first gets N other contacts (imported the same way, not timed),
and ``--matching`` of the file's rows (default 10%) are those contacts written another way
(the phone as 8 (9xx) …, the name in capitals), so the duplicate finder has work: the
"skip" policy skips them. ``--exact-only`` sets the import's option of that name (matching by
contact points and ИНН; the names are left to the duplicate scan the import queues).

    # PostgreSQL
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_h_importer
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/import_contacts.py --rows 10000            # an empty base
    .venv/bin/python bench/import_contacts.py --rows 10000 --base 10000  # a base with data
    # SQLite
    CRM_VAR_DIR=/tmp/bench-import .venv/bin/python manage.py migrate
    CRM_VAR_DIR=/tmp/bench-import .venv/bin/python bench/import_contacts.py --rows 10000

Each run first deletes the contacts, companies and imports of earlier runs (``--keep`` to
leave them). It prints one Markdown table row for ``bench/RESULTS.md``.
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
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.files import File  # noqa: E402
from django.db import connection  # noqa: E402

from crm.accounts.models import User  # noqa: E402
from crm.activities.models import TimelineEntry  # noqa: E402
from crm.core.permissions import Role  # noqa: E402
from crm.customers.management.commands.demo_data import (  # noqa: E402
    FEMALE_NAMES,
    MALE_NAMES,
    PATRONYMICS,
    SURNAMES,
)
from crm.customers.models import Company, Contact  # noqa: E402
from crm.transfer.importing import import_execute, import_start  # noqa: E402
from crm.transfer.models import ImportJob  # noqa: E402


def _person(number: int) -> tuple[str, str, str]:
    """A person with a name from the demo data's word lists (the common surnames first, as
    in life: namesakes happen), a phone and an e-mail of their own."""
    rng = random.Random(number)
    male = rng.random() < 0.5
    surname = rng.choice(SURNAMES)[0 if male else 1]
    first = rng.choice(MALE_NAMES if male else FEMALE_NAMES)
    patronymic = rng.choice(PATRONYMICS)[0 if male else 1]
    return f"{surname} {first} {patronymic}", f"+7916{number:07d}", f"client{number}@example.ru"


def _write(path: Path, numbers: list[int], companies: int, variant: set[int]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("ФИО,Телефон,E-mail,Компания\n")
        for number in numbers:
            name, phone, email = _person(number)
            if number in variant:  # the same person written otherwise
                name = name.upper()
                phone = f"8 ({phone[2:5]}) {phone[5:8]}-{phone[8:10]}-{phone[10:]}"
            handle.write(f'"{name}",{phone},{email},ООО Компания {number % companies}\n')


def _run(actor: User, path: Path, policy: str, exact_only: bool = False) -> tuple[ImportJob, float]:
    started = time.perf_counter()
    with path.open("rb") as handle:
        job = import_start(
            actor=actor,
            file=File(handle, name=path.name),
            filename=path.name,
            kind="contact",
            mapping=["full_name", "phone", "email", "company"],
            policy=policy,
            options={"exact_only": True} if exact_only else {},
            enqueue=False,
        )
    finished = import_execute(job_id=job.pk)
    assert finished is not None
    return finished, time.perf_counter() - started


def _clean() -> None:
    ImportJob.objects.all().delete()
    TimelineEntry.objects.all().delete()
    Contact.objects.all().delete()
    Company.objects.all().delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--base", type=int, default=0)
    parser.add_argument("--matching", type=float, default=0.1)
    parser.add_argument("--policy", default="skip")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--exact-only",
        action="store_true",
        help="match by phone, e-mail and ИНН only (the import option; names by the scan after)",
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="ANALYZE (PostgreSQL) after the base, as a base in use has its statistics",
    )
    options = parser.parse_args()
    actor = User.objects.filter(username="bench-import").first() or User.objects.create_user(
        "bench-import", "bench-import@example.com", "bench-import-2026", role=Role.ADMIN
    )
    if not options.keep:
        _clean()
    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    if options.base:
        base = folder / "base.csv"
        _write(base, list(range(options.base)), max(options.base // 20, 1), set())
        job, seconds = _run(actor, base, "create")
        print(f"base: {job.created} contacts in {seconds:.1f} s", file=sys.stderr)
    if options.analyze and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    matching = int(options.rows * options.matching) if options.base else 0
    numbers = list(range(min(matching, options.base))) + list(
        range(5_000_000, 5_000_000 + options.rows - min(matching, options.base))
    )
    path = folder / "clients.csv"
    _write(path, numbers, max(options.rows // 20, 1), set(numbers[:matching]))
    job, seconds = _run(actor, path, options.policy, options.exact_only)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    database = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    if options.exact_only:
        database += ", exact only"
    print(
        f"| {database} | {options.base:,} | {options.rows:,} | {matching:,} | "
        f"{settings.CRM_IMPORT_BATCH_ROWS} | {job.created:,} / {job.updated:,} / "
        f"{job.skipped:,} / {job.failed:,} | {seconds:.1f} s | **{options.rows / seconds:,.0f}** "
        f"| {peak_mb:.0f} MB |"
    )


if __name__ == "__main__":
    main()
