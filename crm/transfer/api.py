"""REST API of the import: upload a file, poll the job, fetch the report and the failed
rows, cancel, undo.

The same services as the pages (``crm.transfer.importing``): a role that may not import
answers 403, an import of someone else 404, bad input 422 naming the field (``file``,
``kind``, ``mapping``, ``policy``, ``owner_rule``, ``owner``, ``stage_mapping``), an upload
over the size limit 413.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile as NinjaUploadedFile

from crm.core.api import READ_ERRORS, WRITE_ERRORS, DatabaseId, ErrorOut, request_user
from crm.core.errors import ValidationFailed
from crm.transfer import importing
from crm.transfer.importing_options import options_parse
from crm.transfer.models import ImportJob
from crm.transfer.uploads import upload_too_large

router = Router(tags=["Import"])


class ImportFieldOut(Schema):
    key: str
    label: str
    required: bool
    multiple: bool
    help: str


class KindParams(Schema):
    kind: str


class ImportOut(Schema):
    """An import and its progress: ``status`` is ``queued``, ``running``, ``done``,
    ``failed``, ``cancelled`` or ``undone``; ``stalled`` when a running import's worker
    stopped reporting (the sweep resumes it)."""

    id: int
    kind: str
    file: str
    size: int
    format: str
    encoding: str
    delimiter: str
    mapping: list[str]
    options: dict[str, Any]
    policy: str
    owner_rule: str
    owner: int | None
    status: str
    stalled: bool
    rows_total: int | None
    rows_done: int
    percent: int
    created: int
    updated: int
    skipped: int
    failed: int
    seconds_left: int | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    error: str


class PossibleDuplicateOut(Schema):
    row: int
    record_id: int | None
    reason: str


class ImportReportOut(Schema):
    """The report: the counts (in ``job``), the records created that look like ones
    already there, and what an undo left (changed since the import)."""

    job: ImportOut
    possible_duplicates: list[PossibleDuplicateOut]
    failed_rows_url: str
    undo: dict[str, Any]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _out(job: ImportJob) -> dict[str, Any]:
    progress = importing.import_progress(job)
    return {
        "id": job.pk,
        "kind": job.kind,
        "file": job.original_name,
        "size": job.size,
        "format": job.format,
        "encoding": job.encoding,
        "delimiter": job.delimiter,
        "mapping": job.mapping,
        "options": job.options or {},
        "policy": job.policy,
        "owner_rule": job.owner_rule,
        "owner": job.owner_id,
        "status": job.status,
        "stalled": progress.is_stalled,
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "percent": progress.percent,
        "created": job.created,
        "updated": job.updated,
        "skipped": job.skipped,
        "failed": job.failed,
        "seconds_left": progress.seconds_left,
        "created_at": job.created_at.isoformat(),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "error": job.error,
    }


@router.get(
    "/fields",
    response={200: list[ImportFieldOut], 403: ErrorOut, **READ_ERRORS},
    summary="The fields a column may fill",
)
def import_fields(request: HttpRequest, params: Query[KindParams]) -> Any:
    """The fields of a kind (``contact``, ``company``, …) a file's columns may be mapped
    to, custom fields included (``custom.<key>``)."""
    importing.import_check_allowed(actor=request_user(request))
    return [
        {
            "key": item.key,
            "label": str(item.label),
            "required": item.required,
            "multiple": item.multiple,
            "help": str(item.help),
        }
        for item in importing.import_fields(params.kind)
    ]


class ImportIn(Schema):
    """The form fields of an upload (multipart, with ``file``)."""

    kind: str = "contact"
    mapping: str = ""
    policy: str = ImportJob.Policy.SKIP
    owner_rule: str = ImportJob.OwnerRule.IMPORTER
    owner: int | None = None
    stage_mapping: str = ""
    """Deals: a JSON list of ``{"pipeline": …, "stage": …, "to": <stage id>}``, the file's
    pipeline and stage names → this base's stage (names left out are read as they are)."""
    create_clients: bool = False
    """Deals: create the companies and contacts the rows name that the base lacks."""


def _mapping(text: str | None) -> list[str] | None:
    if not text:
        return None
    try:
        mapping = json.loads(text)
    except ValueError:
        mapping = None
    if not isinstance(mapping, list) or not all(isinstance(key, str) for key in mapping):
        raise ValidationFailed(
            field_errors={"mapping": [_('A JSON list of field keys, "" for a column left out.')]}
        )
    return mapping


@router.post(
    "",
    response={202: ImportOut, **WRITE_ERRORS},
    summary="Upload a file to import",
    url_name="import_upload",
)
def import_upload(
    request: HttpRequest,
    form: Form[ImportIn],
    file: File[NinjaUploadedFile | None] = None,
) -> Any:
    """Queue the import of a CSV, XLSX or vCard file (multipart). ``mapping`` is a JSON
    list with the field key of each column (``""`` for one left out), guessed from the
    headers when absent; ``policy`` is ``skip``, ``fill``, ``overwrite`` or ``create``;
    ``owner_rule`` is ``importer``, ``chosen`` (with ``owner``) or ``column`` (the mapped
    ``owner`` column; ``owner``, if given, for rows naming nobody). Deals of another CRM:
    ``stage_mapping`` (JSON) maps the file's pipeline and stage names to this base's stages
    (``GET /stages`` of the sales API lists them; 422 naming a value whose stage is not
    here), ``create_clients`` creates the clients the base lacks. Poll ``GET /{id}``."""
    actor = request_user(request)
    if upload_too_large(request):
        raise importing.FileTooLarge(
            _("The file is too large."), field_errors={"file": [_("The file is too large.")]}
        )
    if file is None:
        raise ValidationFailed(field_errors={"file": [_("Attach the file.")]})
    upload: UploadedFile[Any] = file
    job = importing.import_start(
        actor=actor,
        file=upload,
        filename=upload.name or "import",
        kind=form.kind,
        mapping=_mapping(form.mapping),
        policy=form.policy,
        owner_rule=form.owner_rule,
        owner_id=form.owner,
        options=options_parse(
            form.kind,
            {"stage_mapping": form.stage_mapping, "create_clients": form.create_clients or ""},
        ),
        request=request,
    )
    return Status(202, _out(job))


@router.get("", response={200: list[ImportOut], 403: ErrorOut, **READ_ERRORS}, summary="Imports")
def import_list(request: HttpRequest) -> Any:
    """The latest imports (one's own; an administrator's: everyone's)."""
    return [_out(job) for job in importing.import_recent(actor=request_user(request))]


@router.get(
    "/{import_id}", response={200: ImportOut, 403: ErrorOut, **READ_ERRORS}, summary="An import"
)
def import_status(request: HttpRequest, import_id: DatabaseId) -> Any:
    """The import's progress and counts."""
    return _out(importing.import_get(actor=request_user(request), pk=import_id))


@router.get(
    "/{import_id}/report",
    response={200: ImportReportOut, 403: ErrorOut, **READ_ERRORS},
    summary="An import's report",
)
def import_report(request: HttpRequest, import_id: DatabaseId) -> Any:
    """Counts, the possible duplicates created, the failed rows' file and the undo's result."""
    job = importing.import_get(actor=request_user(request), pk=import_id)
    return {
        "job": _out(job),
        "possible_duplicates": [
            {"row": entry.row, "record_id": entry.record_id, "reason": entry.reason}
            for entry in importing.import_possible_duplicates(job)
        ],
        "failed_rows_url": reverse("api:import_failed_rows", kwargs={"import_id": job.pk}),
        "undo": job.undo_result,
    }


@router.get(
    "/{import_id}/failed-rows",
    response={200: None, 403: ErrorOut, **READ_ERRORS},
    summary="The failed rows as a file",
    url_name="import_failed_rows",
)
def import_failed_rows(request: HttpRequest, import_id: DatabaseId) -> Any:
    """The failed rows in the file's own layout plus a reason column (CSV, UTF-8 with a
    BOM, the file's delimiter), to fix and import again."""
    job = importing.import_get(actor=request_user(request), pk=import_id)
    response = StreamingHttpResponse(
        importing.import_failed_rows(job), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-failed.csv"'
    return response


@router.post(
    "/{import_id}/cancel", response={200: ImportOut, **WRITE_ERRORS}, summary="Cancel an import"
)
def import_cancel(request: HttpRequest, import_id: DatabaseId) -> Any:
    """Stop the import between batches; what it wrote stays and may be undone."""
    actor = request_user(request)
    job = importing.import_get(actor=actor, pk=import_id)
    return _out(importing.import_cancel(actor=actor, job=job))


@router.post(
    "/{import_id}/undo", response={200: ImportReportOut, **WRITE_ERRORS}, summary="Undo an import"
)
def import_undo(request: HttpRequest, import_id: DatabaseId) -> Any:
    """Remove what the import created and restore what it changed, except records changed
    since (listed in ``undo.left``)."""
    actor = request_user(request)
    job = importing.import_get(actor=actor, pk=import_id)
    job = importing.import_undo(actor=actor, job=job, request=request)
    return import_report(request, job.pk)
