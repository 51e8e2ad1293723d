"""Importing a file: the job, its batches and journal, the report and the undo.

The import knows no domain model: each kind's ``Importer`` (``crm.core.records``) cleans,
matches and writes a batch of mapped rows. This module stores the file, maps the columns,
resolves each row's responsible, runs the batches and keeps the journal (``ImportEntry``),
the counters and the undo over the registry.

Each batch is ONE transaction that writes the records, their journal entries and the job's
counters and ``last_row``; a job resumed after a crash reads the file again from the start
and skips the rows up to ``last_row``, so no row is written twice and none is lost. A run
claims the job with a conditional update, and every batch re-reads the job under a row
lock and goes on only if ``last_row`` is still where this run left it, so two workers never
write the same rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import File
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import SecurityEvent, User
from crm.accounts.services import security_event_record
from crm.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from crm.core.permissions import can_import, sees_everything
from crm.core.records import (
    ImportBatch,
    ImportField,
    ImportOutcome,
    ImportRow,
    ImportUndo,
    registry,
)
from crm.core.spreadsheets import neutralised
from crm.customers.permissions import owners_in_scope
from crm.transfer.external_ids import external_id_field, external_ids_store, external_rows
from crm.transfer.headers import guess_mapping
from crm.transfer.importing_options import options_check
from crm.transfer.models import ImportEntry, ImportJob
from crm.transfer.readers import FileRejected, SourceRow, Table, read_table

audit_log = logging.getLogger("crm.audit")


def _stale_after() -> dt.timedelta:
    """A running job whose heartbeat is older is taken to have lost its worker (the sweep
    enqueues it again; the next run resumes it): ``CRM_IMPORT_STALE_SECONDS``."""
    return dt.timedelta(seconds=settings.CRM_IMPORT_STALE_SECONDS)


PREVIEW_ROWS = 20
DRAFT_KEPT = dt.timedelta(days=1)
"""A draft (uploaded, never started) is deleted with its file after this."""
Status = ImportJob.Status


class FileTooLarge(DomainError):
    status_code = 413


# --- checks ---------------------------------------------------------------------------------


def import_check_allowed(*, actor: User) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` may import (``can_import``)."""
    if not can_import(actor):
        raise PermissionDenied(_("You may not import files."))


def import_kinds() -> list[tuple[str, str]]:
    """The kinds a file may be imported into, as ``(key, label)``, clients first."""
    return [
        (importer.kind, str(importer.label or registry.kind(importer.kind).plural_label))
        for importer in registry.importers()
    ]


def import_fields(kind: str) -> list[ImportField]:
    """The fields a column of a file of ``kind`` may fill; ``ValidationFailed`` naming
    ``kind`` for a kind nothing imports."""
    try:
        importer = registry.importer(kind)
    except LookupError:
        raise ValidationFailed(field_errors={"kind": [_("Choose what the file holds.")]}) from None
    fields = importer.fields()
    return [*fields, external_id_field()] if importer.external_ids else fields


def _check_mapping(kind: str, columns: Sequence[str], mapping: Sequence[str]) -> list[str]:
    fields = {item.key: item for item in import_fields(kind)}
    if len(mapping) != len(columns):
        raise ValidationFailed(
            field_errors={
                "mapping": [
                    _("Give a field (or none) for each of the %(n)d columns.") % {"n": len(columns)}
                ]
            }
        )
    errors: dict[str, list[str]] = {}
    taken: set[str] = set()
    for index, key in enumerate(mapping):
        if not key:
            continue
        if key not in fields:
            errors[f"mapping[{index}]"] = [_("There is no such field.")]
        elif key in taken and not fields[key].multiple:
            errors[f"mapping[{index}]"] = [
                _("“%(field)s” is already given to another column.") % {"field": fields[key].label}
            ]
        taken.add(key)
    if not any(mapping):
        errors["mapping"] = [_("Choose a field for at least one column.")]
    for item in fields.values():
        if item.required and item.key not in taken:
            errors.setdefault("mapping", []).append(
                _("A column must fill “%(field)s”.") % {"field": item.label}
            )
    if errors:
        raise ValidationFailed(_("Please correct the mapping."), field_errors=errors)
    return list(mapping)


def _check_owner(actor: User, owner_rule: str, owner_id: int | None) -> User | None:
    if owner_rule not in ImportJob.OwnerRule.values:
        raise ValidationFailed(field_errors={"owner_rule": [_("Choose who is responsible.")]})
    if owner_id is None:
        if owner_rule == ImportJob.OwnerRule.CHOSEN:
            raise ValidationFailed(field_errors={"owner": [_("Choose a manager.")]})
        return None
    owner = get_user_model().objects.filter(pk=owner_id, is_active=True).first()
    if owner is None:
        raise ValidationFailed(field_errors={"owner": [_("No such active user.")]})
    scope = owners_in_scope(actor)
    if scope is not None and owner.pk not in scope | {actor.pk}:
        raise ValidationFailed(
            field_errors={"owner": [_("You may assign records only to yourself or your teams.")]}
        )
    return owner


# --- reading the file -----------------------------------------------------------------------


def table_read(file: IO[bytes], filename: str) -> Table:
    """The file as a table; ``ValidationFailed`` naming ``file`` when it cannot be read or
    holds no data row."""
    try:
        table = read_table(file, filename)  # type: ignore[arg-type]
    except FileRejected as error:
        raise ValidationFailed(field_errors={"file": [error.message]}) from None
    if not any(column.strip() for column in table.columns):
        raise ValidationFailed(field_errors={"file": [_("The file has no header row.")]})
    return table


@dataclass(frozen=True)
class PreviewRow:
    """A row of the preview: its cells, what the import would do with it (``action``:
    created, updated, skipped, failed) and why."""

    number: int
    cells: list[str]
    action: str
    reason: str


class _DryRun(Exception):
    """Rolls the preview's trial write back."""


def import_preview_of(
    *,
    job: ImportJob,
    mapping: Sequence[str],
    policy: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> list[PreviewRow]:
    """The first ``PREVIEW_ROWS`` rows of a draft with what the import would do with each:
    the kind's importer runs on them in a transaction that is rolled back, so the preview
    shows the very problems and matches the import will meet (a bad phone, an unknown
    responsible, a duplicate). A mapping that is not valid yet shows the rows alone."""
    with job.file.open("rb") as stored:
        table = table_read(stored, job.original_name)
        rows = list(islice(table.rows, PREVIEW_ROWS))
    outcomes: dict[int, tuple[str, str]] = {}
    try:
        _check_mapping(job.kind, table.columns, mapping)
    except ValidationFailed:
        return [PreviewRow(row.number, row.cells, "", row.problem) for row in rows]
    trial = ImportJob(
        pk=job.pk,
        actor=job.actor,
        kind=job.kind,
        mapping=list(mapping),
        policy=policy if policy in ImportJob.Policy.values else job.policy,
        owner_rule=ImportJob.OwnerRule.IMPORTER,
        original_name=job.original_name,
        options=job.options if options is None else dict(options),
    )
    try:
        with transaction.atomic():
            for entry in _outcomes(trial, rows, _Owners(trial)):
                if entry.kind == job.kind or entry.action == "failed" or entry.row not in outcomes:
                    outcomes[entry.row] = (entry.action, entry.reason)
            raise _DryRun
    except _DryRun:
        pass
    return [PreviewRow(row.number, row.cells, *outcomes.get(row.number, ("", ""))) for row in rows]


def import_guess(*, kind: str, columns: Sequence[str]) -> list[str]:
    """The field each column fills, guessed from the headers."""
    fields: list[Any] = list(import_fields(kind))
    return guess_mapping(kind, list(columns), fields)


# --- starting -------------------------------------------------------------------------------


def _check_size(size: int) -> None:
    if size > settings.CRM_IMPORT_MAX_BYTES:
        raise FileTooLarge(
            _("The file is larger than %(mb)d MB.") % {"mb": settings.CRM_IMPORT_MAX_BYTES >> 20},
            field_errors={"file": [_("The file is too large.")]},
        )


@transaction.atomic
def import_upload(*, actor: User, file: File[bytes], filename: str, kind: str) -> ImportJob:
    """Store an uploaded file as a draft import of ``kind`` with the mapping guessed from its
    headers (the wizard shows and corrects it, then ``import_queue`` starts it).

    Raises ``PermissionDenied`` for a user who may not import, ``FileTooLarge`` past
    ``CRM_IMPORT_MAX_BYTES`` and ``ValidationFailed`` naming ``file`` (a file that cannot be
    read, an empty one, headers only) or ``kind``.
    """
    import_check_allowed(actor=actor)
    size = int(file.size or 0)
    _check_size(size)
    import_fields(kind)
    file.seek(0)
    table = table_read(file, filename)
    first = next(iter(table.rows), None)
    if first is None:
        raise ValidationFailed(field_errors={"file": [_("The file has a header but no rows.")]})
    name = (filename or "import").replace("\\", "/").rsplit("/", 1)[-1][:200]
    job = ImportJob(
        actor=actor,
        original_name=name,
        size=size,
        format=table.format,
        encoding=table.encoding,
        delimiter=table.delimiter,
        kind=kind,
        mapping=import_guess(kind=kind, columns=table.columns),
        status=Status.DRAFT,
    )
    file.seek(0)
    job.file.save(f"import-{timezone.now():%Y%m%d%H%M%S}.{table.format or 'dat'}", file, save=False)
    job.save()
    return job


@transaction.atomic
def import_queue(
    *,
    actor: User,
    job: ImportJob,
    mapping: Sequence[str] | None = None,
    policy: str = ImportJob.Policy.SKIP,
    owner_rule: str = ImportJob.OwnerRule.IMPORTER,
    owner_id: int | None = None,
    options: Mapping[str, Any] | None = None,
    request: Any = None,
    enqueue: bool = True,
) -> ImportJob:
    """Queue a draft import with its mapping (``None``: the guessed one), duplicate policy,
    owner rule and the kind's options (``importing_options``: a deals file's stage map,
    create missing clients); the job is enqueued once this commits, and the import is
    logged.

    Raises ``ValidationFailed`` naming ``mapping`` (or ``mapping[i]``), ``policy``,
    ``owner_rule``, ``owner`` or the option (``stage_mapping``, naming the value). ``enqueue=False``: the caller runs it (``manage.py
    import_file`` in the foreground).
    """
    import_check_allowed(actor=actor)
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    if job.status != Status.DRAFT:
        raise ValidationFailed(field_errors={"status": [_("The import has already started.")]})
    if policy not in ImportJob.Policy.values:
        raise ValidationFailed(field_errors={"policy": [_("Choose what to do with duplicates.")]})
    owner = _check_owner(actor, owner_rule, owner_id)
    with job.file.open("rb") as stored:
        columns = table_read(stored, job.original_name).columns
    mapping = _check_mapping(job.kind, columns, job.mapping if mapping is None else mapping)
    if owner_rule == ImportJob.OwnerRule.COLUMN and "owner" not in mapping:
        raise ValidationFailed(
            field_errors={"owner_rule": [_("No column is mapped to “Responsible”.")]}
        )
    job.options = options_check(job.kind, options or {})
    job.mapping = mapping
    job.policy = policy
    job.owner_rule = owner_rule
    job.owner = owner
    job.status = Status.QUEUED
    job.queued_at = timezone.now()
    job.save(
        update_fields=[
            "mapping",
            "options",
            "policy",
            "owner_rule",
            "owner",
            "status",
            "queued_at",
        ]
    )
    security_event_record(
        kind=SecurityEvent.Kind.IMPORT,
        request=request,
        actor=actor,
        data={
            "import_id": job.pk,
            "kind": job.kind,
            "file": job.original_name,
            "size": job.size,
            "status": "queued",
        },
    )
    if enqueue:
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job


@transaction.atomic
def import_start(
    *,
    actor: User,
    file: File[bytes],
    filename: str,
    kind: str,
    mapping: Sequence[str] | None = None,
    policy: str = ImportJob.Policy.SKIP,
    owner_rule: str = ImportJob.OwnerRule.IMPORTER,
    owner_id: int | None = None,
    options: Mapping[str, Any] | None = None,
    request: Any = None,
    enqueue: bool = True,
) -> ImportJob:
    """``import_upload`` and ``import_queue`` in one step (the API, the command): store the
    file and queue its import, or refuse with nothing stored."""
    job = import_upload(actor=actor, file=file, filename=filename, kind=kind)
    return import_queue(
        actor=actor,
        job=job,
        mapping=mapping,
        policy=policy,
        owner_rule=owner_rule,
        owner_id=owner_id,
        options=options,
        request=request,
        enqueue=enqueue,
    )


def import_draft_update(*, actor: User, job: ImportJob, mapping: Sequence[str]) -> list[str]:
    """Check a draft's corrected mapping (for the preview) without saving it; answers it."""
    import_check_allowed(actor=actor)
    with job.file.open("rb") as stored:
        columns = table_read(stored, job.original_name).columns
    return _check_mapping(job.kind, columns, mapping)


def _enqueue(job_id: int) -> None:
    from crm.transfer.jobs import import_run  # the job imports this module

    import_run.enqueue(job_id)


# --- running --------------------------------------------------------------------------------


def _claim(job_id: int) -> bool:
    """Mark the job running with a fresh heartbeat (committed at once), if it is queued or
    its last run's heartbeat is stale; False when another run has it or it is finished."""
    now = timezone.now()
    stale = Q(status=Status.RUNNING) & (
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - _stale_after())
    )
    return bool(
        ImportJob.objects.filter(Q(status=Status.QUEUED) | stale, pk=job_id).update(
            status=Status.RUNNING,
            heartbeat_at=now,
            started_at=models.functions.Coalesce("started_at", models.Value(now)),
        )
    )


def _values(row: SourceRow, mapping: Sequence[str]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for key, cell in zip(mapping, row.cells, strict=False):
        if key and cell.strip():
            values.setdefault(key, []).append(cell.strip())
    return values


class _Owners:
    """Who is responsible for each row, by the job's rule: active users read once, the
    "owner" column resolved by e-mail, login or full name, within the importer's scope."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.by_name: dict[str, int] = {}
        self.scope = owners_in_scope(job.actor)
        if job.owner_rule == ImportJob.OwnerRule.COLUMN:
            users = get_user_model().objects.filter(is_active=True)
            for pk, email, username, first, last in users.values_list(
                "pk", "email", "username", "first_name", "last_name"
            ):
                for name in (email, username, f"{first} {last}", f"{last} {first}"):
                    if name.strip():
                        self.by_name.setdefault(" ".join(name.casefold().split()), pk)

    def of(self, values: dict[str, list[str]]) -> int | str:
        """The owner's id, or why the row has none."""
        job = self.job
        if job.owner_rule == ImportJob.OwnerRule.IMPORTER:
            return job.actor_id
        if job.owner_rule == ImportJob.OwnerRule.CHOSEN:
            return job.owner_id or job.actor_id
        named = (values.get("owner") or [""])[0]
        owner_id = self.by_name.get(" ".join(named.casefold().split())) if named else None
        if owner_id is None:
            if job.owner_id:
                return job.owner_id
            if not named:
                return _("The responsible is empty.")
            return _("No active user “%(name)s”.") % {"name": named[:60]}
        if self.scope is not None and owner_id not in self.scope | {job.actor_id}:
            return _("You may not assign records to “%(name)s”.") % {"name": named[:60]}
        return owner_id


def _note(job: ImportJob) -> str:
    return _("Imported from %(file)s, import #%(id)s") % {"file": job.original_name, "id": job.pk}


def _batches(job: ImportJob, table: Table, size: int) -> Iterator[list[SourceRow]]:
    batch: list[SourceRow] = []
    for row in table.rows:
        if row.number <= job.last_row:
            continue
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Lost(Exception):
    """Another run took the job over (its ``last_row`` moved): this run stops."""


def _write_batch(job: ImportJob, rows: list[SourceRow], owners: _Owners) -> None:
    """Write one batch with its journal and counters in one transaction."""
    with transaction.atomic():
        current = ImportJob.objects.select_for_update().get(pk=job.pk)
        if current.last_row != job.last_row or current.status != Status.RUNNING:
            raise _Lost
        entries = _outcomes(job, rows, owners)
        entries.sort(key=lambda entry: entry.row)
        ImportEntry.objects.bulk_create(entries)
        counts = _row_counts(entries, job.kind)
        last_row = rows[-1].number
        ImportJob.objects.filter(pk=job.pk).update(
            rows_done=F("rows_done") + len(rows),
            last_row=last_row,
            heartbeat_at=timezone.now(),
            **{name: F(name) + count for name, count in counts.items()},
        )
        job.last_row = last_row


def _outcomes(job: ImportJob, rows: list[SourceRow], owners: _Owners) -> list[ImportEntry]:
    """Map the rows, resolve their responsible and let the kind's importer write them;
    answers the journal entries (unsaved). Runs in the caller's transaction."""
    entries: list[ImportEntry] = []
    mapped: list[ImportRow] = []
    cells = {row.number: row.cells for row in rows}
    for row in rows:
        values = _values(row, job.mapping)
        owner = owners.of(values) if not row.problem else row.problem
        if isinstance(owner, str):
            entries.append(_entry(job, ImportOutcome(row.number, "failed", reason=owner), cells))
        else:
            mapped.append(ImportRow(row.number, values, owner))
    if mapped:
        importer = registry.importer(job.kind)
        if importer.external_ids:
            mapped = external_rows(job.kind, mapped)
        batch = ImportBatch(job.actor, mapped, job.policy, _note(job), options=job.options or {})
        outcomes = importer.load(batch)
        if importer.external_ids:
            external_ids_store(job, mapped, outcomes)
        entries += [_entry(job, outcome, cells) for outcome in outcomes]
    return entries


def _entry(job: ImportJob, outcome: ImportOutcome, cells: dict[int, list[str]]) -> ImportEntry:
    return ImportEntry(
        job=job,
        row=outcome.number,
        action=outcome.action,
        kind=outcome.kind or job.kind,
        record_id=outcome.record_id,
        reason=outcome.reason[:2000].replace("\x00", ""),
        previous=outcome.previous,
        cells=_storable(cells.get(outcome.number)) if outcome.action == "failed" else None,
    )


def _storable(cells: list[str] | None) -> list[str] | None:
    """A row's cells as the journal stores them: without NUL characters, which PostgreSQL
    refuses in text and JSON (the row is reported, not the batch failed)."""
    return None if cells is None else [cell.replace("\x00", "") for cell in cells]


def _row_counts(entries: list[ImportEntry], kind: str) -> dict[str, int]:
    """Each row counts once, by its own kind's outcome (a company a contact row created on
    the way is in the journal, not in the row counters)."""
    counts = {"created": 0, "updated": 0, "skipped": 0, "failed": 0}
    by_row: dict[int, str] = {}
    for entry in entries:
        own = entry.action == "failed" or entry.kind == kind or entry.row not in by_row
        if own and by_row.get(entry.row) != "failed":
            by_row[entry.row] = entry.action
    for action in by_row.values():
        counts[action] += 1
    return counts


def _count_rows(table: Table) -> int:
    return sum(1 for _row in table.rows)


def import_execute(
    *,
    job_id: int,
    max_batches: int | None = None,
    on_batch: Callable[[ImportJob], object] | None = None,
) -> ImportJob | None:
    """Run (or resume) one import; a job that is not claimable (finished, or running in a
    live worker) is left alone, so a retried or duplicated job changes nothing.

    Precondition: called outside a transaction, so that each batch commits on its own.
    ``max_batches`` stops after that many batches with the job still running (tests use it
    to simulate a crash); ``on_batch(job)`` is called after each batch commits (the
    command's progress). The cancel flag is read between batches.
    """
    if not _claim(job_id):
        return None
    job = ImportJob.objects.select_related("actor").get(pk=job_id)
    audit_log.info("import_started id=%s last_row=%s", job.pk, job.last_row)
    try:
        with job.file.open("rb") as stored:
            if job.rows_total is None:
                total = _count_rows(table_read(stored, job.original_name))
                ImportJob.objects.filter(pk=job.pk).update(rows_total=total)
            table = table_read(stored, job.original_name)
            owners = _Owners(job)
            size = max(1, settings.CRM_IMPORT_BATCH_ROWS)
            for done, rows in enumerate(_batches(job, table, size)):
                if max_batches is not None and done >= max_batches:
                    return job
                if ImportJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
                    return _finish(job, Status.CANCELLED)
                _write_batch(job, rows, owners)
                if on_batch is not None:
                    job.refresh_from_db()
                    on_batch(job)
    except _Lost:
        audit_log.info("import_taken_over id=%s", job.pk)
        return None
    except FileRejected as error:  # a workbook found broken midway: the rows before it stay
        return _finish(job, Status.FAILED, error.message)
    except Exception as error:  # recorded on the job; committed batches stay, with a report
        audit_log.exception("import_failed id=%s", job.pk)
        return _finish(job, Status.FAILED, f"{type(error).__name__}: {error}"[:2000])
    return _finish(job, Status.DONE)


def _finish(job: ImportJob, status: str, error: str = "") -> ImportJob:
    ended = ImportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
        status=status, finished_at=timezone.now(), error=error
    )
    job.refresh_from_db()
    security_event_record(
        kind=SecurityEvent.Kind.IMPORT,
        actor=job.actor,
        data={
            "import_id": job.pk,
            "status": job.status,
            "created": job.created,
            "updated": job.updated,
            "skipped": job.skipped,
            "failed": job.failed,
        },
    )
    audit_log.info(
        "import_finished id=%s status=%s created=%s updated=%s skipped=%s failed=%s",
        job.pk,
        job.status,
        job.created,
        job.updated,
        job.skipped,
        job.failed,
    )
    if ended:
        _after(job)
    return job


def _after(job: ImportJob) -> None:
    """The kind's ``finished`` hook of an import that wrote records, once: by the call of
    ``_finish`` that ended it."""
    if not (job.created or job.updated):
        return
    try:
        finished = registry.importer(job.kind).finished
    except LookupError:
        return
    if finished is not None:
        finished(job.options or {})


def import_sweep() -> int:
    """Enqueue again the running imports whose worker stopped reporting (a crash, a
    restart) and the queued ones never picked up; the run resumes after the last committed
    batch. Answers how many were enqueued."""
    now = timezone.now()
    stale = ImportJob.objects.filter(
        Q(status=Status.RUNNING, heartbeat_at__lt=now - _stale_after())
        | Q(status=Status.QUEUED, queued_at__lt=now - _stale_after())
    ).values_list("pk", flat=True)[:100]
    ids = list(stale)
    for job_id in ids:
        _enqueue(job_id)
    _drafts_delete(now - DRAFT_KEPT)
    return len(ids)


def _drafts_delete(before: dt.datetime) -> None:
    """Delete drafts never started (their files too)."""
    for job in ImportJob.objects.filter(status=Status.DRAFT, created_at__lt=before)[:100]:
        job.file.delete(save=False)
        job.delete()


# --- reading jobs ---------------------------------------------------------------------------


def import_get(*, actor: User, pk: int) -> ImportJob:
    """An import ``actor`` may see (their own; an administrator's: all), or ``NotFound``."""
    import_check_allowed(actor=actor)
    jobs = ImportJob.objects.select_related("actor", "owner")
    if not sees_everything(actor):
        jobs = jobs.filter(actor=actor)
    job = jobs.filter(pk=pk).first()
    if job is None:
        raise NotFound(_("Not found."))
    return job


def import_recent(*, actor: User, limit: int = 50) -> list[ImportJob]:
    """The latest imports ``actor`` may see."""
    import_check_allowed(actor=actor)
    jobs = ImportJob.objects.select_related("actor")
    if not sees_everything(actor):
        jobs = jobs.filter(actor=actor)
    return list(jobs[:limit])


@dataclass(frozen=True)
class Progress:
    status: str
    total: int | None
    done: int
    created: int
    updated: int
    skipped: int
    failed: int
    seconds_left: int | None
    is_stalled: bool

    @property
    def percent(self) -> int:
        if self.status == Status.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0


def import_progress(job: ImportJob) -> Progress:
    """Where the job stands (its counters are committed with each batch) and the time
    left at its rate so far."""
    seconds_left = None
    now = timezone.now()
    if job.status == Status.RUNNING and job.rows_total and job.started_at and job.rows_done:
        rate = job.rows_done / max((now - job.started_at).total_seconds(), 0.001)
        seconds_left = int((job.rows_total - job.rows_done) / rate) if rate else None
    stalled = bool(
        job.status == Status.RUNNING
        and job.heartbeat_at
        and now - job.heartbeat_at > _stale_after()
    )
    return Progress(
        job.status,
        job.rows_total,
        job.rows_done,
        job.created,
        job.updated,
        job.skipped,
        job.failed,
        seconds_left,
        stalled,
    )


def import_cancel(*, actor: User, job: ImportJob) -> ImportJob:
    """Ask a queued or running import to stop between batches; what it wrote stays (and
    may be undone)."""
    if job.is_finished:
        raise ValidationFailed(field_errors={"status": [_("The import has already finished.")]})
    ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)
    ImportJob.objects.filter(pk=job.pk, status__in=[Status.DRAFT, Status.QUEUED]).update(
        status=Status.CANCELLED, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def import_possible_duplicates(job: ImportJob, limit: int = 200) -> list[ImportEntry]:
    """The records the import created that look like ones already there ("possible"
    matches: created, with the reason naming them)."""
    return list(job.entries.filter(action="created").exclude(reason="").order_by("row")[:limit])


_PLAIN_NUMBER = re.compile(r"\+?[\d ()-]+")


def _cell(text: str) -> str:
    """A cell of the failed-rows file: text that a spreadsheet would run as a formula gets
    an apostrophe (``core.spreadsheets.neutralised``), a phone like +7 916 … stays as is."""
    return text if _PLAIN_NUMBER.fullmatch(text) else str(neutralised(text))


def import_failed_rows(job: ImportJob) -> Iterator[bytes]:
    """The failed rows as a file to fix and load again: UTF-8 with a BOM, the source's
    delimiter, the original header plus a "Reason" column, streamed; formulas neutralised."""
    with job.file.open("rb") as stored:
        columns = table_read(stored, job.original_name).columns
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=job.delimiter or ",")

    def flush() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode("utf-8")

    yield "\ufeff".encode()
    writer.writerow([*(_cell(column) for column in columns), _("Reason")])
    yield flush()
    rows = job.entries.filter(action="failed").order_by("row").values_list("cells", "reason")
    for index, (cells, reason) in enumerate(rows.iterator(chunk_size=2000)):
        writer.writerow([*(_cell(cell) for cell in cells or [""] * len(columns)), _cell(reason)])
        if index % 500 == 499:
            yield flush()
    yield flush()


# --- undo -----------------------------------------------------------------------------------


def import_may_undo(job: ImportJob) -> bool:
    """Whether the import may still be undone (finished, not undone, within the days)."""
    return bool(
        job.status in {Status.DONE, Status.CANCELLED, Status.FAILED}
        and job.finished_at
        and timezone.now() - job.finished_at <= dt.timedelta(days=settings.CRM_IMPORT_UNDO_DAYS)
        and job.entries.filter(action__in=["created", "updated"]).exists()
    )


def import_undo(*, actor: User, job: ImportJob, request: Any = None) -> ImportJob:
    """Undo a finished import within ``CRM_IMPORT_UNDO_DAYS``: the records it created
    removed, the fields it changed restored, except records changed since, which are left
    and named in ``undo_result``. One transaction; logged to the audit log."""
    import_check_allowed(actor=actor)
    if job.status not in {Status.DONE, Status.CANCELLED, Status.FAILED}:
        raise ValidationFailed(
            field_errors={"status": [_("Only a finished import may be undone.")]}
        )
    if job.finished_at and timezone.now() - job.finished_at > dt.timedelta(
        days=settings.CRM_IMPORT_UNDO_DAYS
    ):
        raise ValidationFailed(
            field_errors={
                "status": [
                    _("An import may be undone within %(n)d days.")
                    % {"n": settings.CRM_IMPORT_UNDO_DAYS}
                ]
            }
        )
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status == Status.UNDONE:
            raise ValidationFailed(field_errors={"status": [_("The import is already undone.")]})
        since = locked.finished_at or timezone.now()
        by_kind: dict[str, list[ImportUndo]] = {}
        created: set[tuple[str, int]] = set()
        rows = locked.entries.filter(action__in=["created", "updated"], record_id__isnull=False)
        entries = list(
            rows.order_by("-row", "-pk").values_list("kind", "record_id", "action", "previous")
        )
        for kind, record_id, action, _previous in entries:
            if action == "created" and record_id is not None:
                created.add((kind, record_id))
        for kind, record_id, action, previous in entries:
            if record_id is None or (action == "updated" and (kind, record_id) in created):
                continue  # created by the same import: removing it is enough
            by_kind.setdefault(kind, []).append(
                ImportUndo(record_id, previous if action == "updated" else None, since)
            )
        left: list[dict[str, Any]] = []
        order = [importer.kind for importer in reversed(registry.importers())]
        for kind in sorted(by_kind, key=lambda key: order.index(key) if key in order else -1):
            reasons = registry.importer(kind).undo(actor, by_kind[kind])
            left += [{"kind": kind, "id": pk, "reason": reason} for pk, reason in reasons.items()]
        undone = sum(len(items) for items in by_kind.values()) - len(left)
        locked.status = Status.UNDONE
        locked.undone_at = timezone.now()
        locked.undo_result = {"undone": undone, "left": left}
        locked.save(update_fields=["status", "undone_at", "undo_result"])
        security_event_record(
            kind=SecurityEvent.Kind.IMPORT,
            request=request,
            actor=actor,
            data={"import_id": job.pk, "status": "undone", "undone": undone, "left": len(left)},
        )
    return locked
