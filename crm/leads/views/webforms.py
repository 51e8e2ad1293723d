"""Web form settings: the list of forms with their submission counts, and the editor of
one form (its settings, its rows of fields, the snippet to paste into the site and the
link to the hosted page).

Administrators only (others 403, anonymous users go to the sign-in page). The editor's
rows come as parallel lists (``field_name``, ``field_label``…, one item a row, in page
order); refusals of a row's column (``fields[2].name``) are shown on that row.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _

from crm.accounts.http import SignedInRequest
from crm.core.errors import ValidationFailed
from crm.core.forms import domain_errors
from crm.core.pages import optional_static
from crm.leads import selectors_admin as selectors
from crm.leads.forms_admin import (
    FIELD_TYPE_LABELS,
    FieldRow,
    WebFormForm,
    default_field_rows,
    field_rows_apply_errors,
    field_rows_from_form,
    field_rows_from_post,
    field_rows_payload,
)
from crm.leads.models import WebForm
from crm.leads.permissions import LEAD_SETTINGS
from crm.leads.services import webforms as services
from crm.leads.services.webforms import STANDARD_FIELDS


@login_required
@domain_errors
def webform_list(request: SignedInRequest) -> HttpResponse:
    return render(
        request,
        "leads/admin/webform_list.html",
        {"webforms": selectors.webform_list(actor=request.user)},
    )


def _hosted_url(form: WebForm) -> str:
    return f"{settings.CRM_BASE_URL}/f/{form.key}"


def _editor_page(request: SignedInRequest, webform: WebForm | None) -> HttpResponse:
    initial = WebFormForm.initial_for(webform) if webform else {"min_fill_seconds": 3}
    form = WebFormForm(request.POST if request.method == "POST" else None, initial=initial)
    rows: list[FieldRow] = field_rows_from_form(webform) if webform else default_field_rows()
    fields_errors: list[str] = []
    status = 200
    if request.method == "POST":
        status = 422
        rows = field_rows_from_post(request.POST)
        if form.is_valid():
            fields, kept = field_rows_payload(rows)
            try:
                saved = services.webform_save(
                    actor=request.user, form=webform, fields=fields, **form.service_data()
                )
            except ValidationFailed as error:
                rest = field_rows_apply_errors(rows, kept, error)
                fields_errors = rest.field_errors.pop("fields", [])
                if rest.field_errors or not (fields_errors or any(row.errors for row in rows)):
                    form.apply_domain_errors(rest)
            else:
                if webform is None:
                    messages.success(
                        request,
                        _("Form “%(name)s” created: copy the snippet into your site.")
                        % {"name": saved.name},
                    )
                else:
                    messages.success(request, _("Form “%(name)s” saved.") % {"name": saved.name})
                return redirect("leads:webform_edit", pk=saved.pk)
    if not rows:
        rows = [FieldRow()]
    context = {
        "form": form,
        "webform": webform,
        "rows": rows,
        "blank_row": FieldRow(),
        "fields_errors": fields_errors,
        "refused": status == 422,
        "field_types": list(FIELD_TYPE_LABELS.items()),
        "standard_fields": STANDARD_FIELDS,
        "sortable_js": optional_static("vendor/Sortable.min.js"),
    }
    if webform is not None:
        context["snippet"] = services.snippet(webform, base_url=settings.CRM_BASE_URL)
        context["hosted_url"] = _hosted_url(webform)
    return render(request, "leads/admin/webform_form.html", context, status=status)


@login_required
@domain_errors
def webform_create(request: SignedInRequest) -> HttpResponse:
    LEAD_SETTINGS.check(request.user)
    return _editor_page(request, None)


@login_required
@domain_errors
def webform_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    return _editor_page(request, selectors.webform_get(actor=request.user, pk=pk))


urlpatterns: list[URLPattern] = [
    path("settings/forms/", webform_list, name="webform_list"),
    path("settings/forms/new/", webform_create, name="webform_create"),
    path("settings/forms/<int:pk>/", webform_edit, name="webform_edit"),
]
