"""The product catalogue pages and the line items panel of a deal card.

The deal card includes ``sales/_lines_panel.html`` with ``deal`` and ``money``
(``selectors_money.deal_money``); the line views here answer that panel's HTMX requests
with the refreshed panel (and the payments panel out of band, since the due amount follows
the lines) and, without JavaScript, redirect back to the card or render a plain page.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.accounts.http import SignedInRequest
from crm.core import errors
from crm.core.forms import domain_errors, form_post, saved
from crm.core.pagination import Page
from crm.sales import selectors_money as selectors
from crm.sales.forms_money import DealLineForm, ProductForm
from crm.sales.models import Deal, DealLine
from crm.sales.services import lines as line_services
from crm.sales.services import products as product_services
from crm.sales.services.deals import deal_get, deal_get_writable
from crm.sales.views.panels import DealRowsPanel

LIST_LIMIT = 50
PICKER_LIMIT = 10


# --- the catalogue ----------------------------------------------------------------------------


@login_required
@require_GET
def product_list(request: SignedInRequest) -> HttpResponse:
    """The catalogue by name with a search over name and SKU; ``?format=json`` answers the
    rows as JSON (for pickers)."""
    params = request.GET
    query = params.get("q", "").strip()
    archived = params.get("archived") == "1"
    status, error = 200, ""
    try:
        page = selectors.product_page(
            user=request.user,
            query=query,
            archived=archived,
            cursor=params.get("cursor") or None,
            limit=LIST_LIMIT,
        )
    except errors.ValidationFailed as exc:
        page, status, error = Page([], None), 400, exc.message or str(exc)
    if params.get("format") == "json":
        return JsonResponse(
            {
                "items": [selectors.product_as_dict(p) for p in page.items],
                "next_cursor": page.next_cursor,
            },
            status=status,
        )
    kept = {key: value for key, value in params.dict().items() if key != "cursor" and value}
    context = {
        "page": page,
        "query": query,
        "archived": archived,
        "can_edit": product_services.product_can_edit(request.user),
        "next_url": f"?{urlencode({**kept, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else "",
        "first_url": f"?{urlencode(kept)}" if params.get("cursor") else "",
        "error": error,
    }
    return render(request, "sales/products/product_list.html", context, status=status)


def _product_form_page(
    request: SignedInRequest, form: ProductForm, product: Any, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "sales/products/product_form.html",
        {"form": form, "product": product},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def product_create(request: SignedInRequest) -> HttpResponse:
    product_services.product_check_editor(actor=request.user)
    if request.method != "POST":
        return _product_form_page(request, ProductForm(), None)
    form = ProductForm(request.POST)
    return form_post(
        form,
        lambda: product_services.product_create(actor=request.user, **form.service_arguments()),
        success=lambda product: saved(
            request, _("Product “%(name)s” added.") % {"name": product.name}, "sales:product_list"
        ),
        failure=lambda: _product_form_page(request, form, None, status=422),
    )


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def product_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    product_services.product_check_editor(actor=request.user)
    product = selectors.product_get(user=request.user, pk=pk)
    if request.method != "POST":
        return _product_form_page(request, ProductForm(instance=product), product)
    form = ProductForm(request.POST, instance=product)
    return form_post(
        form,
        lambda: product_services.product_update(
            actor=request.user, product=product, **form.service_arguments()
        ),
        success=lambda _product: saved(request, _("Changes saved."), "sales:product_list"),
        failure=lambda: _product_form_page(request, form, product, status=422),
    )


@login_required
@require_POST
@domain_errors
def product_archive(request: SignedInRequest, pk: int) -> HttpResponse:
    """Archive a product (``action=restore`` brings it back)."""
    product_services.product_check_editor(actor=request.user)
    product = selectors.product_get(user=request.user, pk=pk)
    if request.POST.get("action") == "restore":
        product_services.product_restore(actor=request.user, product=product)
        messages.success(request, _("Product “%(name)s” restored.") % {"name": product.name})
        return redirect(f"{reverse('sales:product_list')}?archived=1")
    product_services.product_archive(actor=request.user, product=product)
    messages.success(request, _("Product “%(name)s” archived.") % {"name": product.name})
    return redirect("sales:product_list")


# --- the lines panel of a deal ----------------------------------------------------------------


def deal_card_url(deal: Deal) -> str:
    return reverse("sales:deal_detail", args=[deal.pk])


def money_changed_header(response: HttpResponse, deal: Deal) -> HttpResponse:
    """Tell the page (``HX-Trigger: dealMoneyChanged``) that the deal's totals changed, so
    the card can refresh its amount."""
    response["HX-Trigger"] = json.dumps(
        {
            "dealMoneyChanged": {
                "deal_id": deal.pk,
                "amount": None if deal.amount is None else str(deal.amount),
            }
        }
    )
    return response


def render_lines(
    request: SignedInRequest,
    deal: Deal,
    *,
    status: int = 200,
    line_form: DealLineForm | None = None,
    edit_form: DealLineForm | None = None,
    editing_line_id: int | None = None,
    picker_query: str = "",
    picker_results: list[Any] | None = None,
    with_payments: bool = False,
) -> HttpResponse:
    """The lines panel (HTMX) or a plain page with it; ``with_payments`` adds the payments
    panel out of band (its due amount follows the lines)."""
    context = {
        "deal": deal,
        "money": selectors.deal_money(deal, user=request.user),
        "line_form": line_form,
        "edit_form": edit_form,
        "editing_line_id": editing_line_id,
        "picker_query": picker_query,
        "picker_results": picker_results,
        "card_url": deal_card_url(deal),
    }
    if not request.htmx:
        return render(request, "sales/products/deal_lines_page.html", context, status=status)
    html = render_to_string("sales/_lines_panel.html", context, request=request)
    if with_payments:
        html += render_to_string(
            "sales/_payments_panel.html", {**context, "oob": True}, request=request
        )
    return HttpResponse(html, status=status)


def _line(deal: Deal, pk: int) -> DealLine:
    return selectors.deal_line_get(deal=deal, pk=pk)


def _after_change(request: SignedInRequest, deal: Deal) -> HttpResponse:
    if not request.htmx:
        return redirect(deal_card_url(deal))
    return money_changed_header(render_lines(request, deal, with_payments=True), deal)


@login_required
@require_GET
@domain_errors
def deal_lines(request: SignedInRequest, deal_pk: int) -> HttpResponse:
    """The lines panel: ``?edit=<line>`` opens a line for editing, ``?q=`` searches the
    catalogue, ``?pick=<product>`` fills the add form from a product."""
    deal = deal_get(actor=request.user, pk=deal_pk)
    editing = request.GET.get("edit", "")
    editing_line_id = None
    edit_form = None
    if editing.isdigit() and len(editing) < 19:
        line = _line(deal, int(editing))
        editing_line_id = line.pk
        edit_form = LINES.edit_form(line)
    line_form = None
    pick = request.GET.get("pick", "")
    if pick.isdigit() and len(pick) < 19:
        product = selectors.product_get(user=request.user, pk=int(pick))
        line_form = DealLineForm(
            initial={
                "product": product.pk,
                "name": product.name,
                "quantity": "1",
                "unit": product.unit,
                "price": product.price if product.currency == deal.currency else "",
                "discount_percent": "0",
                "vat_rate": product.vat_rate,
            }
        )
    query = request.GET.get("q", "").strip()
    results = selectors.product_suggestions(user=request.user, query=query) if query else None
    return render_lines(
        request,
        deal,
        line_form=line_form,
        edit_form=edit_form,
        editing_line_id=editing_line_id,
        picker_query=query,
        picker_results=results,
    )


def _line_initial(line: DealLine) -> dict[str, Any]:
    return {
        "name": line.name,
        "quantity": format(line.quantity.normalize(), "f"),
        "unit": line.unit,
        "price": line.price,
        "discount_percent": format(line.discount_percent.normalize(), "f"),
        "vat_rate": line.vat_rate,
    }


@login_required
@require_GET
@domain_errors
def deal_line_picker(request: SignedInRequest, deal_pk: int) -> HttpResponse:
    """Typeahead for the add form: products matching ``?q=`` (or ``?name=``, the add
    form's input) as a list of choices (HTML fragment; ``?format=json`` answers JSON)."""
    deal = deal_get(actor=request.user, pk=deal_pk)
    query = (request.GET.get("q") or request.GET.get("name") or "").strip()
    products = selectors.product_suggestions(user=request.user, query=query, limit=PICKER_LIMIT)
    if request.GET.get("format") == "json":
        return JsonResponse({"items": [selectors.product_as_dict(p) for p in products]})
    if not request.htmx:
        return render_lines(request, deal, picker_query=query, picker_results=products)
    return render(
        request,
        "sales/products/_picker_results.html",
        {"deal": deal, "picker_results": products, "picker_query": query},
    )


LINES: DealRowsPanel[DealLine, DealLineForm] = DealRowsPanel(
    render=render_lines,
    after_change=_after_change,
    get_row=_line,
    form_class=DealLineForm,
    initial=_line_initial,
    add=line_services.deal_line_add,
    update=line_services.deal_line_update,
    row_name="line",
    add_form_name="line_form",
    editing_name="editing_line_id",
)


@login_required
@require_POST
@domain_errors
def deal_line_add(request: SignedInRequest, deal_pk: int) -> HttpResponse:
    return LINES.add_view(request, deal_pk)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def deal_line_edit(request: SignedInRequest, deal_pk: int, pk: int) -> HttpResponse:
    """GET opens the line for editing in the panel; POST saves it."""
    return LINES.edit_view(request, deal_pk, pk)


@login_required
@require_POST
@domain_errors
def deal_line_remove(request: SignedInRequest, deal_pk: int, pk: int) -> HttpResponse:
    deal = deal_get_writable(actor=request.user, pk=deal_pk)
    deal = line_services.deal_line_remove(actor=request.user, line=_line(deal, pk))
    return _after_change(request, deal)


@login_required
@require_POST
@domain_errors
def deal_lines_reorder(request: SignedInRequest, deal_pk: int) -> HttpResponse:
    """Save the order of the lines (``line`` repeated, in the new order), e.g. after a
    drag and drop or the up/down buttons."""
    deal = deal_get_writable(actor=request.user, pk=deal_pk)
    raw = request.POST.getlist("line")
    line_ids = [int(value) for value in raw if value.isdigit() and len(value) < 19]
    if len(line_ids) != len(raw):
        return render_lines(request, deal, status=422)
    try:
        line_services.deal_lines_reorder(actor=request.user, deal=deal, line_ids=line_ids)
    except errors.ValidationFailed:
        return render_lines(request, deal, status=422)
    if not request.htmx:
        return redirect(deal_card_url(deal))
    return render_lines(request, deal)


urlpatterns: list[URLPattern] = [
    path("products/", product_list, name="product_list"),
    path("products/new/", product_create, name="product_create"),
    path("products/<int:pk>/edit/", product_edit, name="product_edit"),
    path("products/<int:pk>/archive/", product_archive, name="product_archive"),
    path("deals/<int:deal_pk>/lines/", deal_lines, name="deal_lines"),
    path("deals/<int:deal_pk>/lines/picker/", deal_line_picker, name="deal_line_picker"),
    path("deals/<int:deal_pk>/lines/add/", deal_line_add, name="deal_line_add"),
    path("deals/<int:deal_pk>/lines/reorder/", deal_lines_reorder, name="deal_lines_reorder"),
    path("deals/<int:deal_pk>/lines/<int:pk>/edit/", deal_line_edit, name="deal_line_edit"),
    path("deals/<int:deal_pk>/lines/<int:pk>/remove/", deal_line_remove, name="deal_line_remove"),
]
