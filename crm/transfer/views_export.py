"""Pages of the export: a list's file (streamed at once, or started as a job), a job's
progress page and its file, and the administrator's full export of the base."""

from __future__ import annotations

import tempfile

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from crm.accounts.http import SignedInRequest
from crm.core import errors
from crm.core.permissions import can_export_everything
from crm.core.records import registry
from crm.transfer import exports
from crm.transfer.exports_formats import FORMATS


def _refused(request: SignedInRequest, error: errors.DomainError) -> HttpResponse:
    """A refused export as a page naming the filter (400), or 403/404."""
    if isinstance(error, errors.NotFound):
        raise Http404(error.message)
    if isinstance(error, errors.PermissionDenied):
        raise PermissionDenied(error.message)
    return render(
        request,
        "transfer/export_refused.html",
        {"errors": error.field_errors, "message": error.message},
        status=400,
    )


def _attachment(response: HttpResponseBase, filename: str) -> HttpResponseBase:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def export_list(request: SignedInRequest, kind: str, fmt: str) -> HttpResponseBase:
    """The list of ``kind`` under the filters of the query string as a file: streamed at
    once when small, else started as a job (redirect to its page)."""
    try:
        export = exports.list_export_check(
            user=request.user, kind=kind, fmt=fmt, params=request.GET
        )
    except errors.DomainError as error:
        return _refused(request, error)
    if export.is_large:
        job = exports.list_export_start(request=request, export=export)
        return redirect("transfer:export_job", job_id=job.id)
    content_type = FORMATS[fmt][0]
    if fmt == "xlsx":
        target = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it
        exports.list_export_stream(request=request, export=export, target=target)
        target.seek(0)
        response: HttpResponseBase = FileResponse(target, content_type=content_type)
    else:
        response = StreamingHttpResponse(
            exports.list_export_stream(request=request, export=export),
            content_type=content_type,
        )
    return _attachment(response, export.filename)


@login_required
@require_GET
def export_job(request: SignedInRequest, job_id: str) -> HttpResponse:
    """A job's progress (the page polls its own fragment) and, when ready, its file."""
    try:
        job = exports.export_job_get(user=request.user, job_id=job_id)
    except errors.NotFound:
        raise Http404 from None
    if request.htmx:
        return render(request, "transfer/export_job_progress.html", {"job": job})
    kind = registry.find(job.kind)
    return render(
        request,
        "transfer/export_job.html",
        {"job": job, "list_label": kind.plural_label if kind else ""},
    )


@login_required
@require_GET
def export_job_download(request: SignedInRequest, job_id: str) -> HttpResponseBase:
    """The finished file of the user's own job (404 for anyone else's)."""
    try:
        file, filename = exports.export_job_file(user=request.user, job_id=job_id)
    except errors.NotFound:
        raise Http404 from None
    content_type = "application/zip" if filename.endswith(".zip") else None
    suffix = filename.rsplit(".", 1)[-1]
    for known, extension in FORMATS.values():
        if extension == suffix:
            content_type = known
    return _attachment(
        FileResponse(file, content_type=content_type or "application/octet-stream"), filename
    )


@login_required
@require_http_methods(["GET", "POST"])
def export_base(request: SignedInRequest) -> HttpResponse:
    """The administrator's full export of the base: a page with a button that starts it."""
    if not can_export_everything(request.user):
        raise PermissionDenied
    if request.method == "POST":
        job = exports.base_export_start(request=request, user=request.user)
        return redirect("transfer:export_job", job_id=job.id)
    return render(request, "transfer/export_base.html", {})
