"""Every kind of customer is configured in every layer: a kind added to ``KINDS`` without
its pages, endpoints or template fragments fails here rather than on a user's screen."""

from __future__ import annotations

import pytest
from django.template.loader import get_template
from django.urls import reverse

from crm.customers.api import COMPANY_ENDPOINTS, CONTACT_ENDPOINTS
from crm.customers.kinds import KINDS, kind_of
from crm.customers.models import Company, Contact
from crm.customers.views.customer_pages import fragments_of
from crm.customers.views.kinds import PAGES


def test_every_kind_has_its_pages_and_endpoints():
    assert [pages.kind for pages in PAGES] == list(KINDS.values())
    assert [endpoints.kind for endpoints in (CONTACT_ENDPOINTS, COMPANY_ENDPOINTS)] == list(
        KINDS.values()
    )


@pytest.mark.parametrize("pages", PAGES, ids=lambda pages: pages.entity)
def test_every_fragment_of_a_kind_exists(pages):
    for template in pages.fragments.values():
        get_template(template)


@pytest.mark.parametrize("pages", PAGES, ids=lambda pages: pages.entity)
def test_every_page_of_a_kind_has_its_url_name(pages):
    for page in ("list", "create", "duplicate_check", "export"):
        assert reverse(f"customers:{pages.entity}_{page}")
    for page in ("detail", "edit", "share"):
        assert reverse(f"customers:{pages.entity}_{page}", args=[1])


def test_a_fragment_slot_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="card_bottom"):
        fragments_of("contact", "card_bottom")


def test_a_record_knows_its_kind():
    assert kind_of(Contact(first_name="Иван")).model is Contact
    assert kind_of(Company(legal_name="Ромашка")).model is Company
