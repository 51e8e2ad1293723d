"""Bench: the full export of a base restored into an empty installation
(``manage.py import_base``; issue 15, "Round trip"), rows per second and peak memory.

    # a source base, filled by generate.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_restore_src \\
        .venv/bin/python bench/generate.py --contacts 20000 --companies 4000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_restore_src \\
        .venv/bin/python bench/restore_base.py export /tmp/base.zip
    # an empty installation (migrated), then the restore
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_restore_dst \\
        .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_restore_dst \\
        .venv/bin/python bench/restore_base.py restore /tmp/base.zip

``export`` writes the full export as the page's job does (``exports_full.base_write``);
``restore`` runs ``restore.base_restore`` (the archive's checks, then the one transaction)
and prints rows, seconds, rows/s and this process's peak RSS. Nothing is asserted.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")
os.environ.setdefault("CRM_DEBUG", "0")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from crm.transfer.exports_full import base_write  # noqa: E402
from crm.transfer.restore import base_restore  # noqa: E402


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    action, path = sys.argv[1], Path(sys.argv[2])
    started = time.monotonic()
    if action == "export":
        rows = 0

        def progress(done: int) -> None:
            nonlocal rows
            rows = done

        with path.open("wb") as target:
            base_write(target, progress=progress)
        size = path.stat().st_size
        label = f"export {size / 1e6:.1f} MB"
    else:
        with path.open("rb") as source:
            result = base_restore(source)
        rows = sum(result.counts.values())
        label = f"restore ({result.files} files)"
    seconds = time.monotonic() - started
    print(
        f"| {connection.vendor} | {label} | {rows:,} rows | {seconds:.1f} s | "
        f"{rows / seconds:,.0f} rows/s | {_peak_mb():.0f} MB peak |"
    )


if __name__ == "__main__":
    main()
