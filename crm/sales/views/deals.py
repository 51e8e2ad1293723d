"""Deal pages: the list with filters and totals, the card, the create/edit form, and the
card's buttons (move to a stage, win, lose, reopen)."""

from __future__ import annotations

from contextlib import suppress
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
from crm.core.pagination import Page
from crm.core.permissions import can_write
from crm.core.records import registry
from crm.customers.choices import FieldEntity
from crm.customers.models import Company, Contact
from crm.customers.selectors import users_owner_filter
from crm.customers.services.cleaning import custom_field_definitions
from crm.planner.selectors import tasks_panel
from crm.sales import selectors
from crm.sales.choices import DealStatus, StageKind
from crm.sales.documents.selectors import document_panel
from crm.sales.forms import DealForm, LoseForm
from crm.sales.models import Deal, LostReason
from crm.sales.permissions import DEAL
from crm.sales.selectors_money import deal_money
from crm.sales.services import deals as services

LIST_LIMIT = 50
TIMELINE_PAGE_SIZE = 25


@login_required
def deal_list(request: SignedInRequest) -> HttpResponse:
    page: Page[Deal] = Page([], None)
    totals, status = selectors.Totals(), 400
    refused: dict[str, list[str]] = {}
    try:
        filters = selectors.DealFilters.from_params(
            request.GET, zone=lambda: user_zone(request.user)
        )
    except errors.ValidationFailed as error:
        filters, refused = selectors.DealFilters(), error.field_errors
    if not refused:
        with suppress(errors.ValidationFailed):  # an unreadable cursor: nothing to show
            page, totals = selectors.deal_table(
                user=request.user,
                filters=filters,
                cursor=request.GET.get("cursor") or None,
                limit=LIST_LIMIT,
            )
            status = 200
    kept = {key: value for key, value in request.GET.items() if key != "cursor" and value}
    context = {
        "page": page,
        "totals": totals,
        "filters": filters,
        "errors": refused,
        "pipelines": selectors.pipelines_live(),
        "owners": users_owner_filter(user=request.user),
        "statuses": DealStatus.choices,
        "next_url": f"?{urlencode({**kept, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else "",
        "first_url": f"?{urlencode(kept)}" if request.GET.get("cursor") else "",
    }
    return render(request, "sales/deal_list.html", context, status=status)


def _custom_values(deal: Any) -> list[tuple[str, str]]:
    values = []
    for definition in custom_field_definitions(FieldEntity.DEAL):
        value = (deal.custom or {}).get(definition.key)
        if value not in (None, "", []):
            values.append(
                (definition.label, ", ".join(value) if isinstance(value, list) else str(value))
            )
    return values


def _card_context(request: SignedInRequest, deal: Any) -> dict[str, Any]:
    stages = list(deal.pipeline.stages.all())
    writable = DEAL.may_change(request.user, deal)
    return {
        "deal": deal,
        "stages": stages,
        "visits": list(deal.visits.all()),
        "custom_values": _custom_values(deal),
        "tasks": tasks_panel(user=request.user, subject=deal),
        "money": deal_money(deal, user=request.user),
        **document_panel(user=request.user, deal=deal),
        "writable": writable,
        "record": deal,
        "entity": "deal",
        "timeline_page": selectors.deal_timeline(deal=deal, limit=TIMELINE_PAGE_SIZE),
        "lose_form": LoseForm(reasons=list(LostReason.objects.filter(archived=False))),
        "card_panels": [
            shown for panel in registry.panels("deal") if (shown := panel.build(request, deal))
        ],
        "won_stage": next((s for s in stages if s.kind == StageKind.WON), None),
        "lost_stage": next((s for s in stages if s.kind == StageKind.LOST), None),
    }


@login_required
@domain_errors
def deal_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    deal = selectors.deal_card(user=request.user, pk=pk)
    return render(request, "sales/deal_detail.html", _card_context(request, deal))


def _form_kwargs(request: SignedInRequest, creating: bool) -> dict[str, Any]:
    return {
        "pipelines": selectors.pipelines_live(),
        "owners": users_owner_filter(user=request.user),
        "creating": creating,
        "definitions": custom_field_definitions(FieldEntity.DEAL),
    }


def _client_names(request: SignedInRequest, form: DealForm) -> dict[str, str]:
    """The names of the chosen contact and company, for the form's client pickers."""
    names = {}
    for key, model in (("contact_id", Contact), ("company_id", Company)):
        value = form[key].value()
        try:
            record = (
                model.objects.visible_to(request.user).filter(pk=int(value)).first()
                if value
                else None
            )
        except (TypeError, ValueError):
            record = None
        if record is not None:
            names[key] = str(record)
    return names


def _render_form(
    request: SignedInRequest, form: DealForm, deal: Any = None, status: int = 200
) -> HttpResponse:
    context = {"form": form, "deal": deal, "client_names": _client_names(request, form)}
    return render(request, "sales/deal_form.html", context, status=status)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def deal_create(request: SignedInRequest) -> HttpResponse:
    if not can_write(request.user):
        raise PermissionDenied(_("Your role may not change deals."))
    if request.method == "GET":
        initial = {
            key: request.GET.get(key)
            for key in ("contact_id", "company_id", "title")
            if request.GET.get(key)
        }
        return _render_form(request, DealForm(initial=initial, **_form_kwargs(request, True)))
    form = DealForm(request.POST, **_form_kwargs(request, True))
    return form_post(
        form,
        lambda: services.deal_create(actor=request.user, data=form.service_data()),
        success=lambda deal: saved(
            request, _("The deal is created."), "sales:deal_detail", pk=deal.pk
        ),
        failure=lambda: _render_form(request, form, status=422),
    )


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def deal_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    deal = services.deal_get(actor=request.user, pk=pk)
    services.deal_check_writable(actor=request.user, deal=deal)
    if request.method == "GET":
        initial = {
            "title": deal.title,
            "amount": deal.amount if deal.amount is not None else "",
            "currency": deal.currency,
            "amount_from_lines": deal.amount_from_lines,
            "expected_close": deal.expected_close,
            "contact_id": deal.contact_id,
            "company_id": deal.company_id,
            "owner_id": deal.owner_id,
            "invoice_number": deal.invoice_number,
            "contract_number": deal.contract_number,
            "tags": ", ".join(tag.name for tag in deal.tags.all()),
            "notes": deal.notes,
            **{
                f"custom.{key}": ("true" if value is True else "false" if value is False else value)
                for key, value in (deal.custom or {}).items()
            },
        }
        return _render_form(
            request, DealForm(initial=initial, **_form_kwargs(request, False)), deal
        )
    form = DealForm(request.POST, **_form_kwargs(request, False))
    return form_post(
        form,
        lambda: services.deal_update(actor=request.user, pk=deal.pk, data=form.service_data()),
        success=lambda _deal: saved(request, _("Saved."), "sales:deal_detail", pk=deal.pk),
        failure=lambda: _render_form(request, form, deal, status=422),
    )


def _back_with_error(
    request: SignedInRequest, pk: int, error: errors.ValidationFailed
) -> HttpResponse:
    text = error.message or " ".join(
        message for messages_ in error.field_errors.values() for message in messages_
    )
    messages.error(request, text)
    return redirect("sales:deal_detail", pk=pk)


@login_required
@domain_errors
@require_POST
def deal_stage(request: SignedInRequest, pk: int) -> HttpResponse:
    """Move to the stage chosen on the card (a form post; the board has its own endpoint)."""
    try:
        services.deal_move(actor=request.user, pk=pk, stage_id=request.POST.get("stage_id"))
    except errors.ValidationFailed as error:
        return _back_with_error(request, pk, error)
    return redirect("sales:deal_detail", pk=pk)


@login_required
@domain_errors
@require_POST
def deal_win(request: SignedInRequest, pk: int) -> HttpResponse:
    try:
        services.deal_win(actor=request.user, pk=pk)
    except errors.ValidationFailed as error:
        return _back_with_error(request, pk, error)
    messages.success(request, _("The deal is won."))
    return redirect("sales:deal_detail", pk=pk)


@login_required
@domain_errors
@require_POST
def deal_lose(request: SignedInRequest, pk: int) -> HttpResponse:
    try:
        services.deal_lose(
            actor=request.user,
            pk=pk,
            lost_reason_id=request.POST.get("lost_reason_id"),
            lost_comment=request.POST.get("lost_comment", ""),
        )
    except errors.ValidationFailed as error:
        return _back_with_error(request, pk, error)
    messages.info(request, _("The deal is lost."))
    return redirect("sales:deal_detail", pk=pk)


@login_required
@domain_errors
@require_POST
def deal_reopen(request: SignedInRequest, pk: int) -> HttpResponse:
    try:
        services.deal_reopen(actor=request.user, pk=pk)
    except errors.ValidationFailed as error:
        return _back_with_error(request, pk, error)
    return redirect("sales:deal_detail", pk=pk)


@login_required
def client_suggest(request: SignedInRequest) -> HttpResponse:
    """Contacts and companies matching the typed text, for the deal form's client picker."""
    from crm.customers.selectors import customer_search

    q = (request.GET.get("client_q") or "").strip()
    found = (
        customer_search(user=request.user, q=q, limit=6)
        if len(q) >= 2
        else {"contacts": [], "companies": []}
    )
    return render(request, "sales/partials/client_suggest.html", {"found": found, "q": q})


urlpatterns: list[URLPattern] = [
    path("deals/", deal_list, name="deal_list"),
    path("deals/new/", deal_create, name="deal_create"),
    path("deals/clients/", client_suggest, name="client_suggest"),
    path("deals/<int:pk>/", deal_detail, name="deal_detail"),
    path("deals/<int:pk>/edit/", deal_edit, name="deal_edit"),
    path("deals/<int:pk>/stage/", deal_stage, name="deal_stage"),
    path("deals/<int:pk>/win/", deal_win, name="deal_win"),
    path("deals/<int:pk>/lose/", deal_lose, name="deal_lose"),
    path("deals/<int:pk>/reopen/", deal_reopen, name="deal_reopen"),
]
