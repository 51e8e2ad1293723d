"""Exporting: a list (contacts, companies, deals, leads, tasks) under its current filters to
CSV, XLSX or vCard, and the whole base to a ZIP (``exports_full``).

A list is read through the kind's ``Exporter`` (``crm.core.records``): the rows its list
shows the user (the kind's scope and the list's own filters), in chunks with their related
rows prefetched, written by ``exports_formats``. A small list is written straight into the
response; one of more than ``CRM_EXPORT_JOB_ROWS`` rows, and the full export, run as a
background job (``jobs_export``) whose state lives in the "progress" cache (readable by the
page while the job runs, gone a day after) and whose file is kept in the default storage
under ``exports/<job id>/`` until the ``transfer.export_files`` sweep removes it. Only the
user who asked may see the job and download its file. Every export is written to the audit
log (``SecurityEvent`` "export": what, format, filters, row count).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.cache import InvalidCacheBackendError, caches
from django.core.cache.backends.base import BaseCache
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connections, transaction
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import SecurityEvent, User
from crm.accounts.services import security_event_record
from crm.core import errors
from crm.core.permissions import can_export, can_export_everything
from crm.core.records import Exporter, registry
from crm.transfer import exports_formats as formats

logger = logging.getLogger(__name__)

CHUNK = 2000
"""Rows read per query."""
FOLDER = "exports"
"""Where finished files are kept in the default storage."""
LIST_FORMATS = ("csv", "xlsx", "vcard")


# --- what is exported ------------------------------------------------------------------------


def export_filters(params: Mapping[str, str]) -> dict[str, str]:
    """The filters of a list's query string as the audit log keeps them: the non-empty
    ones, without the page's cursor."""
    return {key: value for key, value in params.items() if value and key != "cursor"}


@dataclass(frozen=True)
class ListExport:
    """One export of a list, checked and ready to write: whose, which list, format, the
    query string of its filters and the number of rows."""

    user: User
    exporter: Exporter
    format: str
    query: str
    total: int

    @property
    def filename(self) -> str:
        stamp = timezone.localtime().strftime("%Y-%m-%d")
        return f"{self.exporter.name}-{stamp}.{formats.FORMATS[self.format][1]}"

    @property
    def is_large(self) -> bool:
        """Whether it runs as a job (more rows than ``CRM_EXPORT_JOB_ROWS``)."""
        return self.total > settings.CRM_EXPORT_JOB_ROWS


def _exporter(kind: str, fmt: str) -> Exporter:
    try:
        exporter = registry.exporter(kind)
    except LookupError:
        raise errors.NotFound(_("No such list.")) from None
    if fmt not in LIST_FORMATS or (fmt == "vcard" and exporter.card is None):
        raise errors.NotFound(_("No such format."))
    return exporter


def list_export_check(*, user: User, kind: str, fmt: str, params: QueryDict) -> ListExport:
    """The export of the list of ``kind`` in format ``fmt`` under the filters ``params``,
    counted. Raises ``NotFound`` for an unknown list or format, ``PermissionDenied`` for a
    user whose role may not export (``can_export``), ``ValidationFailed`` for a filter the
    list refuses."""
    exporter = _exporter(kind, fmt)
    if not can_export(user):
        raise errors.PermissionDenied(_("Your role may not export."))
    total = exporter.select(user, params).count()
    return ListExport(user, exporter, fmt, params.urlencode(), total)


def _audit(
    request: HttpRequest | None, user: User, what: str, fmt: str, rows: int, **more: Any
) -> None:
    security_event_record(
        kind=SecurityEvent.Kind.EXPORT,
        request=request,
        actor=user,
        data={"what": what, "format": fmt, "rows": rows, **more},
    )


def list_export_stream(
    *, request: HttpRequest, export: ListExport, target: IO[bytes] | None = None
) -> Iterator[bytes]:
    """The file of a small export, as pieces to stream (CSV, vCard) — or, for XLSX, which
    is a ZIP written at the end, written to ``target`` first and answered as nothing. The
    export is written to the audit log before the first byte."""
    _audit(
        request,
        export.user,
        export.exporter.name,
        export.format,
        export.total,
        filters=export_filters(QueryDict(export.query)),
    )
    return _write(export.exporter, export.user, export.format, export.query, target)


def _write(
    exporter: Exporter,
    user: User,
    fmt: str,
    query: str,
    target: IO[bytes] | None,
    progress: formats.Progress = formats._no_progress,
) -> Iterator[bytes]:
    rows = exporter.select(user, QueryDict(query))
    if (
        fmt == "csv"
        and exporter.copy_sql is not None
        and connections[rows.db].vendor == "postgresql"
    ):
        sql, params = exporter.copy_sql(rows)
        return formats.csv_copied_chunks(
            exporter.columns(), _copied(rows.db, sql, params), progress
        )
    chunks = exporter.chunks(rows, CHUNK)
    if fmt == "csv":
        return formats.csv_chunks(exporter.columns(), chunks, progress)
    if fmt == "vcard" and exporter.card is not None:
        return formats.vcard_chunks(exporter.card, chunks, progress)
    assert target is not None, "XLSX is written to a file"
    formats.xlsx_write(target, exporter.name, exporter.columns(), chunks, progress)
    return iter(())


def _copied(using: str, sql: str, params: Sequence[Any]) -> Iterator[bytes]:
    """The rows of ``sql`` as PostgreSQL writes them in CSV, block by block, read from the
    connection as they come (nothing is held but the block)."""
    import psycopg

    connection = connections[using]
    connection.ensure_connection()
    # parameters merged on the client: COPY takes none on the server
    with (
        psycopg.ClientCursor(connection.connection) as cursor,
        cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy,
    ):
        for block in copy:
            yield bytes(block)


# --- jobs ------------------------------------------------------------------------------------


def _cache() -> BaseCache:
    """The cache the jobs' state lives in: the "progress" cache, readable by every process
    while the job runs (never the database the job may be writing in)."""
    try:
        return caches["progress"]
    except InvalidCacheBackendError:
        return caches["default"]


def _key(job_id: str) -> str:
    return f"export-job:{job_id}"


@dataclass
class ExportJob:
    """A background export: ``kind`` is a list's kind or ``base`` (the full export);
    ``status`` queued → running → done (``path`` is the file in the storage) or failed.
    ``done``/``total`` count rows; the times are UNIX seconds."""

    id: str
    user_id: int
    kind: str
    format: str
    query: str = ""
    filename: str = ""
    status: str = "queued"
    done: int = 0
    total: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    path: str = ""
    error: str = ""
    notes: list[str] = field(default_factory=list)

    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"

    def save(self) -> None:
        _cache().set(_key(self.id), asdict(self), settings.CRM_EXPORT_KEEP_SECONDS + 3600)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.DONE, self.FAILED)

    @property
    def percent(self) -> int:
        if self.status == self.DONE:
            return 100
        return min(99, int(100 * self.done / self.total)) if self.total else 0

    @property
    def seconds_left(self) -> int | None:
        """The time left at the pace so far; None before the first rows."""
        if self.status != self.RUNNING or not self.done or not self.started_at:
            return None
        pace = (time.time() - self.started_at) / self.done
        return max(0, round(pace * (self.total - self.done)))


def export_job_get(*, user: User, job_id: str) -> ExportJob:
    """The job ``job_id`` of ``user``; ``NotFound`` for an unknown, expired or another
    user's job (the three look the same)."""
    state = _cache().get(_key(job_id)) if len(job_id) == 32 and job_id.isalnum() else None
    if not state or state.get("user_id") != user.pk:
        raise errors.NotFound(_("No such export."))
    return ExportJob(**state)


def export_job_file(*, user: User, job_id: str) -> tuple[File[Any], str]:
    """The finished file of ``user``'s job and its download name; ``NotFound`` while it is
    not ready or after it was removed."""
    job = export_job_get(user=user, job_id=job_id)
    if job.status != ExportJob.DONE or not default_storage.exists(job.path):
        raise errors.NotFound(_("The file is not ready."))
    return default_storage.open(job.path, "rb"), job.filename


def export_job_start(
    *, request: HttpRequest | None, user: User, kind: str, fmt: str, query: str = "", total: int
) -> ExportJob:
    """Queue a background export (after the commit) and answer its job."""
    from crm.transfer.jobs_export import export_run

    job = ExportJob(id=uuid.uuid4().hex, user_id=user.pk, kind=kind, format=fmt, query=query)
    job.total = total
    job.save()
    transaction.on_commit(lambda: export_run.enqueue(job.id))
    return job


def list_export_start(*, request: HttpRequest, export: ListExport) -> ExportJob:
    """Queue a large list export as a job, written to the audit log now (who asked, from
    where, with the row count)."""
    job = export_job_start(
        request=request,
        user=export.user,
        kind=export.exporter.kind,
        fmt=export.format,
        query=export.query,
        total=export.total,
    )
    _audit(
        request,
        export.user,
        export.exporter.name,
        export.format,
        export.total,
        filters=export_filters(QueryDict(export.query)),
        job=job.id,
    )
    return job


def _claim(job_id: str) -> ExportJob | None:
    """The queued job, marked running; None when it is gone or another run has it."""
    state = _cache().get(_key(job_id))
    if not state or state["status"] != ExportJob.QUEUED:
        return None
    job = ExportJob(**state)
    job.status, job.started_at = ExportJob.RUNNING, time.time()
    job.save()
    return job


def export_execute(*, job_id: str) -> None:
    """Run a queued export job: write its file to a temporary file with progress, keep it
    in the storage, mark the job done. A job that is gone or not queued is left alone (a
    second run does nothing); a failure marks it failed with a message for the user and
    logs the error."""
    job = _claim(job_id)
    if job is None:
        return
    last = 0.0

    def progress(done: int) -> None:
        nonlocal last
        job.done = done
        if time.time() - last > 0.5:  # the page polls every two seconds
            last = time.time()
            job.save()

    try:
        user = User.objects.get(pk=job.user_id)
        with tempfile.TemporaryFile() as target:
            if job.kind == "base":
                from crm.transfer.exports_full import base_total, base_write

                if not can_export_everything(user):
                    raise errors.PermissionDenied(_("Only an administrator exports the base."))
                job.total = base_total()
                job.save()
                job.notes = base_write(target, progress=progress)
                job.filename = f"crm-{timezone.localtime().strftime('%Y-%m-%d-%H%M')}.zip"
            else:
                exporter = _exporter(job.kind, job.format)
                if not can_export(user):
                    raise errors.PermissionDenied(_("Your role may not export."))
                for piece in _write(exporter, user, job.format, job.query, target, progress):
                    target.write(piece)
                stamp = timezone.localtime().strftime("%Y-%m-%d")
                job.filename = f"{exporter.name}-{stamp}.{formats.FORMATS[job.format][1]}"
            target.seek(0)
            job.path = default_storage.save(f"{FOLDER}/{job.id}/{job.filename}", File(target))
    except errors.DomainError as error:
        job.status, job.error = ExportJob.FAILED, error.message or str(error)
    except Exception:
        logger.exception("Export job %s failed", job.id)
        job.status, job.error = ExportJob.FAILED, _("The export failed. Please try again.")
    else:
        job.status = ExportJob.DONE
        job.total = max(job.total, job.done)
    job.finished_at = time.time()
    job.save()


# --- the sweep -------------------------------------------------------------------------------


def export_files_sweep(now: float | None = None) -> dict[str, int] | None:
    """Remove the files of exports finished more than ``CRM_EXPORT_KEEP_SECONDS`` ago (and
    their folders); answers how many, or None when none. Safe in two schedulers at once: a
    file already gone is skipped."""
    now = time.time() if now is None else now
    keep = settings.CRM_EXPORT_KEEP_SECONDS
    removed = 0
    try:
        folders, _files = default_storage.listdir(FOLDER)
    except FileNotFoundError:
        return None
    for folder in folders:
        _none, names = default_storage.listdir(f"{FOLDER}/{folder}")
        for name in names:
            path = f"{FOLDER}/{folder}/{name}"
            try:
                written = default_storage.get_modified_time(path).timestamp()
            except FileNotFoundError:
                continue
            if now - written > keep:
                default_storage.delete(path)
                removed += 1
        _remove_empty(f"{FOLDER}/{folder}")
    return {"removed": removed} if removed else None


def _remove_empty(folder: str) -> None:
    """Remove a job's folder once empty, on a storage of local folders (object storages
    have no folders to leave behind)."""
    # not a local storage, not empty, or already gone: nothing to do
    with contextlib.suppress(NotImplementedError, OSError):
        os.rmdir(default_storage.path(folder))


def base_export_start(*, request: HttpRequest, user: User) -> ExportJob:
    """Queue the full export of the base (administrators only), written to the audit log
    now; the job counts its rows when it starts."""
    if not can_export_everything(user):
        raise errors.PermissionDenied(_("Only an administrator exports the base."))
    job = export_job_start(request=request, user=user, kind="base", fmt="zip", total=0)
    _audit(request, user, "base", "zip", 0, job=job.id)
    return job
