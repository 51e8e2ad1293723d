"""The whole way of an e-mail, against real servers on 127.0.0.1: written on a deal card with
the deal's invoice attached, handed by the send job to an SMTP server (aiosmtpd); the
client's reply delivered by SMTP into an IMAP mailbox and read by the leads poller lands on
the SAME deal's timeline; a delivery report marks the address undeliverable."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from conftest import client_for
from crm.activities.models import TimelineEntry
from crm.correspondence.choices import EmailStatus
from crm.correspondence.models import OutgoingEmail
from crm.correspondence.tests.builders import entries_of, template
from crm.customers.models import ContactPoint
from crm.leads.models import Inbound, Lead
from crm.leads.services.email_channel import mailbox_poll
from crm.leads.tests.mail_servers import USER
from crm.notifications.models import Notification
from crm.sales.services.documents import document_generate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _senders(settings):
    settings.CRM_MAIL_FROM = "Вентпром <sales@example.ru>"
    settings.CRM_MAIL_REPLY_TO = USER


def _send_from_card(org, deal, capture, **extra):
    invoice = document_generate(actor=org.manager, deal=deal, kind="invoice")
    chosen = template()
    client = client_for(org.manager)
    url = f"/mail/write/deal/{deal.pk}/"
    page = client.get(f"{url}?template={chosen.pk}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Здравствуйте, Анна!" in text and "150" in text  # previewed against the deal
    assert invoice.pdf.original_name in text  # the invoice is offered
    form = {
        "to": ["anna@client.ru"],
        "sender": "company",
        "template": chosen.pk,
        "subject": chosen.subject,
        "body": chosen.body,
        "attachment_ids": [invoice.pdf_id],
        **extra,
    }
    with capture(execute=True):
        response = client.post(url, form)
    assert response.status_code == 302 and response["Location"] == f"/sales/deals/{deal.pk}/"
    return OutgoingEmail.objects.get(), invoice


def test_an_email_from_a_deal_card_reaches_the_client_and_the_reply_comes_back_to_the_deal(
    org, deal, smtp_server, servers, django_capture_on_commit_callbacks
):
    email, invoice = _send_from_card(org, deal, django_capture_on_commit_callbacks)
    assert email.status == EmailStatus.SENT and email.attempts == 1 and email.sent_at
    [envelope] = smtp_server.messages
    assert envelope.rcpt_tos == ["anna@client.ru"]
    sent = message_from_bytes(envelope.original_content, policy=policy.default)
    assert sent["Message-ID"] == email.message_id
    # Django folds a long encoded header right after the colon: a reader strips the space.
    assert sent["Subject"].strip() == "Счёт по сделке «Вентиляция склада»"
    assert sent["Reply-To"] == USER and "sales@example.ru" in sent["From"]
    body = sent.get_body(preferencelist=("plain",)).get_content()
    assert "Здравствуйте, Анна!" in body and "150" in body and "Вентпром" in body
    [attached] = list(sent.iter_attachments())
    assert attached.get_filename() == invoice.pdf.original_name
    with invoice.pdf.file.open("rb") as handle:
        assert attached.get_content() == handle.read()
    # On the deal's timeline and on the contact's, as sent.
    entries = TimelineEntry.objects.filter(kind="email", direction="outgoing")
    assert entries_of(deal).filter(kind="email").count() == 1
    assert entries_of(deal.contact).filter(kind="email").count() == 1
    for entry in entries:
        assert entry.data["delivery"] == "sent" and entry.data["to"] == ["anna@client.ru"]
        assert entry.data["attachments"][0]["name"] == invoice.pdf.original_name
    card = client_for(org.manager).get(f"/sales/deals/{deal.pk}/").content.decode()
    assert "Счёт по сделке" in card and 'data-delivery="sent"' in card

    # The client answers: through SMTP into the sales mailbox, read by the leads poller.
    reply = EmailMessage()
    reply["From"] = "Анна Смирнова <anna@client.ru>"
    reply["To"] = USER
    reply["Subject"] = "Re: " + sent["Subject"].strip()
    reply["Message-ID"] = "<reply-1@client.ru>"
    reply["In-Reply-To"] = email.message_id
    reply["References"] = email.message_id
    reply.set_content("Спасибо, оплатим завтра.\n\n> Здравствуйте, Анна!")
    servers.send(reply)
    with django_capture_on_commit_callbacks(execute=True):
        assert mailbox_poll()["stored"] == 1
    assert not Lead.objects.exists()
    answer = entries_of(deal).get(kind="email", direction="incoming")
    assert "оплатим завтра" in answer.body and answer.data["in_reply_to"] == email.message_id
    assert entries_of(deal.contact).filter(kind="email", direction="incoming").exists()
    notice = Notification.objects.get(recipient=org.manager, url=f"/sales/deals/{deal.pk}/")
    assert "Re:" in notice.title or "Счёт" in notice.title
    assert Inbound.objects.get().meta["outcome"]["attached_to"] == "deal"


def _report(message_id: str, recipient: str, status: str = "5.1.1") -> bytes:
    """A delivery status notification (RFC 3464) as a mail server writes it."""
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.client.ru>\r\n"
        f"To: {USER}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn-{status}-{message_id.strip('<>')}>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n"
        "\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.client.ru\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Action: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} User unknown\r\n"
        "\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {message_id}\r\nSubject: whatever\r\n"
        "\r\n--B--\r\n"
    ).encode()


def test_a_bounce_marks_the_address_undeliverable_and_writing_to_it_is_refused(
    org, deal, smtp_server, servers, django_capture_on_commit_callbacks
):
    email, _invoice = _send_from_card(org, deal, django_capture_on_commit_callbacks)
    servers.send(_report(email.message_id, "anna@client.ru"), to=USER)
    with django_capture_on_commit_callbacks(execute=True):
        mailbox_poll()
    point = ContactPoint.objects.get(value="anna@client.ru")
    assert point.undeliverable_at is not None and "5.1.1" in point.undeliverable_reason
    email.refresh_from_db()
    assert email.status == EmailStatus.BOUNCED and "User unknown" in email.last_error
    assert set(
        TimelineEntry.objects.filter(pk__in=email.entry_ids).values_list(
            "data__delivery", flat=True
        )
    ) == {"bounced"}
    notice = Notification.objects.get(recipient=org.manager, dedupe_key=f"mail-bounce:{email.pk}")
    assert "anna@client.ru" in notice.body and "5.1.1" in notice.body
    assert not Lead.objects.exists()
    # The card shows it next to the address, and a new e-mail to it is refused.
    card = client_for(org.manager).get(f"/customers/contacts/{deal.contact_id}/")
    assert "point-undeliverable" in card.content.decode()
    response = client_for(org.manager).post(
        f"/mail/write/deal/{deal.pk}/",
        {"to": ["anna@client.ru"], "sender": "company", "subject": "Ещё раз", "body": "Текст"},
    )
    assert response.status_code == 422
    [error] = response.context["form"].errors["to"]
    assert "anna@client.ru" in error and "5.1.1" in error
    assert OutgoingEmail.objects.count() == 1


def test_a_bounce_about_an_unknown_message_marks_only_on_a_permanent_failure(
    org, deal, servers, django_capture_on_commit_callbacks
):
    servers.send(_report("<not-ours@x.ru>", "anna@client.ru", status="4.2.2"), to=USER)
    with django_capture_on_commit_callbacks(execute=True):
        mailbox_poll()
    assert ContactPoint.objects.get(value="anna@client.ru").undeliverable_at is None
    servers.send(_report("<not-ours-2@x.ru>", "anna@client.ru", status="5.1.1"), to=USER)
    with django_capture_on_commit_callbacks(execute=True):
        mailbox_poll()
    assert ContactPoint.objects.get(value="anna@client.ru").undeliverable_at is not None


def test_a_reply_to_nothing_we_sent_from_an_unknown_address_is_a_lead_as_before(
    org, servers, django_capture_on_commit_callbacks
):
    reply = EmailMessage()
    reply["From"] = "Пётр <petr@new-client.ru>"
    reply["To"] = USER
    reply["Subject"] = "Re: прайс"
    reply["Message-ID"] = "<r2@new-client.ru>"
    reply["In-Reply-To"] = "<something-else@example.ru>"
    reply.set_content("Пришлите прайс ещё раз.")
    servers.send(reply)
    with django_capture_on_commit_callbacks(execute=True):
        mailbox_poll()
    assert Lead.objects.get().email == "petr@new-client.ru"
