"""The timeline on contact and company cards: adding entries, filtering, paging, and files.

The card pages include ``customers/partials/timeline.html`` with ``record``, ``entity`` and
``timeline_page``; the views here answer that partial's HTMX requests and also render a
plain page for browsers without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from crm.accounts.http import SignedInRequest
from crm.activities.choices import CallDirection, EntryKind
from crm.activities.models import TimelineEntry
from crm.core import errors
from crm.core.pagination import Page
from crm.core.permissions import can_write
from crm.customers import selectors, services
from crm.customers.models import Company, Contact

# Entries per page of the timeline; the card shows the first page, "Show older" the next.
PAGE_SIZE = 25
MAX_DURATION_MINUTES = 24 * 60

# The filter above the list: query value → kinds shown ("" shows everything).
KIND_FILTERS: dict[str, list[str]] = {
    "note": [EntryKind.NOTE],
    "call": [EntryKind.CALL],
    "email": [EntryKind.EMAIL],
    "meeting": [EntryKind.MEETING],
    "file": [EntryKind.FILE],
    "changes": [EntryKind.FIELD_CHANGE, EntryKind.CREATED, EntryKind.MERGE, EntryKind.SYSTEM],
}

# Files a browser may show by their real type; anything else is served as opaque bytes.
SHOWABLE_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"}

# Service error keys that the form calls differently.
FORM_FIELD_FOR = {"duration_seconds": "duration", "upload": "file"}


@dataclass(frozen=True)
class TimelineOwner:
    """A kind of record with a timeline on its card. Apps above this one (deals, leads)
    add theirs to ``ENTITIES`` in ``AppConfig.ready`` to reuse these views."""

    get: Callable[..., Any]
    timeline: Callable[..., Page[TimelineEntry]]
    detail_url: str
    add: Callable[..., Any] = services.customer_timeline_add


def _contact_timeline(record: Contact, user: Any, **kwargs: Any) -> Page[TimelineEntry]:
    return selectors.contact_timeline(contact=record, **kwargs)


def _company_timeline(record: Company, user: Any, **kwargs: Any) -> Page[TimelineEntry]:
    return selectors.company_timeline(company=record, user=user, **kwargs)


ENTITIES = {
    "contact": TimelineOwner(selectors.contact_get, _contact_timeline, "customers:contact_detail"),
    "company": TimelineOwner(selectors.company_get, _company_timeline, "customers:company_detail"),
}


def _entity(name: str) -> TimelineOwner:
    try:
        return ENTITIES[name]
    except KeyError:
        raise Http404(_("Page not found.")) from None


class TimelineEntryForm(forms.Form):
    """The shape of a manual entry; the service checks the rest (lengths, file content)."""

    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=[
            (kind.value, kind.label)
            for kind in (
                EntryKind.NOTE,
                EntryKind.CALL,
                EntryKind.EMAIL,
                EntryKind.MEETING,
                EntryKind.FILE,
            )
        ],
        initial=EntryKind.NOTE,
    )
    title = forms.CharField(label=gettext_lazy("Subject"), required=False, strip=False)
    body = forms.CharField(label=gettext_lazy("Text"), required=False, strip=False)
    direction = forms.ChoiceField(
        label=gettext_lazy("Direction"),
        choices=[("", "—"), *CallDirection.choices],
        required=False,
    )
    duration = forms.IntegerField(
        label=gettext_lazy("Duration, min"),
        required=False,
        min_value=0,
        max_value=MAX_DURATION_MINUTES,
    )
    occurred_at = forms.DateTimeField(
        label=gettext_lazy("When"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )
    file = forms.FileField(label=gettext_lazy("File"), required=False, allow_empty_file=True)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("kind") == EntryKind.FILE and not data.get("file"):
            self.add_error("file", _("Choose a file."))
        return data

    def service_arguments(self) -> dict[str, Any]:
        """The arguments of ``customer_timeline_add`` that apply to the chosen kind."""
        data = self.cleaned_data
        kind = data["kind"]
        arguments: dict[str, Any] = {"kind": kind, "body": data["body"]}
        if kind in (EntryKind.EMAIL, EntryKind.MEETING):
            arguments["title"] = data["title"]
        if kind == EntryKind.CALL:
            arguments["direction"] = data["direction"] or ""
            if data["duration"] is not None:
                arguments["duration_seconds"] = data["duration"] * 60
        if kind in (EntryKind.CALL, EntryKind.MEETING) and data["occurred_at"]:
            arguments["occurred_at"] = data["occurred_at"]
        if kind == EntryKind.FILE:
            arguments["upload"] = data["file"]
        return arguments

    def add_domain_error(self, error: errors.DomainError) -> None:
        if not error.field_errors:
            self.add_error(None, error.message or str(error))
        for name, messages in error.field_errors.items():
            field = FORM_FIELD_FOR.get(name, name)
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


def _context(
    record: Contact | Company,
    entity: str,
    page: Page[TimelineEntry],
    *,
    form: TimelineEntryForm | None = None,
    kind: str = "",
) -> dict[str, Any]:
    return {
        "record": record,
        "entity": entity,
        "timeline_page": page,
        "timeline_form": form,
        "timeline_kind": kind,
    }


@login_required
@require_GET
def timeline_page(request: SignedInRequest, entity: str, pk: int) -> HttpResponse:
    """A page of the timeline: the list after a filter change, or older entries (cursor)."""
    handler = _entity(entity)
    record = handler.get(user=request.user, pk=pk)
    kind = request.GET.get("kind", "")
    if kind not in KIND_FILTERS:
        kind = ""
    cursor = request.GET.get("cursor") or None
    try:
        page = handler.timeline(
            record, request.user, cursor=cursor, limit=PAGE_SIZE, kinds=KIND_FILTERS.get(kind)
        )
    except errors.ValidationFailed:
        return HttpResponse(_("The link to older entries is broken."), status=400)
    context = _context(record, entity, page, kind=kind)
    if not request.htmx:
        template = "customers/partials/timeline_standalone.html"
    elif cursor:
        template = "customers/partials/timeline_entries.html"
    else:
        template = "customers/partials/timeline_feed.html"
    return render(request, template, context)


@login_required
@require_POST
def timeline_add(request: SignedInRequest, entity: str, pk: int) -> HttpResponse:
    """Add a note, call, e-mail, meeting or file; answer with the refreshed timeline."""
    handler = _entity(entity)
    record = handler.get(user=request.user, pk=pk)
    if not can_write(request.user):
        raise PermissionDenied(_("Your role may not change customer data."))
    form = TimelineEntryForm(request.POST, request.FILES)
    shown_form: TimelineEntryForm | None = form  # none once the entry is added
    status = 422
    if form.is_valid():
        try:
            handler.add(actor=request.user, record=record, **form.service_arguments())
        except errors.PermissionDenied as error:
            raise PermissionDenied(error.message) from None
        except errors.NotFound:
            raise Http404(_("Not found.")) from None
        except errors.DomainError as error:
            form.add_domain_error(error)
            status = error.status_code
        else:
            if not request.htmx:
                return redirect(handler.detail_url, pk=record.pk)
            shown_form, status = None, 200
    page = handler.timeline(record, request.user, limit=PAGE_SIZE)
    template = (
        "customers/partials/timeline.html"
        if request.htmx
        else "customers/partials/timeline_standalone.html"
    )
    return render(request, template, _context(record, entity, page, form=shown_form), status=status)


@login_required
@require_GET
def attachment_download(request: SignedInRequest, pk: int) -> FileResponse:
    """Send a file from a timeline the user may see, always as a download, never rendered."""
    attachment = selectors.attachment_get(user=request.user, pk=pk)
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
