"""The timeline of any record kind that has one: adding entries, filtering, paging, files.

Card pages show the timeline with the ``{% timeline %}`` tag (``templatetags/timeline.py``),
given ``record``, ``entity`` (the kind's key) and ``timeline_page``; the views here answer
that partial's HTMX requests and also render a plain page for browsers without JavaScript.
This app sits below the apps that own the records, so it finds a record, its timeline and
the service that adds to it through the registry of record kinds (``crm.core.records``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.accounts.http import SignedInRequest
from crm.activities.choices import EntryKind
from crm.activities.forms import TimelineEntryForm
from crm.activities.models import TimelineEntry
from crm.activities.selectors import TIMELINE_PAGE_SIZE, attachment_get
from crm.core import errors
from crm.core.pagination import Page
from crm.core.permissions import can_write
from crm.core.records import RecordKind, Timeline, registry

PAGE_SIZE = TIMELINE_PAGE_SIZE

# The filter above the list: query value → kinds shown ("" shows everything).
KIND_FILTERS: dict[str, list[str]] = {
    "note": [EntryKind.NOTE],
    "call": [EntryKind.CALL],
    "email": [EntryKind.EMAIL],
    "sms": [EntryKind.SMS],
    "meeting": [EntryKind.MEETING],
    "file": [EntryKind.FILE],
    "changes": [EntryKind.FIELD_CHANGE, EntryKind.CREATED, EntryKind.MERGE, EntryKind.SYSTEM],
}

# Files a browser may show by their real type; anything else is served as opaque bytes.
SHOWABLE_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"}


def _timeline_kind(entity: str) -> tuple[RecordKind, Timeline]:
    """The registered kind ``entity`` with its timeline; 404 for another name."""
    try:
        kind = registry.kind(entity)
    except LookupError:
        raise Http404(_("Page not found.")) from None
    if kind.timeline is None:
        raise Http404(_("Page not found."))
    return kind, kind.timeline


def _context(
    record: Any,
    kind: RecordKind,
    page: Page[TimelineEntry],
    *,
    form: TimelineEntryForm | None = None,
    filter_kind: str = "",
) -> dict[str, Any]:
    return {
        "record": record,
        "record_url": kind.url_of(record),
        "entity": kind.key,
        "timeline_page": page,
        "timeline_form": form,
        "timeline_kind": filter_kind,
    }


@login_required
@require_GET
def timeline_page(request: SignedInRequest, entity: str, pk: int) -> HttpResponse:
    """A page of the timeline: the list after a filter change, or older entries (cursor)."""
    kind, timeline = _timeline_kind(entity)
    record = get_object_or_404(kind.visible_to(request.user), pk=pk)
    filter_kind = request.GET.get("kind", "")
    if filter_kind not in KIND_FILTERS:
        filter_kind = ""
    cursor = request.GET.get("cursor") or None
    try:
        page = timeline.read(
            record,
            request.user,
            cursor=cursor,
            limit=PAGE_SIZE,
            kinds=KIND_FILTERS.get(filter_kind),
        )
    except errors.ValidationFailed:
        return HttpResponse(_("The link to older entries is broken."), status=400)
    context = _context(record, kind, page, filter_kind=filter_kind)
    if not request.htmx:
        template = "activities/partials/timeline_standalone.html"
    elif cursor:
        template = "activities/partials/timeline_entries.html"
    else:
        template = "activities/partials/timeline_feed.html"
    return render(request, template, context)


@login_required
@require_POST
def timeline_add(request: SignedInRequest, entity: str, pk: int) -> HttpResponse:
    """Add a note, call, e-mail, meeting or file; answer with the refreshed timeline."""
    kind, timeline = _timeline_kind(entity)
    record = get_object_or_404(kind.visible_to(request.user), pk=pk)
    if not can_write(request.user):
        raise PermissionDenied(_("Your role may not change customer data."))
    form = TimelineEntryForm(request.POST, request.FILES)
    shown_form: TimelineEntryForm | None = form  # none once the entry is added
    status = 422
    if form.is_valid():
        try:
            timeline.add(actor=request.user, record=record, **form.service_arguments())
        except errors.PermissionDenied as error:
            raise PermissionDenied(error.message) from None
        except errors.NotFound:
            raise Http404(_("Not found.")) from None
        except errors.DomainError as error:
            form.add_domain_error(error)
            status = error.status_code
        else:
            if not request.htmx:
                return redirect(kind.url_of(record))
            shown_form, status = None, 200
    page = timeline.read(record, request.user, limit=PAGE_SIZE)
    template = (
        "activities/partials/timeline.html"
        if request.htmx
        else "activities/partials/timeline_standalone.html"
    )
    return render(request, template, _context(record, kind, page, form=shown_form), status=status)


@login_required
@require_GET
def attachment_download(request: SignedInRequest, pk: int) -> FileResponse:
    """Send a file from a timeline the user may see, always as a download, never rendered."""
    attachment = attachment_get(user=request.user, pk=pk)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("File not found.")) from None
    content_type = (
        attachment.content_type
        if attachment.content_type in SHOWABLE_TYPES
        else "application/octet-stream"
    )
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.original_name, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, max-age=0"
    return response
