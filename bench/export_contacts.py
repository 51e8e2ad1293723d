"""Bench: exporting the contact list to CSV, XLSX and vCard, rows per second (issue 15, "Speed").

On a database filled by ``generate.py`` (contacts with phones, e-mails, places of work and
tags)::

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_h_exporter
    .venv/bin/python bench/export_contacts.py --formats csv xlsx --runs 3
    CRM_VAR_DIR=/tmp/bench-sqlite .venv/bin/python bench/export_contacts.py

Each run writes the whole contact list as the administrator sees it (no filter) through the
same code as the page — ``crm.transfer.exports._write``: the contact ``Exporter``'s
``select``, its ``chunks`` (keyset on the id, related rows one query per chunk) and the
format's writer; CSV on PostgreSQL is the exporter's ``copy_sql`` written by ``COPY`` —
into a temporary file, and reports rows, seconds and rows/s; ``--limit``
exports the first N contacts only (a ``pk <=`` filter on the list). The CPU per run is this
process's and its PostgreSQL backend's (``/proc``). The median of ``--runs`` runs is printed
as a Markdown row at the end. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")
os.environ.setdefault("CRM_DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.http import QueryDict  # noqa: E402

from crm.accounts.models import User  # noqa: E402
from crm.core.records import registry  # noqa: E402
from crm.transfer import exports  # noqa: E402


def _backend_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend (0 elsewhere)."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(fmt: str, user: User, limit: int | None) -> tuple[int, float, float]:
    exporter = registry.exporter("contact")
    if limit:
        select = exporter.select

        def limited(user, params):  # type: ignore[no-untyped-def]
            return select(user, params).filter(pk__lte=limit)

        exporter = exporter.__class__(**{**exporter.__dict__, "select": limited})
    rows = 0

    def progress(done: int) -> None:
        nonlocal rows
        rows = done

    own, backend = time.process_time(), _backend_cpu()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as target:
        for piece in exports._write(
            exporter, user, fmt, QueryDict("").urlencode(), target, progress
        ):
            target.write(piece)
        size = target.tell() or target.seek(0, 2)
    seconds = time.perf_counter() - started
    own, backend = time.process_time() - own, _backend_cpu() - backend
    cpu = own + backend
    print(
        f"  {fmt}: {rows:,} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s, "
        f"{size / 1e6:.1f} MB, CPU {cpu:.2f} s (Python {own:.2f}, database {backend:.2f})"
    )
    return rows, seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--formats", nargs="+", default=["csv", "xlsx"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    user = User.objects.filter(role="admin", is_active=True).order_by("pk").first()
    assert user is not None, "an administrator is needed (generate.py makes 'admin')"
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"{connection.vendor}, load {load}")
    lines = []
    for fmt in args.formats:
        results = [run(fmt, user, args.limit) for _ in range(args.runs)]
        rows = results[0][0]
        median = statistics.median(seconds for _rows, seconds, _cpu in results)
        cpu = statistics.median(cpu for _rows, _seconds, cpu in results)
        lines.append(
            f"| {connection.vendor} | {fmt} | {rows:,} | {median:.2f} | {rows / median:,.0f} "
            f"| {cpu:.2f} | {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} |"
        )
    print("| database | format | rows | median s | rows/s | CPU s | max RSS MB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
