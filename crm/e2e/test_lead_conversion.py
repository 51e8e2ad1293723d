"""Converting a lead whose person is already a contact, in a real browser: the card offers
the contact first (checked), «Конвертировать» links it, no second contact is made; on a
phone, choosing «create a new contact anyway» makes one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from crm.customers.models import Contact
from crm.customers.tests.factories import make_contact
from crm.e2e.conftest import sign_in
from crm.e2e.test_leads import default_rule, make_pipeline
from crm.leads.models import Lead
from crm.leads.services import intake

if TYPE_CHECKING:
    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _lead_of_a_known_person(org: Org) -> tuple[Lead, Contact]:
    """The manager's contact «Петров Пётр» and a web-form lead «Пётр Петров» with another
    phone, routed to the manager (so nothing links them at intake)."""
    rule = default_rule(make_pipeline("Розница"))
    rule.strategy, rule.fixed_user = "fixed_user", org.manager
    rule.save()
    org.manager.language = "ru"
    org.manager.save(update_fields=["language"])
    known = make_contact(
        org.manager, last_name="Петров", first_name="Пётр", phones=["+79120000099"]
    )
    inbound, _created = intake.inbound_store(
        channel="web_form", payload={"name": "Пётр Петров", "phone": "+79120000011"}
    )
    lead = intake.inbound_process(inbound.pk)
    assert lead is not None and lead.contact_id is None
    return lead, known


def test_the_known_contact_is_offered_first_and_linked(
    page: ShotPage, org: Org, password: str
) -> None:
    lead, known = _lead_of_a_known_person(org)
    sign_in(page, "manager", password)

    page.goto(f"/leads/{lead.pk}/")
    offer = page.locator("#contact-candidates")
    assert offer.get_by_text("Возможно, этот человек уже есть в базе").is_visible()
    assert page.locator(f"#contact-choice-{known.pk}").is_checked()
    assert not page.locator("#contact-choice-new").is_checked()
    page.shots("offer")
    page.get_by_role("button", name="Конвертировать").click()
    page.wait_for_url("**/deals/**")

    lead.refresh_from_db()
    assert lead.contact == known and Contact.objects.count() == 1
    page.shots("deal")


def test_a_new_contact_anyway_on_a_phone(phone_page: ShotPage, org: Org, password: str) -> None:
    lead, known = _lead_of_a_known_person(org)
    sign_in(phone_page, "manager", password)

    phone_page.goto(f"/leads/{lead.pk}/")
    phone_page.locator("#contact-choice-new").check()
    phone_page.shots("new-anyway")
    phone_page.get_by_role("button", name="Конвертировать").click()
    phone_page.wait_for_url("**/deals/**")

    lead.refresh_from_db()
    made = lead.contact
    assert made is not None and made != known and Contact.objects.count() == 2
    assert (made.last_name, made.first_name) == ("Петров", "Пётр")
