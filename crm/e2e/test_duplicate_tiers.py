"""The duplicates page on a phone: likely and possible pairs apart, reasons in words, a
bulk merge of the selected likely pairs and its report."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from crm.customers.choices import Entity
from crm.customers.models import Contact
from crm.customers.services import duplicates_scan
from crm.customers.tests.factories import make_contact
from crm.e2e.conftest import sign_in

if TYPE_CHECKING:
    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_likely_pairs_are_reviewed_and_merged_in_bulk_on_a_phone(
    phone_page: ShotPage, org: Org, password: str
) -> None:
    page = phone_page
    petr = make_contact(
        org.manager,
        last_name="Петров",
        first_name="Александр",
        middle_name="Иванович",
        birthday="1980-05-01",
        phones=["+79161234567"],
        addresses=["Москва, ул. Ленина, д. 5, кв. 12"],
    )
    sasha = make_contact(org.manager, last_name="Petrov", first_name="Sasha", birthday="1980-05-01")
    make_contact(
        org.manager,
        last_name="Петрова",
        first_name="Анна",
        birthday="1983-07-09",
        phones=["+7 916 123-45-67"],
        addresses=["г. Москва, Ленина 5-12"],
    )
    kate = make_contact(org.manager, last_name="Смирнова", first_name="Екатерина")
    katya = make_contact(org.manager, last_name="Smirnova", first_name="Katya")
    duplicates_scan(entity=Entity.CONTACT)
    sign_in(page, "manager", password)

    page.goto("/customers/duplicates/")
    page.get_by_text("имя Александр ≈ Sasha").wait_for()
    page.shots("likely-tier")
    page.goto("/customers/duplicates/?entity=contact&tier=possible")
    page.get_by_text("разные имена").first.wait_for()
    page.shots("possible-tier")

    page.goto("/customers/duplicates/")
    for checkbox in page.locator("input[name=pair]").all():
        checkbox.check()
    page.click("#bulk-merge button[type=submit]")
    page.get_by_text("Объединение дублей").wait_for()
    page.shots("merge-report")
    assert Contact.objects.get(pk=sasha.pk).merged_into_id == petr.pk
    assert Contact.objects.get(pk=katya.pk).merged_into_id == kate.pk
