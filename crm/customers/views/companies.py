"""Company pages: list, card with its people, create/edit form, duplicate check, sharing."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_http_methods, require_POST

from crm.accounts.http import SignedInRequest
from crm.activities.selectors import TIMELINE_PAGE_SIZE
from crm.customers import selectors, services
from crm.customers.choices import ClientType
from crm.customers.forms import CompanyForm, company_check_input
from crm.customers.models import Company
from crm.customers.views.customer_pages import (
    Pages,
    create_page,
    detail_page,
    duplicate_check,
    edit_page,
    list_page,
    share_page,
)

PAGES: Pages[Company] = Pages(
    entity="company",
    form_class=CompanyForm,
    get=selectors.company_get,
    card=selectors.company_card,
    table=selectors.company_table,
    timeline=lambda record, user: selectors.company_timeline(
        company=record, user=user, limit=TIMELINE_PAGE_SIZE
    ),
    create=services.company_create,
    update=lambda *, record, **kwargs: services.company_update(company=record, **kwargs),
    duplicates_find=services.company_duplicates_find,
    check_input=company_check_input,
    type_choices=[
        (ClientType.BUSINESS, ClientType.BUSINESS.label),
        (ClientType.GOVERNMENT, ClientType.GOVERNMENT.label),
    ],
)


@login_required
def company_list(request: SignedInRequest) -> HttpResponse:
    return list_page(request, PAGES)


@login_required
def company_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    return detail_page(request, PAGES, pk)


@login_required
@require_http_methods(["GET", "POST"])
def company_create(request: SignedInRequest) -> HttpResponse:
    return create_page(request, PAGES, initial={"kind": ClientType.BUSINESS, "legal_form": "ООО"})


@login_required
@require_http_methods(["GET", "POST"])
def company_edit(request: SignedInRequest, pk: int) -> HttpResponse:
    return edit_page(request, PAGES, pk)


@login_required
@require_POST
def company_duplicate_check(request: SignedInRequest) -> HttpResponse:
    return duplicate_check(request, PAGES)


@login_required
@require_http_methods(["GET", "POST"])
def company_share(request: SignedInRequest, pk: int) -> HttpResponse:
    return share_page(request, PAGES, pk)
