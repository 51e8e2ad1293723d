"""``manage.py import_base PATH``: restore a full export of the base (the ZIP of
``/export/base/``) into this empty installation, for moving a whole installation.

It checks the archive (format, version, every checksum) and that this installation holds
no contacts, companies, deals, leads or tasks, then loads every table in one transaction
(``crm.transfer.restore``), writing the progress to stderr. There is no ``--force``: a base
is restored only into an empty installation. Restored users have no usable password: an
administrator sets them (``manage.py changepassword LOGIN``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.transfer.restore import base_restore
from crm.transfer.restore_archive import RestoreRefused


class Command(BaseCommand):
    help = "Restore a full export of the base (a crm-export ZIP) into an empty installation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The ZIP of the full export.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            self.stderr.write(f"\r{done} of {total} rows", ending="")

        try:
            with path.open("rb") as source:
                result = base_restore(source, progress=progress)
        except RestoreRefused as refusal:
            raise CommandError(f"Nothing was restored. {refusal.message}") from None
        elapsed = max(time.monotonic() - started, 0.001)
        self.stderr.write("")
        rows = sum(result.counts.values())
        self.stdout.write(
            f"Restored {rows} rows of {len(result.counts)} tables and {result.files} files "
            f"in {elapsed:.1f} s."
        )
        for name, count in result.counts.items():
            self.stdout.write(f"  {name}: {count}")
        for note in result.notes:
            self.stdout.write(note)
