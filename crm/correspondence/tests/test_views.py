"""The pages of correspondence: writing from each kind of card, the preview, the templates
and the sender pages, with their permissions and query counts."""

from __future__ import annotations

import pytest
from django.core import mail

from conftest import client_for
from crm.core.tests.baselines import one_then_fifty
from crm.correspondence.models import EmailTemplate, OutgoingEmail, SenderSettings
from crm.correspondence.tests.builders import entries_of, template
from crm.customers.tests.factories import make_company, make_contact
from crm.leads.models import Lead

pytestmark = pytest.mark.django_db


def _lead(owner):
    return Lead.objects.create(
        title="Нужна вентиляция", channel="email", name="Пётр", email="petr@lead.ru", owner=owner
    )


@pytest.mark.parametrize("kind", ["contact", "company", "lead", "deal"])
def test_an_email_is_written_from_every_kind_of_card(
    org, deal, kind, django_capture_on_commit_callbacks
):
    records = {
        "contact": lambda: make_contact(org.manager, emails=[{"value": "ivan@client.ru"}]),
        "company": lambda: make_company(
            org.manager, legal_name="Лютик", emails=[{"value": "info@lutik.ru"}]
        ),
        "lead": lambda: _lead(org.manager),
        "deal": lambda: deal,
    }
    record = records[kind]()
    client = client_for(org.manager)
    card = client.get(
        {
            "contact": f"/customers/contacts/{record.pk}/",
            "company": f"/customers/companies/{record.pk}/",
            "lead": f"/leads/{record.pk}/",
            "deal": f"/sales/deals/{record.pk}/",
        }[kind]
    )
    url = f"/mail/write/{kind}/{record.pk}/"
    assert card.status_code == 200 and url in card.content.decode()
    page = client.get(url)
    assert page.status_code == 200
    [address] = [choice.address for choice in page.context["addresses"]][:1]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"to": [address], "sender": "company", "subject": "Привет", "body": "Текст"}
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert mail.outbox[0].to == [address]
    assert entries_of(record).filter(kind="email", direction="outgoing").count() == 1


def test_the_card_button_and_the_page_follow_who_may_change_the_record(org, deal):
    url = f"/mail/write/deal/{deal.pk}/"
    assert url not in client_for(org.viewer).get(f"/sales/deals/{deal.pk}/").content.decode()
    assert client_for(None).get(url).status_code == 302  # to sign in
    assert client_for(org.viewer).get(url).status_code == 403
    assert client_for(org.outsider).get(url).status_code == 404
    assert client_for(org.colleague).get(url).status_code == 404
    assert client_for(org.head).get(url).status_code == 200
    assert client_for(org.admin).get(url).status_code == 200
    assert client_for(org.manager).get("/mail/write/task/1/").status_code == 404
    post = {"to": ["anna@client.ru"], "sender": "company", "subject": "S", "body": "B"}
    assert client_for(org.viewer).post(url, post).status_code == 403
    assert client_for(org.outsider).post(url, post).status_code == 404
    assert not OutgoingEmail.objects.exists()


def test_a_template_is_loaded_and_previewed_with_what_cannot_be_filled(org, deal):
    chosen = template(body="Здравствуйте, {{ client.first_name }}! Счёт {{ deal.invoice_number }}")
    client = client_for(org.manager)
    page = client.get(f"/mail/write/deal/{deal.pk}/?template={chosen.pk}")
    text = page.content.decode()
    assert "Здравствуйте, Анна!" in text and 'id="preview-missing"' in text
    assert "deal.invoice_number" in text
    preview = client.post(
        f"/mail/write/deal/{deal.pk}/preview/",
        {"subject": "Тема", "body": "{{ client.first_name|upper }}"},
        HTTP_HX_REQUEST="true",
    )
    assert preview.status_code == 200 and "АННА" in preview.content.decode()
    broken = client.post(
        f"/mail/write/deal/{deal.pk}/preview/", {"subject": "Тема", "body": "x\n{% if %}"}
    )
    assert broken.status_code == 422 and "2" in broken.content.decode()
    refused = client.post(
        f"/mail/write/deal/{deal.pk}/",
        {"to": ["anna@client.ru"], "sender": "company", "subject": "S", "body": chosen.body},
    )
    assert refused.status_code == 422 and "deal.invoice_number" in refused.content.decode()
    assert not OutgoingEmail.objects.exists()


@pytest.mark.parametrize(
    "change, status, text",
    [
        ({"subject": "Тема\r\nBcc: spy@evil.ru"}, 422, "one line"),
        ({"to_other": "spy@evil.ru\r\nBcc: x@y.ru"}, 422, "line break"),
        ({"cc": "a@b.ru\nBcc: x@y.ru"}, 422, "line break"),
        ({"to": ["evil@x.ru"]}, 422, "evil@x.ru"),
        ({"sender": "nobody"}, 422, "nobody"),
        ({"template": "abc"}, 422, "template"),
        ({"template": str(10**30)}, 422, "template"),
        ({"attachment_ids": ["x"]}, 422, "attachment_ids"),
        ({"body": "a\x00b"}, 422, "body"),
    ],
)
def test_the_compose_page_refuses_bad_input_naming_the_field(
    org, deal, settings, change, status, text
):
    settings.LANGUAGE_CODE = "en"
    client = client_for(org.manager)
    form = {"to": ["anna@client.ru"], "sender": "company", "subject": "S", "body": "B", **change}
    response = client.post(f"/mail/write/deal/{deal.pk}/", form, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == status
    assert response.context["form"].errors
    assert not OutgoingEmail.objects.exists() and not mail.outbox


def test_a_refused_upload_answers_400_and_too_large_413(org, deal, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(org.manager)
    form = {"to": ["anna@client.ru"], "sender": "company", "subject": "S", "body": "B"}
    fake = SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 100)
    assert client.post(f"/mail/write/deal/{deal.pk}/", {**form, "file": fake}).status_code == 400
    settings.CRM_MAIL_ATTACHMENTS_MAX_BYTES = 10
    text = SimpleUploadedFile("note.txt", b"hello world, a text file")
    response = client.post(f"/mail/write/deal/{deal.pk}/", {**form, "file": text})
    assert response.status_code == 413 and response.context["form"].errors["file"]
    assert not OutgoingEmail.objects.exists()


def test_template_pages(org):
    manager, admin = client_for(org.manager), client_for(org.admin)
    data = {"name": "Мой", "language": "ru", "subject": "Тема", "body": "{{ client.name }}"}
    assert manager.post("/mail/templates/new/", data).status_code == 302
    assert manager.post("/mail/templates/new/", {**data, "shared": "1"}).status_code == 403
    assert (
        admin.post("/mail/templates/new/", {**data, "name": "Общий", "shared": "1"}).status_code
        == 302
    )
    own = EmailTemplate.objects.get(name="Мой")
    shared = EmailTemplate.objects.get(name="Общий")
    assert own.owner == org.manager and shared.owner is None
    bad = manager.post(f"/mail/templates/{own.pk}/", {**data, "body": "a\n{% for x in y %}"})
    assert bad.status_code == 422 and bad.context["form"].errors["body"]
    assert client_for(org.colleague).get(f"/mail/templates/{own.pk}/").status_code == 404
    assert manager.post(f"/mail/templates/{shared.pk}/", data).status_code == 403
    page = manager.get("/mail/templates/").content.decode()
    assert "Мой" in page and "Общий" in page and "client.first_name" in page
    assert manager.post(f"/mail/templates/{own.pk}/delete/").status_code == 302
    assert not EmailTemplate.objects.filter(pk=own.pk).exists()


def test_the_template_list_page_costs_the_same_for_one_and_fifty(org, django_assert_num_queries):
    client = client_for(org.manager)
    response = one_then_fifty(
        lambda index: template(
            name=f"Шаблон {index:02d}", owner=org.manager if index % 2 else None
        ),
        3,  # the session, the user, the templates
        lambda: client.get("/mail/templates/"),
        django_assert_num_queries,
    )
    assert "Шаблон 49" in response.content.decode()


def test_the_sender_page(org):
    client = client_for(org.manager)
    assert client.get("/mail/sender/").status_code == 200
    bad = client.post(
        "/mail/sender/", {"from_name": "И", "from_address": "x", "default_sender": "own"}
    )
    assert bad.status_code == 422 and not SenderSettings.objects.exists()
    good = client.post(
        "/mail/sender/",
        {"from_name": "Иван", "from_address": "ivan@example.ru", "default_sender": "own"},
    )
    assert good.status_code == 302
    assert SenderSettings.objects.get(user=org.manager).from_address == "ivan@example.ru"
