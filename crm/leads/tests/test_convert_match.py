"""Converting a lead whose person is already a contact: the contact is offered first, and no
second contact is made without an explicit choice (page, API and service)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import client_for
from crm.accounts.models import Team
from crm.api.tests.conftest import ApiClient, token_for
from crm.customers.models import Contact
from crm.customers.tests.factories import make_contact
from crm.leads.models import Lead, RoutingRule
from crm.leads.services import intake
from crm.leads.services.leads import ContactMatchFound, lead_convert
from crm.sales.models import Deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def routed(org):
    RoutingRule.objects.update(
        team=Team.objects.get(name="Москва"), strategy="fixed_user", fixed_user=org.manager
    )


@pytest.fixture
def petrov(org) -> Contact:
    """An existing contact, «Петров Пётр», the manager's, with another phone than the lead's."""
    return make_contact(org.manager, last_name="Петров", first_name="Пётр", phones=["+79120000099"])


def arrive(**payload) -> Lead:
    inbound, _ = intake.inbound_store(channel="web_form", payload=payload)
    lead = intake.inbound_process(inbound.pk)
    assert lead is not None
    return lead


def _web_form_lead() -> Lead:
    """«Пётр Петров» (first name first, as a web form gives it) with a new phone: no exact
    match, so the lead arrives without a contact."""
    lead = arrive(name="Пётр Петров", phone="+79120000011")
    assert lead.contact_id is None
    return lead


def _unchanged(lead: Lead, contacts: int) -> None:
    lead.refresh_from_db()
    assert lead.status != "converted" and lead.contact_id is None and lead.deal_id is None
    assert Contact.objects.count() == contacts and not Deal.objects.exists()


# --- the service ------------------------------------------------------------------------------


def test_conversion_without_a_choice_offers_the_matching_contact_and_changes_nothing(
    org, routed, petrov
):
    lead = _web_form_lead()

    with pytest.raises(ContactMatchFound) as offered:
        lead_convert(actor=org.manager, pk=lead.pk)

    assert [candidate.record_id for candidate in offered.value.candidates] == [petrov.pk]
    assert offered.value.payload["duplicates"][0]["id"] == petrov.pk
    _unchanged(lead, contacts=1)


def test_conversion_with_the_offered_contact_links_it_and_makes_no_second(org, routed, petrov):
    lead = _web_form_lead()

    lead_convert(actor=org.manager, pk=lead.pk, contact_id=petrov.pk)

    lead.refresh_from_db()
    assert lead.contact == petrov and lead.deal.contact == petrov
    assert Contact.objects.count() == 1


def test_create_new_makes_a_second_contact_with_the_name_split_right(org, routed, petrov):
    lead = _web_form_lead()

    lead_convert(actor=org.manager, pk=lead.pk, create_new=True)

    lead.refresh_from_db()
    assert lead.contact != petrov and Contact.objects.count() == 2
    assert (lead.contact.last_name, lead.contact.first_name) == ("Петров", "Пётр")


def test_a_contact_the_user_may_not_see_is_not_offered(org, routed):
    make_contact(org.outsider, last_name="Петров", first_name="Пётр")
    lead = _web_form_lead()

    lead_convert(actor=org.manager, pk=lead.pk)

    lead.refresh_from_db()
    assert lead.status == "converted" and Contact.objects.count() == 2


def test_a_lead_unlike_any_contact_converts_at_once(org, routed, petrov):
    lead = arrive(name="Анна Смирнова", phone="+79120000012")

    lead_convert(actor=org.manager, pk=lead.pk)

    lead.refresh_from_db()
    assert (lead.contact.last_name, lead.contact.first_name) == ("Смирнова", "Анна")


# --- the page ---------------------------------------------------------------------------------


def test_the_card_offers_the_matching_contact_first_as_the_default(org, routed, petrov):
    lead = _web_form_lead()

    page = client_for(org.manager).get(reverse("leads:lead_detail", args=[lead.pk]))

    html = page.content.decode()
    assert 'id="contact-candidates"' in html
    assert f'value="{petrov.pk}" checked' in html
    assert 'value="new">' in html  # "create a new contact anyway", not chosen
    assert 'text-bg-danger">вероятно · ' in html  # the tier, as on the duplicates page


def test_choosing_the_offered_contact_on_the_page_links_it(org, routed, petrov):
    lead = _web_form_lead()

    response = client_for(org.manager).post(
        reverse("leads:lead_convert", args=[lead.pk]),
        {"create_contact": "on", "contact_choice": str(petrov.pk)},
    )

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.contact == petrov and Contact.objects.count() == 1


def test_the_page_without_a_choice_answers_409_with_the_offer(org, routed, petrov):
    lead = _web_form_lead()

    response = client_for(org.manager).post(
        reverse("leads:lead_convert", args=[lead.pk]), {"create_contact": "on"}
    )

    assert response.status_code == 409
    assert 'id="contact-candidates"' in response.content.decode()
    _unchanged(lead, contacts=1)


def test_create_anyway_on_the_page_makes_a_new_contact(org, routed, petrov):
    lead = _web_form_lead()

    response = client_for(org.manager).post(
        reverse("leads:lead_convert", args=[lead.pk]),
        {"create_contact": "on", "contact_choice": "new"},
    )

    assert response.status_code == 302
    assert Contact.objects.count() == 2


def test_a_malformed_choice_is_422(org, routed, petrov):
    lead = _web_form_lead()

    response = client_for(org.manager).post(
        reverse("leads:lead_convert", args=[lead.pk]),
        {"create_contact": "on", "contact_choice": "x1"},
    )

    assert response.status_code == 422
    _unchanged(lead, contacts=1)


# --- the API ----------------------------------------------------------------------------------


def test_the_api_answers_409_with_the_candidates_then_obeys_the_choice(org, routed, petrov):
    lead = _web_form_lead()
    api = ApiClient(token_for(org.manager))

    offered = api.post(f"/leads/{lead.pk}/convert", {})
    assert offered.status_code == 409, offered.content
    assert [item["id"] for item in offered.json()["duplicates"]] == [petrov.pk]
    assert "contact_id" in offered.json()["errors"]
    _unchanged(lead, contacts=1)

    linked = api.post(f"/leads/{lead.pk}/convert", {"contact_id": petrov.pk})
    assert linked.status_code == 200, linked.content
    assert linked.json()["status"] == "converted"
    lead.refresh_from_db()
    assert lead.contact == petrov and Contact.objects.count() == 1


def test_the_api_creates_a_new_contact_when_asked(org, routed, petrov):
    lead = _web_form_lead()

    response = ApiClient(token_for(org.manager)).post(
        f"/leads/{lead.pk}/convert", {"create_new": True}
    )

    assert response.status_code == 200, response.content
    assert Contact.objects.count() == 2
