"""Lead pages: the list with filters, the board by status, the card with its actions
(take, qualify, lose, assign, convert) and manual entry."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.accounts.http import SignedInRequest
from crm.accounts.zones import user_zone
from crm.core import errors
from crm.core.forms import domain_errors, form_post, saved
from crm.core.pages import edit_page
from crm.core.pagination import Page
from crm.core.permissions import can_write
from crm.core.records import registry
from crm.customers.selectors import users_owner_filter
from crm.customers.services.duplicates import DuplicateFound
from crm.leads.choices import Channel, LeadKind, LeadStatus
from crm.leads.forms import NEW_CONTACT, ConvertForm, LeadForm
from crm.leads.models import Lead
from crm.leads.permissions import LEAD
from crm.leads.selectors import (
    LeadFilters,
    lead_contact_candidates,
    lead_page,
    lead_timeline,
)
from crm.leads.services import leads as services
from crm.planner.selectors import tasks_panel

BOARD_COLUMNS = (LeadStatus.NEW, LeadStatus.IN_PROGRESS, LeadStatus.QUALIFIED)
BOARD_LIMIT = 30


def _filter_context(request: SignedInRequest, filters: LeadFilters) -> dict[str, Any]:
    return {
        "filters": filters,
        "owners": users_owner_filter(user=request.user),
        "statuses": LeadStatus.choices,
        "kinds": LeadKind.choices,
        "channels": Channel.choices,
    }


@login_required
def lead_list(request: SignedInRequest) -> HttpResponse:
    filters = LeadFilters.from_params(request.GET, zone=lambda: user_zone(request.user))
    status = 200
    try:
        page = lead_page(
            user=request.user, filters=filters, cursor=request.GET.get("cursor") or None
        )
    except errors.ValidationFailed:
        page, status = Page([], None), 400
    kept = {key: value for key, value in request.GET.items() if key != "cursor" and value}
    context = {
        "page": page,
        "next_url": f"?{urlencode({**kept, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else "",
        "first_url": f"?{urlencode(kept)}" if request.GET.get("cursor") else "",
        **_filter_context(request, filters),
    }
    return render(request, "leads/lead_list.html", context, status=status)


@login_required
def lead_board(request: SignedInRequest) -> HttpResponse:
    """Open leads in three columns by status, newest first (one query per column)."""
    filters = LeadFilters.from_params(request.GET, zone=lambda: user_zone(request.user))
    filters.status = ""
    base = filters.apply(Lead.objects.visible_to(request.user)).select_related("owner")
    columns = [
        (
            value,
            LeadStatus(value).label,
            list(base.filter(status=value).order_by("-created_at", "-id")[:BOARD_LIMIT]),
        )
        for value in BOARD_COLUMNS
    ]
    return render(
        request, "leads/lead_board.html", {"columns": columns, **_filter_context(request, filters)}
    )


def _card(
    request: SignedInRequest,
    lead: Lead,
    *,
    convert_form: ConvertForm | None = None,
    status: int = 200,
) -> HttpResponse:
    writable = LEAD.may_change(request.user, lead)
    candidates = lead_contact_candidates(actor=request.user, lead=lead) if writable else []
    context = {
        "lead": lead,
        "record": lead,
        "entity": "lead",
        "timeline_page": lead_timeline(lead=lead),
        "tasks": tasks_panel(user=request.user, subject=lead),
        "writable": writable,
        "card_panels": [
            shown for panel in registry.panels("lead") if (shown := panel.build(request, lead))
        ],
        "convert_form": convert_form
        or ConvertForm(
            initial={
                "deal_title": lead.title,
                "create_company": bool(lead.company_name and not lead.company_id),
                # The likeliest existing contact is the default: a second one is a choice.
                "contact_choice": str(candidates[0].record_id) if candidates else "",
            }
        ),
        "contact_candidates": candidates,
        "new_contact": NEW_CONTACT,
        "owners": [user for user in users_owner_filter(user=request.user) if user.is_active],
        "statuses": [
            (value, label) for value, label in LeadStatus.choices if value != LeadStatus.CONVERTED
        ],
    }
    return render(request, "leads/lead_detail.html", context, status=status)


@login_required
@domain_errors
def lead_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    return _card(request, services.lead_get(actor=request.user, pk=pk))


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def lead_create(request: SignedInRequest) -> HttpResponse:
    if not can_write(request.user):
        raise PermissionDenied(_("Your role may not change leads."))
    form = LeadForm(request.POST or None)
    return edit_page(
        request,
        form,
        lambda: services.lead_create_manual(actor=request.user, data=form.cleaned_data),
        template="leads/lead_form.html",
        success=lambda lead: saved(
            request, _("The lead is saved."), "leads:lead_detail", pk=lead.pk
        ),
    )


def _back(request: SignedInRequest, pk: int, error: errors.DomainError) -> HttpResponse:
    text = error.message or " ".join(m for ms in error.field_errors.values() for m in ms)
    messages.error(request, text)
    return redirect("leads:lead_detail", pk=pk)


@login_required
@domain_errors
@require_POST
def lead_status(request: SignedInRequest, pk: int) -> HttpResponse:
    try:
        services.lead_set_status(
            actor=request.user,
            pk=pk,
            status=request.POST.get("status", ""),
            reason=request.POST.get("reason", ""),
        )
    except errors.ValidationFailed as error:
        return _back(request, pk, error)
    if request.POST.get("next") == "board":
        return redirect("leads:lead_board")
    return redirect("leads:lead_detail", pk=pk)


@login_required
@domain_errors
@require_POST
def lead_assign(request: SignedInRequest, pk: int) -> HttpResponse:
    try:
        services.lead_assign(actor=request.user, pk=pk, owner_id=request.POST.get("owner_id"))
    except errors.ValidationFailed as error:
        return _back(request, pk, error)
    messages.success(request, _("The lead is assigned."))
    return redirect("leads:lead_detail", pk=pk)


@login_required
@domain_errors
@require_POST
def lead_convert(request: SignedInRequest, pk: int) -> HttpResponse:
    lead = services.lead_get(actor=request.user, pk=pk)
    form = ConvertForm(request.POST)

    def converted(_result: object) -> HttpResponse:
        lead.refresh_from_db()
        return saved(
            request, _("Converted: the deal is created."), "sales:deal_detail", pk=lead.deal_id
        )

    try:
        return form_post(
            form,
            lambda: services.lead_convert(actor=request.user, pk=pk, **form.service_data()),
            success=converted,
            failure=lambda: _card(request, lead, convert_form=form, status=422),
        )
    except services.ContactMatchFound as error:
        form.add_error(None, error.message)
        return _card(request, lead, convert_form=form, status=409)
    except DuplicateFound as error:
        hint = _("Tick “Create even if a duplicate exists” or link the existing record.")
        form.add_error(None, error.message + " " + hint)
        return _card(request, lead, convert_form=form, status=422)


urlpatterns: list[URLPattern] = [
    path("", lead_list, name="lead_list"),
    path("board/", lead_board, name="lead_board"),
    path("new/", lead_create, name="lead_create"),
    path("<int:pk>/", lead_detail, name="lead_detail"),
    path("<int:pk>/status/", lead_status, name="lead_status"),
    path("<int:pk>/assign/", lead_assign, name="lead_assign"),
    path("<int:pk>/convert/", lead_convert, name="lead_convert"),
]
