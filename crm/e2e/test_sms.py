"""Writing an SMS from a contact card in a real browser: the counter follows the text (70
Cyrillic characters a part), «Отправить» queues it, the send job hands it to the local
SMS.ru stand-in, the stand-in's delivery callback reaches the CRM over HTTP and the card's
timeline shows the SMS delivered. The page is also shot in English at phone width, and
without a configured provider."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from crm.correspondence.models import SmsMessage
from crm.correspondence.tests import smsru_standin
from crm.customers.tests.factories import make_contact
from crm.e2e.conftest import sign_in

if TYPE_CHECKING:
    from pytest_django.live_server_helper import LiveServer

    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def smsru(settings: Any) -> Iterator[smsru_standin.StandIn]:
    state, server = smsru_standin.start()
    smsru_standin.configure(settings, state)
    yield state
    server.shutdown()
    server.server_close()


def _contact(org: Org, language: str):  # type: ignore[no-untyped-def]
    org.manager.language = language
    org.manager.save(update_fields=["language"])
    return make_contact(
        org.manager, first_name="Анна", last_name="Смирнова", phones=[{"value": "+79123456789"}]
    )


def test_an_sms_from_a_contact_card_is_delivered_on_the_timeline(
    page: ShotPage, org: Org, password: str, smsru: smsru_standin.StandIn, live_server: LiveServer
) -> None:
    contact = _contact(org, "ru")
    sign_in(page, "manager", password)
    page.goto(f"/customers/contacts/{contact.pk}/")
    page.locator("#write-sms").click()
    page.wait_for_url(f"**/mail/sms/contact/{contact.pk}/")
    assert page.locator("#phone-1").is_checked()
    page.fill("#id_text", "я" * 70)
    assert page.locator("#sms-length").get_attribute("data-parts") == "1"
    page.fill("#id_text", "я" * 71)
    assert page.locator("#sms-length").get_attribute("data-parts") == "2"
    page.fill("#id_text", "Здравствуйте, {{ client.first_name }}! Счёт отправлен на почту.")
    assert "UCS-2" in page.locator("#sms-length").inner_text()
    page.shots("compose")
    page.locator("#send-sms").click()
    page.wait_for_url(f"**/customers/contacts/{contact.pk}/")

    entry = page.locator("li.kind-sms").first
    assert "Здравствуйте, Анна! Счёт отправлен на почту." in entry.inner_text()
    assert entry.locator(".tl-delivery").get_attribute("data-delivery") == "sent"
    message = SmsMessage.objects.get()
    assert message.status == "sent" and [s["to"] for s in smsru.sent.values()] == ["79123456789"]
    status, answer = smsru_standin.callback(
        f"{live_server.url}/mail/sms/callback/cb-token/", [(message.provider_id, 103)]
    )
    assert (status, answer) == (200, "100")
    page.reload()
    entry = page.locator("li.kind-sms").first
    assert entry.locator(".tl-delivery").get_attribute("data-delivery") == "delivered"
    page.shots("timeline")


def test_the_sms_page_in_english_on_a_phone(
    phone_page: ShotPage,
    org: Org,
    password: str,
    smsru: smsru_standin.StandIn,
    settings: Any,
) -> None:
    contact = _contact(org, "en")
    sign_in(phone_page, "manager", password)
    phone_page.goto(f"/customers/contacts/{contact.pk}/")
    phone_page.locator("#write-sms").scroll_into_view_if_needed()
    assert phone_page.locator("#write-sms").is_visible()
    phone_page.goto(f"/mail/sms/contact/{contact.pk}/")
    phone_page.fill("#id_text", "Hello {{ client.first_name }}, your invoice is ready.")
    assert "GSM-7" in phone_page.locator("#sms-length").inner_text()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    phone_page.shots("compose-en-phone")
    phone_page.locator("#send-sms").click()
    phone_page.wait_for_url(f"**/customers/contacts/{contact.pk}/")
    phone_page.shots("card-en-phone")
    settings.CRM_SMS_PROVIDER = "none"
    phone_page.goto(f"/mail/sms/contact/{contact.pk}/")
    assert phone_page.locator("#sms-not-configured").is_visible()
    assert phone_page.locator("#send-sms").is_disabled()
    phone_page.shots("not-configured-en-phone")
