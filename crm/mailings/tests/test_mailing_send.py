"""Sending a mailing against a real SMTP server (aiosmtpd on 127.0.0.1): each address once,
the excluded ones none, the one-click headers and link, the timeline, the report."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from django.test import Client

from crm.activities.models import TimelineEntry
from crm.customers.models import Contact, ContactPoint
from crm.mailings.choices import MailingState, RecipientState, SkipReason
from crm.mailings.models import MailingRecipient
from crm.mailings.selectors import mailing_report
from crm.mailings.services import mailing_start
from crm.mailings.tests.conftest import contact_with, draft, email_of, segment_of, send_all
from crm.mailings.unsubscribe import ONE_CLICK

pytestmark = pytest.mark.django_db


def _received(smtp_server) -> dict[str, list]:
    by_address: dict[str, list] = {}
    for envelope in smtp_server.messages:
        message = message_from_bytes(envelope.content, policy=policy.default)
        for address in envelope.rcpt_tos:
            by_address.setdefault(address, []).append(message)
    return by_address


def test_each_address_gets_one_message_and_the_excluded_none(
    org, smtp_server, django_capture_on_commit_callbacks
):
    head = org.head
    people = [contact_with(head, f"p{n}@example.com", first_name=f"Имя{n}") for n in range(9)]
    contact_with(head, "p0@example.com", first_name="Двойник")  # shares p0's address
    unsubscribed, undeliverable = people[1], people[2]
    ContactPoint.objects.filter(pk=email_of(unsubscribed).pk).update(
        unsubscribed_at="2026-01-01T00:00Z"
    )
    ContactPoint.objects.filter(pk=email_of(undeliverable).pk).update(
        undeliverable_at="2026-01-01T00:00Z", undeliverable_reason="550"
    )
    mailing = draft(head)

    with django_capture_on_commit_callbacks(execute=True):
        mailing = mailing_start(actor=head, mailing=mailing)
    assert mailing.state == MailingState.SENDING and mailing.total == 9
    send_all(mailing)

    received = _received(smtp_server)
    expected = {f"p{n}@example.com" for n in range(9)} - {"p1@example.com", "p2@example.com"}
    assert set(received) == expected
    assert all(len(messages) == 1 for messages in received.values())
    message = received["p3@example.com"][0]
    assert message["Subject"] == "Новости для Имя3"
    assert message["List-Unsubscribe-Post"] == ONE_CLICK
    assert (
        message["List-Unsubscribe"]
        .strip()
        .startswith("<https://crm.example.ru/mailings/unsubscribe/")
    )
    body = message.get_content()
    assert "Здравствуйте, Имя3!" in body and "https://crm.example.ru/mailings/unsubscribe/" in body
    row = MailingRecipient.objects.get(mailing=mailing, address="p3@example.com")
    assert message["Message-ID"] == row.message_id

    mailing.refresh_from_db()
    assert mailing.state == MailingState.DONE
    skipped = dict(
        MailingRecipient.objects.filter(state=RecipientState.SKIPPED).values_list(
            "address", "reason"
        )
    )
    assert skipped == {
        "p1@example.com": SkipReason.UNSUBSCRIBED,
        "p2@example.com": SkipReason.UNDELIVERABLE,
    }
    entries = TimelineEntry.objects.filter(kind="email", data__mailing_id=mailing.pk)
    assert entries.count() == 7
    assert set(entries.values_list("subject_id", flat=True)) == {
        p.pk for p in people if p not in (unsubscribed, undeliverable)
    }
    report = mailing_report(mailing=mailing)
    assert (report["sent"], report["delivered"], report["skipped"], report["all"]) == (7, 7, 2, 9)


def test_an_address_unsubscribed_after_the_start_is_skipped_at_send_time(
    org, smtp_server, django_capture_on_commit_callbacks
):
    head = org.head
    late = contact_with(head, "late@example.com")
    contact_with(head, "keen@example.com")
    with django_capture_on_commit_callbacks(execute=False):
        mailing = mailing_start(actor=head, mailing=draft(head))
    assert MailingRecipient.objects.filter(mailing=mailing, state="queued").count() == 2
    ContactPoint.objects.filter(pk=email_of(late).pk).update(unsubscribed_at="2026-01-01T00:00Z")

    send_all(mailing)

    assert set(_received(smtp_server)) == {"keen@example.com"}
    assert (
        MailingRecipient.objects.get(address="late@example.com").reason == SkipReason.UNSUBSCRIBED
    )


def test_the_one_click_post_without_a_session_keeps_every_later_mailing_away(
    org, smtp_server, django_capture_on_commit_callbacks
):
    head = org.head
    contact_with(head, "reader@example.com")
    contact_with(head, "other@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        first = mailing_start(actor=head, mailing=draft(head))
    send_all(first)
    message = _received(smtp_server)["reader@example.com"][0]
    url = (
        message["List-Unsubscribe"]
        .strip()
        .split(",")[0]
        .strip("<> ")
        .replace("https://crm.example.ru", "")
    )

    response = Client(enforce_csrf_checks=True).post(url, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    smtp_server.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        second = mailing_start(actor=head, mailing=draft(head, name="Вторая"))
    send_all(second)
    assert set(_received(smtp_server)) == {"other@example.com"}
    report = mailing_report(mailing=first)
    assert report["unsubscribed"] == 1


def test_a_consent_withdrawn_after_the_start_is_skipped_when_the_segment_asked_for_it(
    org, smtp_server, django_capture_on_commit_callbacks
):
    head = org.head
    keen = contact_with(head, "keen@example.com")
    gone = contact_with(head, "gone@example.com")
    Contact.objects.filter(pk__in=[keen.pk, gone.pk]).update(consent_at="2026-01-01T00:00Z")
    segment = segment_of(head, {"has_email": True, "consent": True})
    with django_capture_on_commit_callbacks(execute=False):
        mailing = mailing_start(actor=head, mailing=draft(head, segment=segment))
    assert mailing.requires_consent and mailing.total == 2
    Contact.objects.filter(pk=gone.pk).update(consent_at=None)

    send_all(mailing)

    assert set(_received(smtp_server)) == {"keen@example.com"}
    assert MailingRecipient.objects.get(address="gone@example.com").reason == SkipReason.NO_CONSENT
