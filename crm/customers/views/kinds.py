"""The pages of each kind of customer: what the shared views and templates need to know.

A third kind of customer would be a third ``Pages`` here (with its fragments under
``templates/customers/partials/``) and its paths in ``urls.py``; the views are shared.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from crm.accounts.http import SignedInRequest
from crm.customers import selectors
from crm.customers.choices import ClientType
from crm.customers.forms import CompanyForm, ContactForm, company_check_input, contact_check_input
from crm.customers.kinds import COMPANY, CONTACT
from crm.customers.models import Company, Contact
from crm.customers.views.customer_pages import Labels, Pages, fragments_of


def _new_contact(request: SignedInRequest) -> dict[str, Any]:
    """``?company=<id>`` preselects a place of work (and makes the contact a business one)."""
    company_id = request.GET.get("company", "")
    if company_id.isdigit():
        return {
            "initial": {"client_type": ClientType.BUSINESS},
            "initial_rows": {"employments": [{"company_id": company_id, "position": ""}]},
        }
    return {"initial": {"client_type": ClientType.PRIVATE}}


CONTACT_PAGES: Pages[Contact] = Pages(
    kind=CONTACT,
    path="contacts",
    form_class=ContactForm,
    table=selectors.contact_table,
    check_input=contact_check_input,
    type_choices=ClientType.choices,
    labels=Labels(
        new=_("New contact"),
        edit=_("Edit contact"),
        empty=_("No contacts yet."),
        empty_filtered=_("No contacts match the filters."),
    ),
    fragments=fragments_of("contact", "card_details", "form_links", "form_text"),
    new_form=_new_contact,
)

COMPANY_PAGES: Pages[Company] = Pages(
    kind=COMPANY,
    path="companies",
    form_class=CompanyForm,
    table=selectors.company_table,
    check_input=company_check_input,
    type_choices=[
        (ClientType.BUSINESS, ClientType.BUSINESS.label),
        (ClientType.GOVERNMENT, ClientType.GOVERNMENT.label),
    ],
    labels=Labels(
        new=_("New company"),
        edit=_("Edit company"),
        empty=_("No companies yet."),
        empty_filtered=_("No companies match the filters."),
    ),
    fragments=fragments_of("company", "card_top"),
    new_form=lambda _request: {"initial": {"kind": ClientType.BUSINESS, "legal_form": "ООО"}},
)

PAGES: list[Pages[Contact] | Pages[Company]] = [CONTACT_PAGES, COMPANY_PAGES]
