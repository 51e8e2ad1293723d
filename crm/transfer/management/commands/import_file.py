"""``manage.py import_file PATH --kind contact --user LOGIN``: import a file in the
foreground, for files too large for an upload.

It runs the same import as the pages and the API (``crm.transfer.importing``), as the user
named by ``--user`` (whose permission and scope apply), writing the progress to stderr; the
job, its report and its undo are then on the import pages. Interrupted, it is resumed by the
sweep like any import whose worker stopped, or by running ``--resume ID``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.core.errors import DomainError
from crm.transfer.importing import import_execute, import_start
from crm.transfer.models import ImportJob


class Command(BaseCommand):
    help = "Import a CSV, XLSX or vCard file into contacts, companies or another kind."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="The file to import.")
        parser.add_argument("--kind", default="contact", help="contact, company, …")
        parser.add_argument("--user", help="The login of the importing user.")
        parser.add_argument(
            "--policy",
            default=ImportJob.Policy.SKIP,
            choices=ImportJob.Policy.values,
            help="What to do with a row matching a record already there.",
        )
        parser.add_argument(
            "--owner",
            help="The login of the responsible for the records (default: the importing user); "
            "'column' to take the mapped responsible column.",
        )
        parser.add_argument(
            "--mapping",
            help='The field of each column as a JSON list, e.g. ["full_name", "phone", ""] '
            "(default: guessed from the headers).",
        )
        parser.add_argument("--resume", type=int, help="Resume the import with this id.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["resume"]:
            job = ImportJob.objects.filter(pk=options["resume"]).first()
            if job is None:
                raise CommandError(f"No import #{options['resume']}.")
            ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
                heartbeat_at=None
            )
        else:
            job = self._start(options)
        self.stderr.write(f"Import #{job.pk}: {job.original_name} → {job.kind}")
        started = time.monotonic()
        finished = import_execute(job_id=job.pk, on_batch=self._progress(started))
        if finished is None:
            raise CommandError(f"Import #{job.pk} is running elsewhere or has finished.")
        elapsed = max(time.monotonic() - started, 0.001)
        self.stderr.write("")
        self.stdout.write(
            f"Import #{finished.pk} {finished.status}: {finished.rows_done} rows in "
            f"{elapsed:.1f} s ({finished.rows_done / elapsed:.0f} rows/s); created "
            f"{finished.created}, updated {finished.updated}, skipped {finished.skipped}, "
            f"failed {finished.failed}."
        )
        if finished.error:
            raise CommandError(finished.error)

    def _start(self, options: dict[str, Any]) -> ImportJob:
        if not options["path"] or not options["user"]:
            raise CommandError("Give the file's path and --user (or --resume ID).")
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        users = get_user_model().objects
        actor = users.filter(username=options["user"], is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user {options['user']!r}.")
        owner_rule, owner_id = ImportJob.OwnerRule.IMPORTER, None
        if options["owner"] == "column":
            owner_rule = ImportJob.OwnerRule.COLUMN
        elif options["owner"]:
            owner = users.filter(username=options["owner"], is_active=True).first()
            if owner is None:
                raise CommandError(f"No active user {options['owner']!r}.")
            owner_rule, owner_id = ImportJob.OwnerRule.CHOSEN, owner.pk
        mapping = None
        if options["mapping"]:
            try:
                mapping = json.loads(options["mapping"])
            except ValueError as error:
                raise CommandError(f"--mapping is not JSON: {error}") from None
            if not isinstance(mapping, list) or not all(isinstance(key, str) for key in mapping):
                raise CommandError("--mapping must be a JSON list of field keys.")
        try:
            with path.open("rb") as handle:
                return import_start(
                    actor=actor,
                    file=File(handle, name=path.name),
                    filename=path.name,
                    kind=options["kind"],
                    mapping=mapping,
                    policy=options["policy"],
                    owner_rule=owner_rule,
                    owner_id=owner_id,
                    enqueue=False,
                )
        except DomainError as error:
            details = "; ".join(
                f"{name}: {' '.join(messages)}"
                for name, messages in (error.field_errors or {}).items()
            )
            raise CommandError(" ".join(filter(None, [str(error.message), details]))) from None

    def _progress(self, started: float) -> Any:
        def report(job: ImportJob) -> None:
            elapsed = max(time.monotonic() - started, 0.001)
            total = f"/{job.rows_total}" if job.rows_total else ""
            self.stderr.write(
                f"\r{job.rows_done}{total} rows, {job.rows_done / elapsed:.0f} rows/s; "
                f"created {job.created}, updated {job.updated}, skipped {job.skipped}, "
                f"failed {job.failed}",
                ending="",
            )
            self.stderr.flush()

        return report
