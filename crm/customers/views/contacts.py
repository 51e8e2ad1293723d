"""Contact pages: list, card, create/edit form, live duplicate check and sharing."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_http_methods, require_POST

from crm.accounts.http import SignedInRequest
from crm.activities.selectors import TIMELINE_PAGE_SIZE
from crm.customers import selectors, services
from crm.customers.choices import ClientType
from crm.customers.forms import ContactForm, contact_check_input
from crm.customers.models import Contact
from crm.customers.views.customer_pages import (
    Pages,
    create_page,
    detail_page,
    duplicate_check,
    edit_page,
    list_page,
    share_page,
)

PAGES: Pages[Contact] = Pages(
    entity="contact",
    form_class=ContactForm,
    get=selectors.contact_get,
    card=selectors.contact_card,
    table=selectors.contact_table,
    timeline=lambda record, _user: selectors.contact_timeline(
        contact=record, limit=TIMELINE_PAGE_SIZE
    ),
    create=services.contact_create,
    update=lambda *, record, **kwargs: services.contact_update(contact=record, **kwargs),
    duplicates_find=services.contact_duplicates_find,
    check_input=contact_check_input,
    type_choices=ClientType.choices,
)


@login_required
def contact_list(request: SignedInRequest) -> HttpResponse:
    return list_page(request, PAGES)


@login_required
def contact_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    return detail_page(request, PAGES, pk)


@login_required
@require_http_methods(["GET", "POST"])
def contact_create(request: SignedInRequest) -> HttpResponse:
    """The new-contact form; ``?company=<id>`` preselects a place of work."""
    company_id = request.GET.get("company", "")
    if company_id.isdigit():
        return create_page(
            request,
            PAGES,
            initial={"client_type": ClientType.BUSINESS},
            initial_rows={"employments": [{"company_id": company_id, "position": ""}]},
        )
    return create_page(request, PAGES, initial={"client_type": ClientType.PRIVATE})


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    return edit_page(request, PAGES, pk)


@login_required
@require_POST
def contact_duplicate_check(request: SignedInRequest) -> HttpResponse:
    return duplicate_check(request, PAGES)


@login_required
@require_http_methods(["GET", "POST"])
def contact_share(request: SignedInRequest, pk: int) -> HttpResponse:
    return share_page(request, PAGES, pk)
