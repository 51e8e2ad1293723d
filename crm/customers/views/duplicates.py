"""The possible-duplicates page, the scan button, the merge page and undo of a merge.

Adapters only: each view parses the request, calls the selector or service, and renders.
Domain errors become 4xx answers; a record the user may not see answers 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.accounts.http import SignedInRequest
from crm.core.errors import DomainError, NotFound, ValidationFailed
from crm.core.http import client_address
from crm.core.permissions import Role, can_write
from crm.customers.choices import DuplicateTier, Entity
from crm.customers.services import merge as merge_services
from crm.customers.services import pair_merge
from crm.customers.services import scan as scan_services

PAGE_SIZE = 50


def _entity(value: str | None) -> str:
    return value if value in Entity.values else Entity.CONTACT


def _list_url(entity: str) -> str:
    return f"{reverse('customers:duplicates')}?{urlencode({'entity': entity})}"


def _card_url(entity: str, pk: int) -> str:
    name = "customers:contact_detail" if entity == Entity.CONTACT else "customers:company_detail"
    return reverse(name, args=[pk])


def _error(request: SignedInRequest, error: DomainError) -> HttpResponse:
    if isinstance(error, NotFound):
        raise Http404(error.message)
    if request.htmx:
        return HttpResponse(escape(error.message), status=error.status_code)
    return render(
        request, "customers/duplicate_error.html", {"error": error}, status=error.status_code
    )


def _can_scan(user: object) -> bool:
    return getattr(user, "role", None) in {Role.ADMIN, Role.HEAD}


def _status_response(request: SignedInRequest, entity: str, *, refresh: bool) -> HttpResponse:
    scan = scan_services.duplicates_scan_status(entity=entity)
    response = render(
        request,
        "customers/partials/duplicate_scan_status.html",
        {"scan": scan, "entity": entity, "can_scan": _can_scan(request.user)},
    )
    if refresh and not scan["is_active"]:
        # The scan has finished: reload the page so the new pairs show.
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_GET
def duplicate_list(request: SignedInRequest) -> HttpResponse:
    """Open pairs the user may see of one tier ("likely" first, "possible" on its own
    tab), highest score first."""
    entity = _entity(request.GET.get("entity"))
    if request.GET.get("poll"):
        return _status_response(request, entity, refresh=True)
    tier = request.GET.get("tier") or DuplicateTier.LIKELY
    if tier not in DuplicateTier.values:
        return HttpResponse(escape(_("tier: choose likely or possible.")), status=400)
    try:
        page = scan_services.duplicate_pair_list(
            user=request.user,
            entity=entity,
            tier=tier,
            cursor=request.GET.get("cursor") or None,
            limit=PAGE_SIZE,
        )
    except ValidationFailed as error:
        return HttpResponse(escape(error.message or str(error)), status=400)
    return render(
        request,
        "customers/duplicate_list.html",
        {
            "entity": entity,
            "tier": tier,
            "tiers": DuplicateTier.choices,
            "page": page,
            "scan": scan_services.duplicates_scan_status(entity=entity),
            "can_scan": _can_scan(request.user),
            "can_write": can_write(request.user),
        },
    )


@login_required
@require_POST
def duplicate_merge_pairs(request: SignedInRequest) -> HttpResponse:
    """Merge one "likely" pair (its button) or the selected ones, then show what merged
    and what was refused."""
    entity = _entity(request.POST.get("entity"))
    pair_ids = [pk for value in request.POST.getlist("pair") if (pk := _int(value)) is not None]
    try:
        report = pair_merge.duplicate_pairs_merge(
            actor=request.user,
            entity=entity,
            pair_ids=pair_ids,
            ip_address=client_address(request),
        )
    except DomainError as error:
        return _error(request, error)
    return render(
        request,
        "customers/duplicate_merge_report.html",
        {"entity": entity, "report": report, "list_url": _list_url(entity)},
    )


@login_required
@require_POST
def duplicate_scan(request: SignedInRequest) -> HttpResponse:
    """Start a scan (admins and heads of sales); the page then polls its status."""
    entity = _entity(request.POST.get("entity") or request.GET.get("entity"))
    try:
        scan_services.duplicates_scan_start(
            actor=request.user, entity=entity, full=request.POST.get("full") == "1"
        )
    except DomainError as error:
        return _error(request, error)
    if request.htmx:
        return _status_response(request, entity, refresh=True)
    messages.info(request, _("The scan for duplicates has started."))
    return redirect(_list_url(entity))


@login_required
@require_POST
def duplicate_dismiss(request: SignedInRequest, pk: int) -> HttpResponse:
    """Mark a pair "not a duplicate"."""
    try:
        pair = scan_services.duplicate_pair_dismiss(actor=request.user, pair_id=pk)
    except DomainError as error:
        return _error(request, error)
    if request.htmx:
        return HttpResponse("")
    messages.success(request, _("The pair is marked as not a duplicate."))
    return redirect(_list_url(pair.entity))


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


@login_required
@require_http_methods(["GET", "POST"])
def merge(request: SignedInRequest, entity: str, first: int, second: int) -> HttpResponse:
    """Compare two records side by side; on POST merge them with the chosen values."""
    try:
        preview = merge_services.merge_preview(
            user=request.user, entity=entity, first_id=first, second_id=second
        )
    except DomainError as error:
        return _error(request, error)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        ids = {preview.first.pk, preview.second.pk}
        survivor_id = _int(request.POST.get("survivor"))
        if survivor_id in ids:
            preview.default_survivor_id = survivor_id
        for row in preview.fields:
            chosen = _int(request.POST.get(f"choice-{row.name}"))
            if chosen in ids:
                row.default_id = chosen
        if survivor_id not in ids:
            errors = {"survivor": [_("Choose the record that stays.")]}
            status = 422
        else:
            (merged_id,) = ids - {survivor_id}
            choices = preview.choices(survivor_id)
            try:
                record = merge_services.customer_merge(
                    actor=request.user,
                    entity=entity,
                    survivor_id=survivor_id,
                    merged_id=merged_id,
                    choices=choices,
                    ip_address=client_address(request),
                )
            except ValidationFailed as error:
                errors = error.field_errors or {"": [error.message]}
                status = 422
            except DomainError as error:
                return _error(request, error)
            else:
                survivor, merged = merge_services.merge_records(record)
                messages.success(
                    request,
                    format_html(
                        '{} <a class="alert-link" href="{}">{}</a>',
                        _("«%(merged)s» is merged into «%(survivor)s».")
                        % {"merged": merged, "survivor": survivor},
                        reverse("customers:merge_undo", args=[record.pk]),
                        _("Undo"),
                    ),
                )
                return redirect(_card_url(entity, survivor.pk))
    labels = {row.name: row.label for row in preview.fields}
    error_list = [
        f"{labels.get(name, '')}: {message}" if labels.get(name) else message
        for name, field_messages in errors.items()
        for message in field_messages
    ]
    return render(
        request,
        "customers/merge_form.html",
        {"preview": preview, "entity": entity, "errors": error_list},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def merge_undo(request: SignedInRequest, pk: int) -> HttpResponse:
    """Confirm (GET) and undo (POST) a merge."""
    try:
        record = merge_services.merge_get(user=request.user, pk=pk)
    except DomainError as refused:
        return _error(request, refused)
    error: DomainError | None = None
    if request.method == "POST":
        try:
            merge_services.merge_undo(actor=request.user, merge=record)
        except NotFound as missing:
            raise Http404(missing.message) from None
        except DomainError as refused:
            error = refused
        else:
            survivor, merged = merge_services.merge_records(record)
            messages.success(
                request,
                _("The merge is undone: «%(merged)s» is a separate record again.")
                % {"merged": merged},
            )
            return redirect(_card_url(record.entity, survivor.pk))
    else:
        try:
            merge_services.merge_check_undoable(actor=request.user, merge=record)
        except DomainError as refused:
            error = refused
    survivor, merged = merge_services.merge_records(record)
    return render(
        request,
        "customers/merge_undo.html",
        {"merge": record, "survivor": survivor, "merged": merged, "error": error},
        status=error.status_code if error and request.method == "POST" else 200,
    )
