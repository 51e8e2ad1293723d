"""E-mail as a lead channel: the raw-message endpoint (secret, size, garbage), reading
messages (charsets, HTML, attachments, automatic mail) and where a message goes (a new lead,
a thread's lead, a known client's timeline or open lead)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from crm.accounts.models import Team
from crm.activities.models import TimelineEntry
from crm.customers.tests.factories import make_company, make_contact
from crm.leads.choices import InboundStatus
from crm.leads.models import Inbound, Lead, RoutingRule
from crm.leads.services import email_channel
from crm.notifications.models import Notification

pytestmark = pytest.mark.django_db

SECRET = "mail-hook-secret"
URL = "/leads/inbound/email/"


@pytest.fixture
def endpoint(settings, org):
    settings.CRM_LEADS_INBOUND_EMAIL_SECRET = SECRET
    RoutingRule.objects.update(team=Team.objects.get(name="Москва"), strategy="round_robin")


def message(
    *,
    subject: str = "Заявка",
    body: str = "Хочу заказать кухню.",
    sender: str = "Анна <anna@client.ru>",
    message_id: str = "",
    **headers: str,
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "sales@example.ru"
    mail["Subject"] = subject
    mail["Message-ID"] = message_id or make_msgid(domain="client.ru")
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail


def post(raw: bytes | EmailMessage, *, secret: str = SECRET, content_type="message/rfc822"):
    body = raw.as_bytes() if isinstance(raw, EmailMessage) else raw
    headers = {"HTTP_X_CRM_SECRET": secret} if secret is not None else {}
    return Client(enforce_csrf_checks=True).post(URL, body, content_type=content_type, **headers)


def test_a_posted_message_becomes_a_lead(endpoint, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(message())
    assert response.status_code == 202 and response.json()["created"] is True
    lead = Lead.objects.get()
    assert (lead.channel, lead.email, lead.name, lead.title) == (
        "email",
        "anna@client.ru",
        "Анна",
        "Заявка",
    )
    assert lead.message == "Хочу заказать кухню." and lead.owner is not None
    assert Inbound.objects.get().meta["source"] == "webhook"
    assert Notification.objects.filter(recipient=lead.owner).count() == 1


def test_a_repeated_post_stores_nothing(endpoint, django_capture_on_commit_callbacks):
    mail = message(message_id="<once@client.ru>")
    with django_capture_on_commit_callbacks(execute=True):
        first, second = post(mail), post(mail)
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json() == {**first.json(), "created": False}
    assert Inbound.objects.count() == 1 and Lead.objects.count() == 1


@pytest.mark.parametrize("secret", ["wrong", "", None])
def test_a_bad_or_missing_secret_is_401_and_stores_nothing(endpoint, secret):
    response = post(message(), secret=secret)
    assert response.status_code == 401 and not Inbound.objects.exists()


def test_no_secret_configured_is_503(settings, org):
    settings.CRM_LEADS_INBOUND_EMAIL_SECRET = ""
    assert post(message()).status_code == 503


def test_oversized_garbage_and_wrong_type(endpoint, monkeypatch):
    monkeypatch.setattr(email_channel, "MAX_MESSAGE_BYTES", 3000)
    big = post(message(body="очень длинное письмо " * 200))
    assert big.status_code == 413 and big.json()["errors"]["body"]
    garbage = post(b"\x00\xff\xfe not a message at all \x01")
    assert garbage.status_code == 400 and "body" in garbage.json()["errors"]
    empty = post(b"   ")
    assert empty.status_code == 400
    no_sender = post(b"Subject: hi\r\nMessage-ID: <x@y.ru>\r\n\r\nbody")
    assert no_sender.status_code == 400 and "from" in no_sender.json()["errors"]
    bad_sender = post(b"From: not an address\r\nSubject: hi\r\n\r\nbody")
    assert bad_sender.status_code == 400 and "from" in bad_sender.json()["errors"]
    wrong_type = post(message(), content_type="application/json")
    assert wrong_type.status_code == 415 and "content_type" in wrong_type.json()["errors"]
    assert Client().get(URL).status_code == 405
    assert not Inbound.objects.exists()


def test_text_plain_and_a_message_over_the_site_request_limit_are_accepted(
    endpoint, settings, django_capture_on_commit_callbacks
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000  # the 10 MB limit of this endpoint applies
    with django_capture_on_commit_callbacks(execute=True):
        response = post(message(body="длинное письмо " * 200), content_type="text/plain")
    assert response.status_code == 202 and Lead.objects.count() == 1


def test_html_only_mail_is_read_as_text_and_attachments_are_listed(
    endpoint, django_capture_on_commit_callbacks
):
    mail = message(subject="Реквизиты")
    mail.set_content(
        "<html><head><style>p{color:red}</style></head><body><p>Добрый день,</p>"
        "<p>реквизиты во&nbsp;вложении &amp; схема.</p><script>alert(1)</script>"
        "<ul><li>кухня</li><li>шкаф</li></ul></body></html>",
        subtype="html",
    )
    mail.add_attachment(b"%PDF-1.4 ...", maintype="application", subtype="pdf",
                        filename="Реквизиты.pdf")  # fmt: skip
    mail.add_attachment(b"\x89PNG....", maintype="image", subtype="png", filename="plan.png")
    with django_capture_on_commit_callbacks(execute=True):
        assert post(mail).status_code == 202
    lead = Lead.objects.get()
    assert lead.message == "Добрый день,\n\nреквизиты во вложении & схема.\n\n- кухня\n- шкаф"
    assert lead.data["attachments"] == "Реквизиты.pdf, plan.png"


def test_a_wrong_charset_label_falls_back_to_utf8_and_cp1251():
    raw = (
        b"From: a@client.ru\r\nSubject: =?utf-8?b?0J/RgNC40LLQtdGC?=\r\n"
        b"Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    assert email_channel.email_read(raw + "Привет".encode()).text == "Привет"
    assert email_channel.email_read(raw + "Привет".encode("cp1251")).text == "Привет"
    koi8 = raw.replace(b"us-ascii", b"koi8-r") + "Привет".encode("koi8-r")
    parsed = email_channel.email_read(koi8)
    assert parsed.text == "Привет" and parsed.subject == "Привет"
    # An 8-bit header nobody encoded.
    unencoded = b"From: a@client.ru\r\nSubject: " + "Цена".encode("cp1251") + b"\r\n\r\nx"
    assert email_channel.email_read(unencoded).subject == "Цена"


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"X_Autoreply": "yes"},
        {"Precedence": "bulk"},
        {"Return_Path": "<>"},
        {"sender": "MAILER-DAEMON@mx.client.ru"},
    ],
)
def test_auto_replies_and_bounces_are_rejected(
    endpoint, headers, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert post(message(**headers)).status_code == 202
    inbound = Inbound.objects.get()
    assert inbound.status == InboundStatus.REJECTED and "automatic" in inbound.error
    assert not Lead.objects.exists()


def test_a_delivery_report_is_rejected(endpoint, django_capture_on_commit_callbacks):
    report = (
        b"From: Mail Delivery System <mailer@mx.client.ru>\r\nSubject: Undelivered\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n--b--\r\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        post(report)
    assert Inbound.objects.get().status == InboundStatus.REJECTED and not Lead.objects.exists()


def test_a_known_company_gets_the_mail_on_its_timeline(
    endpoint, org, django_capture_on_commit_callbacks
):
    company = make_company(org.colleague, emails=[{"value": "office@romashka.ru"}])
    mail = message(sender="Офис <office@romashka.ru>", subject="Акт сверки")
    mail.add_attachment(b"data", maintype="application", subtype="pdf", filename="akt.pdf")
    with django_capture_on_commit_callbacks(execute=True):
        post(mail)
    assert not Lead.objects.exists()
    entry = TimelineEntry.objects.get(subject_id=company.pk, kind="email")
    assert entry.title == "Акт сверки" and entry.data["from"] == "office@romashka.ru"
    assert entry.data["attachments"] == [
        {"name": "akt.pdf", "content_type": "application/pdf", "size": 4}
    ]
    note = Notification.objects.get(recipient=org.colleague)
    assert note.url == f"/customers/companies/{company.pk}/"


def test_a_known_contact_with_an_open_lead_gets_the_mail_on_that_lead(
    endpoint, org, django_capture_on_commit_callbacks
):
    contact = make_contact(org.manager, phones=[{"value": "+79120001122"}],
                           emails=[{"value": "ivan@client.ru"}])  # fmt: skip
    from crm.leads.services.intake import inbound_process, inbound_store

    inbound, _created = inbound_store(channel="api", payload={"phone": "+79120001122"})
    lead = inbound_process(inbound.pk)
    assert lead.contact == contact  # a call-back request linked to the contact
    with django_capture_on_commit_callbacks(execute=True):
        post(message(sender="ivan@client.ru", subject="По заявке", body="Перезвоните"))
    assert Lead.objects.count() == 1
    entry = TimelineEntry.objects.get(subject_id=lead.pk, kind="email")
    assert entry.title == "По заявке" and entry.body == "Перезвоните"
    mail_inbound = Inbound.objects.get(channel="email")
    assert mail_inbound.lead == lead and mail_inbound.meta["outcome"]["attached_to"] == "lead"
    on_contact = TimelineEntry.objects.filter(
        subject_type=ContentType.objects.get_for_model(contact), subject_id=contact.pk
    )
    assert not on_contact.filter(kind="email").exists()


def test_a_reply_to_a_later_message_finds_the_thread_through_the_answered_message(
    endpoint, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(message(message_id="<root@client.ru>"))
        post(
            message(
                message_id="<two@client.ru>",
                sender="other@elsewhere.ru",
                In_Reply_To="<root@client.ru>",
            )
        )
        # No References, answering the second message only.
        post(
            message(
                message_id="<three@client.ru>",
                sender="third@elsewhere.ru",
                In_Reply_To="<two@client.ru>",
            )
        )
    lead = Lead.objects.get()
    assert lead.thread_key == "email:<root@client.ru>"
    assert set(Inbound.objects.values_list("lead_id", flat=True)) == {lead.pk}


def test_a_colleagues_forward_is_not_a_lead_but_their_reply_in_a_thread_attaches(
    endpoint, org, django_capture_on_commit_callbacks
):
    org.manager.email = "Manager@Example.ru"
    org.manager.save()
    with django_capture_on_commit_callbacks(execute=True):
        post(message(sender="manager@example.ru", subject="Fwd: заявка"))
    assert not Lead.objects.exists()
    assert Inbound.objects.get().error == "sent by a user of the CRM"
    with django_capture_on_commit_callbacks(execute=True):
        post(message(message_id="<ask@client.ru>"))
        post(message(sender="manager@example.ru", In_Reply_To="<ask@client.ru>"))
    lead = Lead.objects.get()
    assert Inbound.objects.filter(lead=lead).count() == 2
