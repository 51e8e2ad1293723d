"""Writing an e-mail from a template on a deal card, in a real browser: the template is
loaded and previewed against the deal, «Отправить» queues it, the send job hands it to the
e-mail backend and the card's timeline shows it as sent. The pages of correspondence are
also shot in English at phone width."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from django.core import mail

from crm.correspondence.models import OutgoingEmail
from crm.correspondence.tests.builders import deal_with_client, template
from crm.e2e.conftest import sign_in
from crm.e2e.test_leads import make_pipeline

if TYPE_CHECKING:
    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _deal(org: Org, language: str):  # type: ignore[no-untyped-def]
    org.manager.language = language
    org.manager.save(update_fields=["language"])
    make_pipeline("Почтовая")
    return deal_with_client(org.manager, pipeline="Почтовая")


def test_an_email_from_a_template_on_a_deal_card_lands_on_the_timeline(
    page: ShotPage, org: Org, password: str
) -> None:
    deal = _deal(org, "ru")
    chosen = template(name="Счёт клиенту")
    sign_in(page, "manager", password)

    page.goto(f"/sales/deals/{deal.pk}/")
    page.shots("deal-card")
    page.locator("#write-email").click()
    page.wait_for_url(f"**/mail/write/deal/{deal.pk}/")
    page.select_option("#id_choose_template", str(chosen.pk))
    page.locator("#load-template").click()
    page.wait_for_url(f"**?template={chosen.pk}")
    assert page.locator("#preview-body").inner_text().startswith("Здравствуйте, Анна!")
    assert page.locator("#to-1").is_checked()
    page.fill("#id_body", page.input_value("#id_body") + "\nЖдём оплату.")
    page.locator("#preview-email").click()
    page.locator("#preview-body", has_text="Ждём оплату.").wait_for()
    page.shots("compose")
    page.locator("#send-email").click()
    page.wait_for_url(f"**/sales/deals/{deal.pk}/")

    entry = page.locator("li.kind-email").first
    assert "Счёт по сделке «Вентиляция склада»" in entry.inner_text()
    assert entry.locator(".tl-delivery").get_attribute("data-delivery") == "sent"
    assert "anna@client.ru" in entry.inner_text()
    page.shots("timeline")
    email = OutgoingEmail.objects.get()
    assert email.status == "sent" and "Ждём оплату." in email.body
    assert [message.to for message in mail.outbox] == [["anna@client.ru"]]
    for path, label in (
        ("/mail/templates/", "templates"),
        (f"/mail/templates/{chosen.pk}/", "template-form"),
        ("/mail/sender/", "sender"),
    ):
        page.goto(path)
        page.shots(label)


def test_the_mail_pages_in_english_on_a_phone(
    phone_page: ShotPage, org: Org, password: str
) -> None:
    deal = _deal(org, "en")
    chosen = template(name="Invoice", language="en", subject="Invoice for {{ deal.title }}",
                      body="Dear {{ client.first_name }},\n{{ deal.invoice_number }}")  # fmt: skip
    sign_in(phone_page, "manager", password)
    phone_page.goto(f"/sales/deals/{deal.pk}/")
    phone_page.locator("#write-email").scroll_into_view_if_needed()
    assert phone_page.locator("#write-email").is_visible()
    phone_page.shots("deal-card-en")
    phone_page.goto(f"/mail/write/deal/{deal.pk}/?template={chosen.pk}")
    assert phone_page.locator("#preview-missing").is_visible()
    assert "deal.invoice_number" in phone_page.locator("#preview-missing").inner_text()
    phone_page.shots("compose-en")
    phone_page.goto("/mail/templates/")
    assert phone_page.get_by_text("Invoice").first.is_visible()
    phone_page.shots("templates-en")
    phone_page.goto(f"/mail/templates/{chosen.pk}/")
    phone_page.shots("template-form-en")
    phone_page.goto("/mail/sender/")
    phone_page.shots("sender-en")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
