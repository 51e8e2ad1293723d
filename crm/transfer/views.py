"""Pages of the import and the export.

The import wizard: upload (``import_new``) → columns, preview, duplicates and responsible
(``import_setup``; the preview is an HTMX fragment refreshed as the mapping changes) →
progress and report (``import_detail``, polled while it runs) with the failed rows' file,
cancel and undo. The list of past imports is ``import_list``.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.accounts.http import SignedInRequest
from crm.core.errors import ValidationFailed
from crm.core.forms import domain_errors, form_post
from crm.transfer import importing
from crm.transfer.forms import ImportSetupForm, ImportUploadForm, assignable_users
from crm.transfer.importing_options import import_flags, options_check, value_map_steps
from crm.transfer.models import ImportJob
from crm.transfer.uploads import upload_too_large

SAMPLE_VALUES = 3


@login_required
@domain_errors
def import_list(request: SignedInRequest) -> HttpResponse:
    """The latest imports (one's own; an administrator's: everyone's)."""
    jobs = importing.import_recent(actor=request.user)
    return render(request, "transfer/import_list.html", {"jobs": jobs})


@login_required
@domain_errors
def import_new(request: SignedInRequest) -> HttpResponse:
    """Step 1: the file and what it holds."""
    importing.import_check_allowed(actor=request.user)
    kinds = importing.import_kinds()

    def page(form: ImportUploadForm, status: int) -> HttpResponse:
        return render(request, "transfer/import_new.html", {"form": form}, status=status)

    if request.method != "POST":
        return page(ImportUploadForm(kinds=kinds, initial={"kind": "contact"}), 200)
    form = ImportUploadForm(request.POST, request.FILES, kinds=kinds)
    if upload_too_large(request):
        form = ImportUploadForm(request.POST, kinds=kinds)
        form.is_valid()
        form.errors.pop("file", None)
        form.add_error(None, _("The file is too large."))
        form.add_error("file", _("The file is too large."))
        return page(form, 413)
    return form_post(
        form,
        lambda: importing.import_upload(
            actor=request.user,
            file=form.cleaned_data["file"],
            filename=form.cleaned_data["file"].name,
            kind=form.cleaned_data["kind"],
        ),
        success=lambda job: redirect("transfer:import_setup", pk=job.pk),
        failure=lambda: page(form, 422),
    )


def _columns(job: ImportJob) -> tuple[list[str], list[list[str]]]:
    """The file's headers and a few sample values of each column."""
    with job.file.open("rb") as stored:
        table = importing.table_read(stored, job.original_name)
        rows = [row.cells for row in islice(table.rows, 50)]
    samples = [
        [cell for cell in (row[index] for row in rows) if cell.strip()][:SAMPLE_VALUES]
        for index in range(len(table.columns))
    ]
    return table.columns, samples


def _setup_form(request: SignedInRequest, job: ImportJob, data: Any = None) -> ImportSetupForm:
    columns, _samples = _columns(job)
    initial: dict[str, Any] = {f"column_{i}": key for i, key in enumerate(job.mapping)}
    initial.update(policy=job.policy, owner_rule=job.owner_rule, owner=job.owner_id)
    return ImportSetupForm(
        data,
        initial=initial,
        columns=columns,
        fields=importing.import_fields(job.kind),
        users=assignable_users(request.user),
        steps=value_map_steps(job, job.mapping),
        flags=import_flags(job.kind),
        options=job.options,
    )


def _options_or_none(job: ImportJob, form: ImportSetupForm) -> dict[str, Any] | None:
    """The form's options for the preview, when they pass the checks (else the job's)."""
    if form.is_bound and not form.is_valid():
        return None
    try:
        return options_check(job.kind, form.options())
    except ValidationFailed:
        return None


@login_required
@domain_errors
def import_setup(request: SignedInRequest, pk: int) -> HttpResponse:
    """Step 2: the field of each column (guessed ones chosen), the preview, what to do with
    duplicates and who is responsible; submitting starts the import."""
    job = importing.import_get(actor=request.user, pk=pk)
    if job.status != ImportJob.Status.DRAFT:
        return redirect("transfer:import_detail", pk=job.pk)
    form = _setup_form(request, job, request.POST if request.method == "POST" else None)

    def page(status: int) -> HttpResponse:
        _headers, samples = _columns(job)
        columns = [
            (form[name], sample) for name, sample in zip(form.column_names, samples, strict=True)
        ]
        context = {
            "job": job,
            "form": form,
            "columns": columns,
            "preview": importing.import_preview_of(
                job=job, mapping=job.mapping, options=_options_or_none(job, form)
            ),
        }
        return render(request, "transfer/import_setup.html", context, status=status)

    if request.method != "POST":
        return page(200)
    return form_post(
        form,
        lambda: importing.import_queue(
            actor=request.user,
            job=job,
            mapping=form.mapping(),
            policy=form.cleaned_data["policy"],
            owner_rule=form.cleaned_data["owner_rule"],
            owner_id=form.cleaned_data["owner"].pk if form.cleaned_data["owner"] else None,
            options=form.options(),
            request=request,
        ),
        success=lambda queued: redirect("transfer:import_detail", pk=queued.pk),
        failure=lambda: page(422),
    )


@login_required
@domain_errors
def import_preview(request: SignedInRequest, pk: int) -> HttpResponse:
    """The preview fragment for the mapping being chosen (HTMX, on every change)."""
    job = importing.import_get(actor=request.user, pk=pk)
    form = _setup_form(request, job, request.POST or None)
    problems: list[str] = []
    mapping = job.mapping
    options = None
    if form.is_valid():
        try:
            options = options_check(job.kind, form.options())
        except ValidationFailed as error:
            problems = [m for messages_ in error.field_errors.values() for m in messages_]
        try:
            mapping = importing.import_draft_update(
                actor=request.user, job=job, mapping=form.mapping()
            )
        except ValidationFailed as error:
            mapping = form.mapping()
            problems += [m for messages_ in error.field_errors.values() for m in messages_]
    context = {
        "job": job,
        "preview": importing.import_preview_of(
            job=job, mapping=mapping, policy=request.POST.get("policy"), options=options
        ),
        "mapping_problems": problems,
    }
    return render(request, "transfer/partials/import_preview.html", context)


@login_required
@domain_errors
def import_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    """The import's progress (polled by HTMX while it runs) and, once finished, its report."""
    job = importing.import_get(actor=request.user, pk=pk)
    if job.status == ImportJob.Status.DRAFT:
        return redirect("transfer:import_setup", pk=job.pk)
    context = {
        "job": job,
        "progress": importing.import_progress(job),
        "possible": importing.import_possible_duplicates(job) if job.is_finished else [],
        "may_undo": importing.import_may_undo(job),
    }
    template = (
        "transfer/partials/import_progress.html" if request.htmx else "transfer/import_detail.html"
    )
    return render(request, template, context)


@login_required
@domain_errors
def import_failed_rows(request: SignedInRequest, pk: int) -> StreamingHttpResponse:
    """The failed rows as a file to fix and import again."""
    job = importing.import_get(actor=request.user, pk=pk)
    response = StreamingHttpResponse(
        importing.import_failed_rows(job), content_type="text/csv; charset=utf-8"
    )
    stem = job.original_name.rsplit(".", 1)[0] or "import"
    response["Content-Disposition"] = f'attachment; filename="{stem}-failed.csv"'
    return response


@login_required
@require_POST
@domain_errors
def import_cancel(request: SignedInRequest, pk: int) -> HttpResponse:
    """Stop the import between batches."""
    job = importing.import_get(actor=request.user, pk=pk)
    try:
        importing.import_cancel(actor=request.user, job=job)
    except ValidationFailed as error:
        messages.error(request, " ".join(m for ms in error.field_errors.values() for m in ms))
    else:
        messages.info(request, _("The import stops after the rows being written now."))
    return redirect("transfer:import_detail", pk=job.pk)


@login_required
@require_POST
@domain_errors
def import_undo(request: SignedInRequest, pk: int) -> HttpResponse:
    """Undo the import (what it created removed, what it changed restored)."""
    job = importing.import_get(actor=request.user, pk=pk)
    try:
        job = importing.import_undo(actor=request.user, job=job, request=request)
    except ValidationFailed as error:
        messages.error(request, " ".join(m for ms in error.field_errors.values() for m in ms))
    else:
        messages.success(request, _("The import is undone."))
    return redirect("transfer:import_detail", pk=job.pk)
