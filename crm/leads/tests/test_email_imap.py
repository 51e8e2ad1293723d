"""The IMAP poller against real servers on 127.0.0.1: messages are sent with smtplib to an
SMTP server (aiosmtpd) that delivers into a small IMAP4rev1 server
(``crm.leads.tests.mail_servers``), which imaplib reads as it would read a real mailbox."""

from __future__ import annotations

from email.header import Header
from email.message import EmailMessage
from email.utils import make_msgid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from crm.accounts.models import Team
from crm.activities.models import TimelineEntry
from crm.customers.tests.factories import make_contact
from crm.leads.choices import InboundStatus
from crm.leads.models import Inbound, Lead, MailboxCursor, RoutingRule
from crm.leads.services import email_channel
from crm.leads.services.email_channel import MailboxError, mailbox_poll
from crm.leads.tests.mail_servers import USER, start_servers
from crm.notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def routed(org):
    RoutingRule.objects.update(team=Team.objects.get(name="Москва"), strategy="round_robin")


def mail(subject="Нужен прайс", body="Здравствуйте! Пришлите прайс.", sender="anna@client.ru",
         name="Анна Смирнова", **headers: str) -> EmailMessage:  # fmt: skip
    message = EmailMessage()
    message["From"] = f"{name} <{sender}>"
    message["To"] = USER
    message["Subject"] = subject
    message["Message-ID"] = headers.pop("message_id", None) or make_msgid(domain="client.ru")
    for key, value in headers.items():
        message[key.replace("_", "-")] = value
    message.set_content(body)
    return message


def poll(capture) -> dict[str, int]:
    """One poll, with the processing jobs its stored rows enqueue on commit."""
    with capture(execute=True):
        return mailbox_poll()


# --- tests ------------------------------------------------------------------------------------


def test_a_new_sender_becomes_a_lead_and_the_message_is_marked_read(
    org, routed, servers, django_capture_on_commit_callbacks
):
    servers.send(mail())
    assert poll(django_capture_on_commit_callbacks) == {"fetched": 1, "stored": 1, "skipped": 0}
    lead = Lead.objects.get()
    assert (
        lead.channel == "email" and lead.email == "anna@client.ru" and lead.name == "Анна Смирнова"
    )
    assert lead.title == "Нужен прайс" and "Пришлите прайс" in lead.message
    assert lead.owner is not None and lead.pipeline is not None
    assert Notification.objects.filter(recipient=lead.owner, kind="lead").count() == 1
    assert servers.mailbox.flags(1) == {"\\Seen"}
    inbound = Inbound.objects.get()
    assert inbound.status == InboundStatus.PROCESSED and inbound.meta["source"] == "imap"
    assert MailboxCursor.objects.get().last_uid == 1
    # Nothing new: nothing fetched.
    assert poll(django_capture_on_commit_callbacks) == {"fetched": 0, "stored": 0, "skipped": 0}


def test_a_known_contacts_mail_goes_on_the_contacts_timeline_and_makes_no_lead(
    org, routed, servers, django_capture_on_commit_callbacks
):
    contact = make_contact(org.manager, emails=[{"value": "Boris@Client.ru"}])
    servers.send(mail(subject="Счёт оплачен", body="Оплатили счёт №12.", sender="boris@client.ru"))
    poll(django_capture_on_commit_callbacks)
    assert not Lead.objects.exists()
    entry = TimelineEntry.objects.get(subject_id=contact.pk, kind="email")
    assert entry.title == "Счёт оплачен" and entry.body == "Оплатили счёт №12."
    assert entry.data["from"] == "boris@client.ru" and entry.data["message_id"].startswith("<")
    assert Notification.objects.filter(recipient=org.manager, kind="lead").exists()
    assert Inbound.objects.get().meta["outcome"]["attached_to"] == "contact"


def test_a_reply_in_the_thread_attaches_to_the_same_lead(
    org, routed, servers, django_capture_on_commit_callbacks
):
    first = mail(message_id="<first.1@client.ru>")
    servers.send(first)
    poll(django_capture_on_commit_callbacks)
    lead = Lead.objects.get()
    reply = mail(
        subject="Re: Нужен прайс",
        body="И ещё доставку посчитайте.",
        sender="boss@other-client.ru",  # a colleague answers from another address
        name="Начальник",
        message_id="<second.2@other-client.ru>",
        In_Reply_To="<first.1@client.ru>",
        References="<first.1@client.ru>",
    )
    servers.send(reply)
    poll(django_capture_on_commit_callbacks)
    assert Lead.objects.count() == 1
    assert lead.thread_key == "email:<first.1@client.ru>"
    entry = TimelineEntry.objects.filter(subject_id=lead.pk, kind="email").get()
    assert "доставку" in entry.body
    assert list(Inbound.objects.values_list("lead_id", flat=True)) == [lead.pk, lead.pk]


def test_the_same_message_fetched_twice_is_stored_once(
    org, routed, servers, django_capture_on_commit_callbacks
):
    message = mail(message_id="<same@client.ru>")
    servers.send(message)
    servers.send(message, to="info@example.ru")  # a copy to a second address of the box
    assert poll(django_capture_on_commit_callbacks) == {"fetched": 2, "stored": 1, "skipped": 0}
    # The cursor is lost and the messages are unread again: fetched again, stored nothing.
    MailboxCursor.objects.all().delete()
    for stored in servers.mailbox.messages:
        stored.flags.clear()
    assert poll(django_capture_on_commit_callbacks) == {"fetched": 2, "stored": 0, "skipped": 0}
    assert Inbound.objects.count() == 1 and Lead.objects.count() == 1


def test_cp1251_and_koi8r_mail_is_decoded(org, routed, servers, django_capture_on_commit_callbacks):
    name, subject = Header("Петров", "koi8-r").encode(), Header("заказ профиль", "koi8-r").encode()
    cp1251 = (
        f"From: {name} <petrov@client.ru>\r\n"
        "To: sales@example.ru\r\n"
        f"Subject: {subject}\r\n"
        "Message-ID: <cp1251@client.ru>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=windows-1251\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
    ).encode() + "Добрый день! Нужна кухня, бюджет 300 000 ₽.".encode("cp1251", "replace")
    servers.send(cp1251)
    poll(django_capture_on_commit_callbacks)
    lead = Lead.objects.get()
    assert lead.name == "Петров" and lead.title == "заказ профиль"
    assert lead.message.startswith("Добрый день! Нужна кухня, бюджет 300 000")
    # Stored byte for byte.
    inbound = Inbound.objects.get()
    assert inbound.meta["raw_encoding"] == "latin-1"
    assert email_channel.raw_bytes(inbound) == servers.mailbox.messages[0].raw


def test_auto_replies_and_bounces_make_no_lead(
    org, routed, servers, django_capture_on_commit_callbacks
):
    servers.send(mail(subject="Out of office", Auto_Submitted="auto-replied"))
    servers.send(mail(subject="Undelivered", sender="MAILER-DAEMON@client.ru", name="Mail"))
    poll(django_capture_on_commit_callbacks)
    assert not Lead.objects.exists()
    assert set(Inbound.objects.values_list("status", flat=True)) == {InboundStatus.REJECTED}


@pytest.mark.parametrize("mode", ["on", "starttls"])
def test_tls_from_the_start_and_starttls(
    org, routed, settings, certificate, mode, django_capture_on_commit_callbacks
):
    imap, smtp, servers = start_servers(settings, certificate, mode)
    try:
        servers.send(mail())
        assert poll(django_capture_on_commit_callbacks)["stored"] == 1
        assert servers.mailbox.logins == ["tls"]
    finally:
        smtp.stop()
        imap.shutdown()
        imap.server_close()
    assert Lead.objects.count() == 1


def test_a_wrong_password_or_a_failed_handshake_is_an_error(org, settings, servers):
    settings.CRM_LEADS_IMAP_PASSWORD = "wrong"
    with pytest.raises(MailboxError, match="credentials"):
        mailbox_poll()
    settings.CRM_LEADS_IMAP_SSL = "on"  # the server speaks plain IMAP: the handshake fails
    with pytest.raises(MailboxError, match="connect"):
        mailbox_poll()


def test_oversized_messages_are_left_unread(
    org, routed, servers, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(email_channel, "MAX_MESSAGE_BYTES", 2000)
    servers.send(mail(body="слишком длинно " * 300))
    servers.send(mail(subject="Короткое"))
    assert poll(django_capture_on_commit_callbacks) == {"fetched": 2, "stored": 1, "skipped": 1}
    assert servers.mailbox.flags(1) == set() and servers.mailbox.flags(2) == {"\\Seen"}
    assert Lead.objects.get().title == "Короткое"


def test_read_mail_is_left_alone_the_first_time_and_a_renumbered_folder_restarts(
    org, routed, servers, django_capture_on_commit_callbacks
):
    servers.send(mail(subject="Старое письмо", sender="a@client.ru"))
    servers.mailbox.messages[0].flags.add("\\Seen")  # read by someone before the CRM came
    servers.send(mail(subject="Новое письмо", sender="b@client.ru"))
    assert poll(django_capture_on_commit_callbacks)["stored"] == 1
    # A message read in a mail client after the CRM started is still taken (UID above).
    servers.send(mail(subject="Прочитано человеком", sender="c@client.ru"))
    servers.mailbox.messages[-1].flags.add("\\Seen")
    assert poll(django_capture_on_commit_callbacks)["stored"] == 1
    servers.mailbox.uid_validity = 2
    servers.send(mail(subject="После переноса", sender="d@client.ru"))
    assert poll(django_capture_on_commit_callbacks)["stored"] == 1
    assert sorted(Lead.objects.values_list("title", flat=True)) == [
        "Новое письмо",
        "После переноса",
        "Прочитано человеком",
    ]


def test_the_poll_mailbox_command(
    org, routed, servers, settings, django_capture_on_commit_callbacks
):
    servers.send(mail())
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("poll_mailbox", stdout=out)
    assert "fetched 1, stored 1" in out.getvalue() and Lead.objects.count() == 1
    settings.CRM_LEADS_IMAP_HOST = ""
    with pytest.raises(CommandError, match="CRM_LEADS_IMAP_HOST"):
        call_command("poll_mailbox")
