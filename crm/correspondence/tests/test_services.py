"""The services of correspondence: rendering, refusals before anything is written, the send
job's claim, retries and the sweep, and the sender settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from crm.activities.models import Attachment, TimelineEntry
from crm.activities.services import timeline_entry_add
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.correspondence.choices import EmailStatus
from crm.correspondence.jobs import email_send_job
from crm.correspondence.models import EmailTemplate, OutgoingEmail
from crm.correspondence.services import sending
from crm.correspondence.services.sending import (
    MAX_ATTEMPTS,
    AttachmentsTooLarge,
    Draft,
    email_deliver,
    email_send,
    outgoing_sweep,
    sender_settings_save,
)
from crm.correspondence.services.templates import (
    email_template_create,
    email_template_update,
)
from crm.correspondence.tests.builders import deal_with_client
from crm.customers.models import ContactPoint
from crm.notifications.tests.conftest import free_port

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def draft(**fields) -> Draft:
    fields.setdefault("to", ["anna@client.ru"])
    fields.setdefault("subject", "Счёт по сделке «{{ deal.title }}»")
    fields.setdefault("body", "Здравствуйте, {{ client.first_name }}!")
    return Draft(**fields)


def send(org, deal, capture, actor=None, **fields) -> OutgoingEmail:
    with capture(execute=True):
        return email_send(
            actor=actor or org.manager, kind="deal", record_id=deal.pk, draft=draft(**fields)
        )


def assert_nothing_written() -> None:
    assert not OutgoingEmail.objects.exists()
    assert not TimelineEntry.objects.filter(kind="email").exists()
    assert not mail.outbox


# --- rendering and placeholders -------------------------------------------------------------


def test_placeholders_are_filled_from_the_record_and_the_sender(
    org, deal, django_capture_on_commit_callbacks
):
    email = send(
        org,
        deal,
        django_capture_on_commit_callbacks,
        body="{{ client.first_name }} {{ client.last_name }} ({{ client.company }}), "
        "{{ deal.amount }} {{ deal.currency }}, {{ manager.full_name }}, {{ company.name }}, "
        "{% if client.middle_name %}отчество{% else %}без отчества{% endif %}, "
        "{{ client.middle_name|default:'—' }}, <b>{{ deal.title|upper }}</b>",
    )
    assert email.subject == "Счёт по сделке «Вентиляция склада»"
    assert email.body == (
        f"Анна Смирнова (ООО «Ромашка»), 150\xa0000,00 RUB, {org.manager.get_full_name()}, "
        "ООО «Вентпром», без отчества, —, <b>ВЕНТИЛЯЦИЯ СКЛАДА</b>"
    )  # no HTML escaping: the text is plain
    [sent] = mail.outbox
    assert sent.body == email.body and sent.extra_headers["Message-ID"] == email.message_id


def test_unknown_or_empty_placeholders_are_refused_and_nothing_is_written(
    org, deal, django_capture_on_commit_callbacks
):
    with pytest.raises(ValidationFailed) as refused:
        send(
            org,
            deal,
            django_capture_on_commit_callbacks,
            subject="Для {{ client.middle_name }}",
            body="{{ client.nickname }} и {{ deal.invoice_number }}",
        )
    errors = refused.value.field_errors
    assert "{{ client.middle_name }}" in errors["subject"][0]
    assert "{{ client.nickname }}" in errors["body"][0]
    assert "{{ deal.invoice_number }}" in errors["body"][0]
    assert_nothing_written()


@pytest.mark.parametrize(
    "body, line",
    [
        ("Строка\n{% if client.first_name %}без конца", 2),
        ("a\nb\n{{ client.first_name|date }}", 3),
        ("{% load static %}", 1),
        ("{% include 'base.html' %}", 1),
        ("{% for x in client %}{% endfor %}", 1),
        ("{{ client.__class__ }}", 1),
    ],
)
def test_a_template_that_cannot_be_read_names_the_field_and_the_line(org, body, line, settings):
    settings.LANGUAGE_CODE = "en"
    with pytest.raises(ValidationFailed) as refused:
        email_template_create(
            actor=org.manager, data={"name": "T", "language": "ru", "subject": "S", "body": body}
        )
    assert refused.value.status_code == 422
    [message] = refused.value.field_errors["body"]
    assert message.startswith(f"Line {line}:") or message.startswith(f"Строка {line}:")
    assert not EmailTemplate.objects.exists()


def test_rendering_reads_only_the_values_offered(org, deal, django_capture_on_commit_callbacks):
    with pytest.raises(ValidationFailed) as refused:
        send(
            org,
            deal,
            django_capture_on_commit_callbacks,
            body="{{ deal.owner.password }} {{ manager.password }} {{ settings.SECRET_KEY }}",
        )
    [message] = refused.value.field_errors["body"]
    assert "deal.owner.password" in message and "settings.SECRET_KEY" in message
    assert org.manager.password not in message
    assert_nothing_written()


# --- refusals before anything is written ----------------------------------------------------


@pytest.mark.parametrize(
    "fields, name",
    [
        ({"subject": "Счёт\r\nBcc: spy@evil.ru"}, "subject"),
        ({"subject": "Счёт\nX-Header: 1"}, "subject"),
        ({"to": ["anna@client.ru\r\nBcc: spy@evil.ru"]}, "to"),
        ({"cc": ["boss@client.ru\nBcc: spy@evil.ru"]}, "cc"),
        ({"bcc": ["a@b.ru\r"]}, "bcc"),
        ({"to": ["not an address"]}, "to"),
        ({"to": []}, "to"),
        ({"to": [f"u{n}@client.ru" for n in range(51)]}, "to"),
        ({"sender": "own"}, "sender"),
        ({"sender": "someone"}, "sender"),
        ({"template_id": 10**9}, "template_id"),
        ({"attachment_ids": [10**9]}, "attachment_ids"),
        ({"body": " "}, "body"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    org, deal, fields, name, django_capture_on_commit_callbacks
):
    with pytest.raises(ValidationFailed) as refused:
        send(org, deal, django_capture_on_commit_callbacks, **fields)
    assert refused.value.status_code == 422 and name in refused.value.field_errors
    assert_nothing_written()


def test_a_name_in_an_address_is_accepted_and_only_the_address_kept(
    org, deal, django_capture_on_commit_callbacks
):
    email = send(org, deal, django_capture_on_commit_callbacks, to=["Анна <Anna@Client.RU>"])
    assert email.to == ["anna@client.ru"]


def test_an_undeliverable_address_is_refused(org, deal, django_capture_on_commit_callbacks):
    ContactPoint.objects.filter(value="anna@client.ru").update(
        undeliverable_at=timezone.now(), undeliverable_reason="5.1.1 User unknown"
    )
    with pytest.raises(ValidationFailed) as refused:
        send(org, deal, django_capture_on_commit_callbacks)
    assert "5.1.1 User unknown" in refused.value.field_errors["to"][0]
    assert_nothing_written()


def test_files_of_another_record_are_refused(org, deal, django_capture_on_commit_callbacks):
    elsewhere = deal_with_client(org.manager, email="other@client.ru")
    entry = timeline_entry_add(
        actor=org.manager,
        subject=elsewhere,
        kind="file",
        upload=SimpleUploadedFile("pic.png", PNG, content_type="image/png"),
    )
    with pytest.raises(ValidationFailed) as refused:
        send(org, deal, django_capture_on_commit_callbacks, attachment_ids=[entry.attachment_id])
    assert "attachment_ids" in refused.value.field_errors
    assert_nothing_written()


def test_a_new_upload_is_checked_by_content_and_size(
    org, deal, settings, django_capture_on_commit_callbacks
):
    fake = SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 200)
    with pytest.raises(ValidationFailed) as refused:
        send(org, deal, django_capture_on_commit_callbacks, uploads=[fake])
    assert refused.value.status_code == 400 and "file" in refused.value.field_errors
    settings.CRM_MAIL_ATTACHMENTS_MAX_BYTES = 50
    with pytest.raises(AttachmentsTooLarge) as too_large:
        send(
            org,
            deal,
            django_capture_on_commit_callbacks,
            uploads=[SimpleUploadedFile("pic.png", PNG)],
        )
    assert too_large.value.status_code == 413 and "attachments" in too_large.value.field_errors
    assert_nothing_written()
    assert not Attachment.objects.exists()
    settings.CRM_MAIL_ATTACHMENTS_MAX_BYTES = 10**6
    email = send(
        org, deal, django_capture_on_commit_callbacks, uploads=[SimpleUploadedFile("pic.png", PNG)]
    )
    [attached] = mail.outbox[0].attachments
    assert attached.filename == "pic.png" and attached.content == PNG
    assert list(email.attachments.values_list("original_name", flat=True)) == ["pic.png"]


# --- who may write --------------------------------------------------------------------------


def test_who_may_write_from_a_deal(org, deal, django_capture_on_commit_callbacks):
    with pytest.raises(NotFound):
        send(org, deal, django_capture_on_commit_callbacks, actor=org.outsider)
    with pytest.raises(PermissionDenied):
        send(org, deal, django_capture_on_commit_callbacks, actor=org.viewer)
    assert_nothing_written()
    for actor in (org.head, org.admin, org.manager):
        send(org, deal, django_capture_on_commit_callbacks, actor=actor)
    assert OutgoingEmail.objects.count() == 3 and len(mail.outbox) == 3


def test_shared_templates_are_the_administrators_personal_ones_their_owners(org):
    data = {"name": "Общий", "language": "ru", "subject": "Тема", "body": "Текст"}
    with pytest.raises(PermissionDenied):
        email_template_create(actor=org.manager, data=data, shared=True)
    shared = email_template_create(actor=org.admin, data=data, shared=True)
    with pytest.raises(PermissionDenied):
        email_template_update(actor=org.manager, template=shared, data={"name": "Моё"})
    own = email_template_create(actor=org.manager, data=data)
    with pytest.raises(NotFound):
        email_template_update(actor=org.colleague, template=own, data={"name": "Чужое"})
    own.refresh_from_db()
    shared.refresh_from_db()
    assert own.name == shared.name == "Общий" and own.owner == org.manager


# --- the send job ---------------------------------------------------------------------------


def test_a_job_run_twice_sends_once(org, deal, django_capture_on_commit_callbacks):
    email = send(org, deal, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    assert email_send_job.call(email.pk) == "skipped"
    assert email_deliver(email_id=email.pk) == "skipped"
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and email.attempts == 1


def test_a_failure_is_retried_with_backoff_then_given_up(
    org, deal, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    email = send(org, deal, django_capture_on_commit_callbacks)
    email.refresh_from_db()
    assert email.status == EmailStatus.QUEUED and email.attempts == 1
    assert "ConnectionRefusedError" in email.last_error
    assert email.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert email_deliver(email_id=email.pk) == "skipped"  # not due yet
    for attempt in range(2, MAX_ATTEMPTS + 1):
        OutgoingEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
        expected = "failed" if attempt == MAX_ATTEMPTS else "retry"
        assert email_deliver(email_id=email.pk) == expected
    email.refresh_from_db()
    assert email.status == EmailStatus.FAILED and email.attempts == MAX_ATTEMPTS
    assert set(
        TimelineEntry.objects.filter(pk__in=email.entry_ids).values_list(
            "data__delivery", flat=True
        )
    ) == {"failed"}


def test_the_sweep_enqueues_what_a_lost_job_left(
    org, deal, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(sending, "enqueue_send", lambda ids, run_after=None: None)
    email = send(org, deal, django_capture_on_commit_callbacks)  # its job is lost
    monkeypatch.undo()
    assert not mail.outbox and outgoing_sweep() == {}  # not overdue yet
    OutgoingEmail.objects.filter(pk=email.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    assert outgoing_sweep() == {"emails": 1}
    email.refresh_from_db()
    assert email.status == EmailStatus.SENT and len(mail.outbox) == 1
    assert outgoing_sweep() == {}


# --- the sender -----------------------------------------------------------------------------


def test_the_managers_own_sender(org, deal, django_capture_on_commit_callbacks):
    for data, name in (
        ({"from_name": "Иван\r\nBcc: x@y.ru", "from_address": "ivan@example.ru"}, "from_name"),
        ({"from_name": "Иван", "from_address": "ivan@example.ru\nBcc: x@y.ru"}, "from_address"),
        ({"from_name": "Иван", "from_address": "nope"}, "from_address"),
        ({"from_name": "Иван", "default_sender": "own"}, "from_address"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            sender_settings_save(actor=org.manager, data=data)
        assert name in refused.value.field_errors
    sender_settings_save(
        actor=org.manager, data={"from_name": "Иван Петров", "from_address": "Ivan@Example.ru"}
    )
    email = send(org, deal, django_capture_on_commit_callbacks, sender="own")
    assert email.from_address == "ivan@example.ru" and email.from_name == "Иван Петров"
    assert mail.outbox[0].from_email == "Иван Петров <ivan@example.ru>"


def test_the_demo_templates_render_against_a_deal(org, deal, django_capture_on_commit_callbacks):
    from django.core.management import call_command

    call_command("demo_mail", stdout=None)
    call_command("demo_mail", stdout=None)  # a second run adds nothing
    templates = list(EmailTemplate.objects.order_by("language"))
    assert [t.language for t in templates] == ["en", "ru"]
    for chosen in templates:
        email = send(
            org,
            deal,
            django_capture_on_commit_callbacks,
            subject=chosen.subject,
            body=chosen.body,
            template_id=chosen.pk,
        )
        assert "{{" not in email.body and "ООО «Вентпром»" in email.body


def test_editing_the_contact_keeps_the_bounce_mark_on_a_kept_address(org, deal):
    from crm.customers.services import contact_update

    ContactPoint.objects.filter(value="anna@client.ru").update(
        undeliverable_at=timezone.now(), undeliverable_reason="5.1.1"
    )
    contact_update(
        actor=org.manager,
        contact=deal.contact,
        data={"emails": [{"value": "anna@client.ru"}, {"value": "anna2@client.ru"}]},
        partial=True,
    )
    marks = dict(
        ContactPoint.objects.filter(contact=deal.contact).values_list(
            "value", "undeliverable_reason"
        )
    )
    assert marks == {"anna@client.ru": "5.1.1", "anna2@client.ru": ""}


def test_a_reply_to_an_email_from_a_lead_goes_on_the_lead_and_its_owner_is_told(
    org, django_capture_on_commit_callbacks
):
    from crm.correspondence.services.inbound import mail_thread_claim
    from crm.leads.models import Lead
    from crm.notifications.models import Notification

    lead = Lead.objects.create(
        title="Вентиляция", channel="email", name="Пётр", email="petr@lead.ru", owner=org.manager
    )
    with django_capture_on_commit_callbacks(execute=True):
        email = email_send(
            actor=org.manager,
            kind="lead",
            record_id=lead.pk,
            draft=draft(to=["petr@lead.ru"], subject="Ваш запрос", body="{{ lead.title }}"),
        )
    assert email.body == "Вентиляция"
    raw = (
        "From: Пётр <petr@lead.ru>\r\nTo: sales@example.ru\r\nSubject: Re: Ваш запрос\r\n"
        f"Message-ID: <r@lead.ru>\r\nReferences: <a@x.ru> {email.message_id}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nДа, интересно."
    ).encode()
    outcome = mail_thread_claim(raw, 7)
    assert outcome is not None and outcome["attached_to"] == "lead"
    entry = TimelineEntry.objects.get(pk=outcome["entry_ids"][0])
    assert entry.body == "Да, интересно." and entry.direction == "incoming"
    assert Notification.objects.filter(
        recipient=org.manager, kind="lead", dedupe_key="mail-reply:7"
    ).exists()
    # What is not ours, or not mail at all, is left to the leads channel.
    assert mail_thread_claim(raw.replace(email.message_id.encode(), b"<x@y.ru>"), 8) is None
    assert mail_thread_claim(b"\x00\xff garbage", 9) is None
