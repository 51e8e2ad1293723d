"""Phones and e-mails in an inbound e-mail's own text (its signature) count for matching the
sender and go onto the contact created from the lead; quoted text, the sender's own
address, our mailboxes and colleagues' addresses do not."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import client_for
from crm.accounts.models import Team
from crm.api.tests.conftest import ApiClient, token_for
from crm.customers.choices import ContactPointKind
from crm.customers.models import Contact
from crm.customers.tests.factories import make_contact
from crm.leads.models import Lead, RoutingRule
from crm.leads.services import intake
from crm.leads.services.body_points import MAX_EMAILS, MAX_PHONES, body_points, phones_in
from crm.leads.services.leads import lead_convert
from crm.leads.tests.test_email import message, post

pytestmark = pytest.mark.django_db

PHONE, EMAIL = ContactPointKind.PHONE, ContactPointKind.EMAIL

SIGNED = """Добрый день! Нужна кухня на заказ, размеры во вложении.
ИНН 7707083893, р/с 40702810900000000001, БИК 044525225, заказ от 07.12.2026.

--
С уважением, Пётр Иванов
ООО «Вектор», снабжение
Тел.: +7 (912) 345-67-89, моб. 8 916 123 45 67
Офис: 8(495)123-45-67 доб. 12
Почта: Petr.Ivanov@Vector.ru, sales@example.ru

On Mon, 7 Dec 2026 at 10:00, Sales <sales@example.ru> wrote:
> Ждём ваш заказ, звоните +7 999 111-22-33
> sales-boss@example.ru
"""


@pytest.fixture
def endpoint(settings, org):
    settings.CRM_LEADS_INBOUND_EMAIL_SECRET = "mail-hook-secret"
    settings.CRM_LEADS_IMAP_USER = "sales@example.ru"
    RoutingRule.objects.update(
        team=Team.objects.get(name="Москва"), strategy="fixed_user", fixed_user=org.manager
    )


def _arrive(mail, capture) -> Lead:
    with capture(execute=True):
        assert post(mail).status_code == 202
    return Lead.objects.get()


# --- reading the text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("+7 (912) 345-67-89", "+79123456789"),
        ("8 912 345 67 89", "+79123456789"),
        ("8(495)123-45-67", "+74951234567"),
        ("+7-912-345-67-89", "+79123456789"),
        ("89123456789", "+79123456789"),
        ("+79123456789", "+79123456789"),
        ("(912) 345-67-89", "+79123456789"),
    ],
)
def test_russian_phone_formats_are_read(written, e164):
    assert phones_in(f"Звоните: {written}, спасибо") == [e164]


@pytest.mark.parametrize(
    "text",
    [
        "ИНН 7707083893",  # ten bare digits: an ИНН, not a phone
        "ИНН 500100732259",  # twelve bare digits
        "р/с 40702810900000000001",
        "БИК 044525225",
        "заказ от 07.12.2026",
        "артикул 12-34",
    ],
)
def test_numbers_that_are_not_phones_are_not_read(text):
    assert phones_in(text) == []


def test_only_the_senders_own_text_is_read_and_the_count_is_bounded():
    points = body_points(SIGNED, excluded={"sales@example.ru"})

    assert points == [
        (PHONE, "+79123456789"),
        (PHONE, "+79161234567"),
        (PHONE, "+74951234567"),
        (EMAIL, "petr.ivanov@vector.ru"),
    ]
    many = "\n".join(f"+7 912 000-00-{index:02d}, a{index}@x.ru" for index in range(10))
    counted = body_points(many)
    assert len([p for p in counted if p[0] == PHONE]) == MAX_PHONES
    assert len([p for p in counted if p[0] == EMAIL]) == MAX_EMAILS


def test_quoted_lines_are_skipped_without_a_reply_header():
    assert body_points("Мой номер ниже.\n> +7 999 111-22-33\n8 916 123 45 67") == [
        (PHONE, "+79161234567")
    ]


@pytest.mark.parametrize(
    "header",
    [
        "-----Original Message-----",
        "-----Исходное сообщение-----",
        "От: Отдел продаж <sales@example.ru>",
        "From: Sales <sales@example.ru>",
        "7 декабря 2026 г., в 10:00, Отдел продаж <sales@example.ru> написал(а):",
        "Пн, 7 дек. 2026 г. в 10:00, Sales <sales@example.ru>: пишет:",
    ],
)
def test_nothing_after_a_reply_or_forward_header_is_read(header):
    text = f"Мой телефон 8 916 123 45 67\n\n{header}\nЗвоните нам: +7 999 111-22-33"

    assert body_points(text) == [(PHONE, "+79161234567")]


# --- a message through the e-mail channel -----------------------------------------------------


def test_a_plain_message_from_a_new_address_is_matched_by_its_signature(
    org, endpoint, django_capture_on_commit_callbacks
):
    known = make_contact(
        org.manager, last_name="Иванов", first_name="Пётр", phones=["+79161234567"]
    )

    lead = _arrive(
        message(sender="Пётр Иванов <p.ivanov@gmail.com>", body=SIGNED),
        django_capture_on_commit_callbacks,
    )

    assert lead.contact == known and lead.kind == "repeat"
    assert any(
        "message's text" in reason or "в тексте письма" in reason
        for reason in lead.match["reasons"]
    )
    assert [value for _kind, value in lead.body_points] == [
        "+79123456789",
        "+79161234567",
        "+74951234567",
        "petr.ivanov@vector.ru",
    ]
    card = client_for(org.manager).get(reverse("leads:lead_detail", args=[lead.pk]))
    assert "+7 912 345-67-89" in card.content.decode()


def test_an_html_message_skips_the_quoted_block(org, endpoint, django_capture_on_commit_callbacks):
    make_contact(org.manager, last_name="Старый", first_name="Номер", phones=["+79991112233"])
    mail = message(sender="Анна <anna@client.ru>")
    mail.set_content(
        "<html><body><p>Перезвоните мне: <b>+7 916 555-44-33</b></p>"
        "<div>Анна, anna.work@client.ru</div>"
        "<blockquote>Ждём вас, +7 999 111-22-33</blockquote></body></html>",
        subtype="html",
    )

    lead = _arrive(mail, django_capture_on_commit_callbacks)

    assert lead.contact is None
    assert lead.body_points == [[PHONE, "+79165554433"], [EMAIL, "anna.work@client.ru"]]


def test_the_senders_address_our_mailbox_and_colleagues_are_not_taken(
    org, endpoint, django_capture_on_commit_callbacks
):
    org.manager.email = "Manager@Example.ru"
    org.manager.save(update_fields=["email"])
    body = "Пишу с рабочей: anna@client.ru\nкопия manager@example.ru и sales@example.ru"

    lead = _arrive(
        message(sender="Анна <anna@client.ru>", body=body), django_capture_on_commit_callbacks
    )

    assert lead.body_points == []


def test_the_messages_recipients_are_not_taken(org, endpoint, django_capture_on_commit_callbacks):
    body = "Пишите на leads@our-shop.ru или коллеге boss@client.ru, мой: anna.home@mail.ru"
    mail = message(sender="Анна <anna@client.ru>", body=body, Cc="Boss <Boss@Client.ru>")
    mail.replace_header("To", "Leads <leads@our-shop.ru>")

    lead = _arrive(mail, django_capture_on_commit_callbacks)

    assert lead.body_points == [[EMAIL, "anna.home@mail.ru"]]


def test_a_contact_created_from_the_lead_gets_the_phones_of_the_signature(
    org, endpoint, django_capture_on_commit_callbacks
):
    lead = _arrive(
        message(sender="Пётр Иванов <p.ivanov@gmail.com>", body=SIGNED),
        django_capture_on_commit_callbacks,
    )

    lead_convert(actor=org.manager, pk=lead.pk)

    contact = Contact.objects.get()
    assert (contact.last_name, contact.first_name) == ("Иванов", "Пётр")
    assert sorted(contact.points.filter(kind=PHONE).values_list("value", flat=True)) == [
        "+74951234567",
        "+79123456789",
        "+79161234567",
    ]
    assert sorted(contact.points.filter(kind=EMAIL).values_list("value", flat=True)) == [
        "p.ivanov@gmail.com",
        "petr.ivanov@vector.ru",
    ]


def test_the_api_shows_the_points_of_the_message(org, endpoint, django_capture_on_commit_callbacks):
    lead = _arrive(
        message(sender="Анна <anna@client.ru>", body="Звоните: 8 916 555-44-33"),
        django_capture_on_commit_callbacks,
    )

    data = ApiClient(token_for(org.manager)).get(f"/leads/{lead.pk}").json()

    assert data["body_points"] == [["phone", "+79165554433"]]


def test_a_message_from_a_new_address_signed_with_an_open_leads_phone_joins_that_lead(
    org, endpoint, django_capture_on_commit_callbacks
):
    inbound, _created = intake.inbound_store(
        channel="web_form", payload={"name": "Пётр Иванов", "phone": "8 916 123-45-67"}
    )
    from_the_form = intake.inbound_process(inbound.pk)

    with django_capture_on_commit_callbacks(execute=True):
        assert post(message(sender="Пётр <petr@work.ru>", body=SIGNED)).status_code == 202

    assert Lead.objects.get() == from_the_form
