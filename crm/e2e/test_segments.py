"""Segments in a real browser: build one and watch the live count follow the filters, on a
desktop (Russian and English) and on a phone; the consent panel of the contact card; the
public unsubscribe page."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from crm.customers.models import Contact, ContactPoint
from crm.customers.tests.factories import make_contact
from crm.e2e.conftest import sign_in
from crm.mailings.models import Segment
from crm.mailings.unsubscribe import unsubscribe_url

if TYPE_CHECKING:
    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _base(org: Org) -> list[Contact]:
    return [
        make_contact(org.manager, last_name="Вип", tags=["VIP"], emails=["vip@example.com"]),
        make_contact(org.manager, last_name="Вип-без-почты", tags=["VIP"]),
        make_contact(org.manager, last_name="Сайт", source="website", emails=["site@example.com"]),
        make_contact(org.colleague, last_name="Чужой", tags=["VIP"], emails=["other@example.com"]),
    ]


def _figures(page: ShotPage) -> tuple[str, str]:
    return (
        page.locator("#segment-recipients").inner_text(),
        page.locator("#segment-total").inner_text(),
    )


def _build(page: ShotPage, org: Org, password: str, *, language: str) -> None:
    org.manager.language = language
    org.manager.save(update_fields=["language"])
    _base(org)
    sign_in(page, "manager", password)
    page.goto("/mailings/segments/")
    page.shots(f"list-empty-{language}")
    page.click("a[href='/mailings/segments/new/']")
    page.locator("#segment-recipients").wait_for()
    # The manager sees his three contacts, two of them with an e-mail.
    assert _figures(page) == ("2", "3")
    page.fill("input[name=tags]", "VIP")
    expect(page.locator("#segment-total")).to_have_text("2")
    assert _figures(page) == ("1", "2")
    page.select_option("select[name=has_email]", "no")
    expect(page.locator("#segment-total")).to_have_text("1")
    assert _figures(page) == ("0", "1")
    page.select_option("select[name=has_email]", "yes")
    expect(page.locator("#segment-recipients")).to_have_text("1")
    assert "vip@example.com" in page.locator("#segment-recipient-list").inner_text()
    page.fill("input[name=name]", "VIP с почтой")
    page.shots(f"editor-{language}")
    page.click("#segment-form button[type=submit]")
    page.wait_for_url(re.compile(r"/mailings/segments/\d+/$"))
    page.locator(".alert-success").wait_for()
    segment = Segment.objects.get()
    assert segment.spec == {"tags": ["VIP"], "has_email": True}
    page.goto("/mailings/segments/")
    page.get_by_text("VIP с почтой").wait_for()
    page.shots(f"list-{language}")


def test_build_a_segment_and_watch_the_count(page: ShotPage, org: Org, password: str) -> None:
    _build(page, org, password, language="ru")


def test_build_a_segment_in_english(page: ShotPage, org: Org, password: str) -> None:
    _build(page, org, password, language="en")


def test_build_a_segment_on_a_phone(phone_page: ShotPage, org: Org, password: str) -> None:
    _build(phone_page, org, password, language="ru")


def test_consent_on_the_card(page: ShotPage, org: Org, password: str) -> None:
    contact = make_contact(org.manager, last_name="Согласный", emails=["yes@example.com"])
    sign_in(page, "manager", password)
    page.goto(f"/customers/contacts/{contact.pk}/")
    panel = page.locator("#consent-panel")
    panel.get_by_text("Не получено").wait_for()
    panel.locator("summary").click()
    panel.locator("input[name=consent_given]").check()
    panel.locator("select[name=consent_source]").select_option("form")
    panel.locator("input[name=unsubscribed]").check()
    # No screenshot before the swap: Playwright's screenshot marks inputs with style="",
    # which HTMX would copy onto the new inputs of the same id (a CSP violation of the test's
    # own making).
    panel.locator("button[type=submit]").click()
    page.locator("#consent-panel .alert-success").wait_for()
    page.locator("#consent-panel summary").click()
    page.shots("consent-saved")
    contact.refresh_from_db()
    assert contact.consent_source == "form" and contact.consent_at is not None
    assert ContactPoint.objects.get(contact=contact).unsubscribed_at is not None


def test_the_public_unsubscribe_page(phone_page: ShotPage, org: Org) -> None:
    contact = make_contact(org.manager, last_name="Уходящий", emails=["bye@example.com"])
    point = ContactPoint.objects.get(contact=contact)
    phone_page.goto(urlparse(unsubscribe_url(point)).path)
    phone_page.shots("confirm")
    phone_page.get_by_role("button", name="Отписаться").click()
    phone_page.get_by_text("Вы отписаны").wait_for()
    phone_page.shots("done")
    point.refresh_from_db()
    assert point.unsubscribed_at is not None
