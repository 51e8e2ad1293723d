"""The main customer-base flow in a real browser: sign in, create a contact, hit the
duplicate warning, save anyway, merge the two, undo, add a note, search by phone."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from crm.customers.models import Contact
from crm.customers.tests.factories import make_contact
from crm.e2e.conftest import sign_in

if TYPE_CHECKING:
    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_create_duplicate_merge_note_and_search(page: ShotPage, org: Org, password: str) -> None:
    existing = make_contact(
        org.manager, last_name="Петров", first_name="Иван", phones=["+79161234567"]
    )
    sign_in(page, "manager", password)

    # Create a contact that is the same person written in Latin with another phone format.
    page.goto("/customers/contacts/new/")
    page.fill("input[name=last_name]", "Petrov")
    page.fill("input[name=first_name]", "Ivan")
    page.fill("input[name=phone_value]", "8 916 123-45-67")
    page.locator("input[name=phone_value]").dispatch_event("change")
    warning = page.locator("#duplicate-panel")
    warning.get_by_role("link", name=re.compile("Петров Иван")).wait_for()
    page.shots("live-duplicate-warning")

    page.click("#customer-form button[type=submit]")
    page.locator("input[name=allow_duplicate]").wait_for()
    page.shots("save-refused-409")
    page.check("input[name=allow_duplicate]")
    page.click("#customer-form button[type=submit]")
    page.wait_for_url(re.compile(r"/customers/contacts/\d+/$"))
    created = Contact.objects.exclude(pk=existing.pk).get()
    assert created.last_name == "Petrov"
    page.shots("created-anyway")

    # Merge the new record into the existing one, keeping the Cyrillic name.
    page.goto(f"/customers/merge/contact/{existing.pk}/{created.pk}/")
    page.shots("merge-form")
    page.click(
        "form button[type=submit]:has-text('Merge'), form button[type=submit]:has-text('Объединить')"
    )
    page.wait_for_url(f"**/customers/contacts/{existing.pk}/")
    assert Contact.objects.get(pk=created.pk).merged_into_id == existing.pk
    page.shots("merged")

    # Undo from the message, then merge again is possible; here we just check undo works.
    page.locator(".alert a.alert-link").click()
    page.click("form button.btn-danger")
    page.wait_for_load_state()
    assert Contact.objects.get(pk=created.pk).merged_into_id is None
    page.shots("merge-undone")

    # Add a note to the existing contact's timeline.
    page.goto(f"/customers/contacts/{existing.pk}/")
    page.fill("textarea[name=body]", "Договорились о встрече в четверг <b>жирно</b>")
    page.click("button:has-text('Add to timeline'), button:has-text('Добавить')")
    page.locator(".timeline").get_by_text(
        "Договорились о встрече в четверг <b>жирно</b>"
    ).wait_for()
    page.shots("note-added")

    # Search by the last digits of the phone from the navbar box.
    page.fill("nav input[name=q]", "4567")
    suggestions = page.locator("#search-suggestions")
    suggestions.get_by_text("Петров Иван").wait_for()
    page.shots("search-by-phone")


def test_contact_list_on_a_phone(phone_page: ShotPage, org: Org, password: str) -> None:
    make_contact(org.manager, last_name="Смирнова", first_name="Анна", phones=["+79031112233"])
    sign_in(phone_page, "manager", password)
    phone_page.goto("/customers/contacts/")
    phone_page.get_by_text("Смирнова Анна").wait_for()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the list must not scroll sideways on a phone"
    phone_page.shots("contact-list-phone")
