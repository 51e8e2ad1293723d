"""The send job's rules: claims and leases, a broken SMTP connection retried, a refused
recipient failed, replies and bounces of a mailing's messages found by their Message-ID,
the sweep; and (PostgreSQL) two workers at once never sending one recipient twice."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from crm.activities.models import TimelineEntry
from crm.core.records import registry
from crm.customers.models import ContactPoint
from crm.mailings.choices import MailingState, RecipientState
from crm.mailings.models import Mailing, MailingRecipient
from crm.mailings.selectors import mailing_report
from crm.mailings.services import mailing_start
from crm.mailings.services.delivery import _claim, mailing_send_batch, mailing_sweep
from crm.mailings.tests.conftest import contact_with, draft, send_all
from crm.notifications.models import Notification

pytestmark = pytest.mark.django_db


def _started(owner, capture, n: int = 3) -> Mailing:
    for index in range(n):
        contact_with(owner, f"x{index}@example.com", first_name=f"Имя{index}")
    with capture(execute=False):
        return mailing_start(actor=owner, mailing=draft(owner))


def test_two_claims_never_share_a_row_and_a_lapsed_lease_is_taken_again(
    org, settings, django_capture_on_commit_callbacks
):
    settings.CRM_MAILING_BATCH = 2
    mailing = _started(org.head, django_capture_on_commit_callbacks, n=3)
    now = timezone.now()
    _token, first = _claim(mailing, now)
    _token, second = _claim(mailing, now)
    _token, third = _claim(mailing, now)
    assert len(first) == 2 and len(second) == 1 and third == []
    later = now + dt.timedelta(seconds=settings.CRM_MAILING_LEASE_SECONDS + 1)
    _token, again = _claim(mailing, later)
    assert {row.pk for row in again} == {row.pk for row in first}
    assert all(row.attempts == 2 for row in again)


def test_a_refusing_server_is_retried_later_and_a_refused_recipient_fails(
    org, smtp_server, django_capture_on_commit_callbacks
):
    mailing = _started(org.head, django_capture_on_commit_callbacks, n=2)
    smtp_server.refuse = 1  # 451 for the first message: the connection is kept, retried later
    assert mailing_send_batch(mailing_id=mailing.pk) == "sent 0"
    queued = MailingRecipient.objects.filter(state=RecipientState.QUEUED)
    assert queued.count() == 2 and all(row.claimed_until > timezone.now() for row in queued)
    assert "451" in queued.first().error
    MailingRecipient.objects.update(claimed_until=timezone.now() - dt.timedelta(seconds=1))
    send_all(mailing)
    assert MailingRecipient.objects.filter(state=RecipientState.SENT).count() == 2
    assert len(smtp_server.messages) == 2


def _raw_reply(message_id: str, sender: str) -> bytes:
    return (
        f"From: Клиент <{sender}>\r\nTo: news@example.ru\r\nSubject: Re: Новости\r\n"
        f"Message-ID: <reply-1@example.com>\r\nIn-Reply-To: {message_id}\r\n"
        f"References: {message_id}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nСпасибо, интересно!\r\n"
    ).encode()


def _raw_report(message_id: str, recipient: str) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        "To: news@example.ru\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.example.com>\r\nAuto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n"
        "\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {message_id}\r\nSubject: Новости\r\n\r\n--B--\r\n"
    ).encode()


def _claimed(raw: bytes, inbound_id: int) -> tuple[str, dict] | None:
    """What the leads channel does: the registered thread finders in turn."""
    for finder in registry.thread_finders.values():
        outcome = finder.claim(raw, inbound_id)
        if outcome is not None:
            return finder.name, outcome
    return None


def test_a_reply_and_a_bounce_find_their_recipient_and_show_in_the_report(
    org, smtp_server, django_capture_on_commit_callbacks
):
    mailing = _started(org.head, django_capture_on_commit_callbacks, n=2)
    send_all(mailing)
    replying, bouncing = MailingRecipient.objects.order_by("id")

    name, outcome = _claimed(_raw_reply(replying.message_id, replying.address), 1)
    assert name == "mailings.threads" and outcome["recipient_id"] == replying.pk
    entry = TimelineEntry.objects.get(pk=outcome["entry_ids"][0])
    assert entry.direction == "incoming" and entry.subject_id == replying.contact_id
    assert Notification.objects.filter(recipient=org.head).exists()

    name, outcome = _claimed(_raw_report(bouncing.message_id, bouncing.address), 2)
    assert name == "mailings.threads" and outcome["bounce"] is True
    point = ContactPoint.objects.get(value=bouncing.address)
    assert point.undeliverable_at is not None and "5.1.1" in point.undeliverable_reason

    report = mailing_report(mailing=mailing)
    assert (report["sent"], report["delivered"], report["bounced"], report["replied"]) == (
        2,
        1,
        1,
        1,
    )
    assert _claimed(_raw_reply("<unknown@example.com>", "x@example.com"), 3) is None


def test_the_sweep_starts_a_due_scheduled_mailing_and_resumes_a_stalled_one(
    org, smtp_server, django_capture_on_commit_callbacks
):
    contact_with(org.head, "s@example.com")
    later = timezone.now() + dt.timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        mailing = mailing_start(actor=org.head, mailing=draft(org.head, send_at=later))
    assert mailing.state == MailingState.SCHEDULED
    assert mailing_sweep() == {}
    # The tests' queue runs a job at once: the sweep's job sends the batch.
    assert mailing_sweep(now=later + dt.timedelta(seconds=1)) == {"started": 1}
    assert len(smtp_server.messages) == 1
    Mailing.objects.filter(pk=mailing.pk).update(
        state=MailingState.SENDING, next_batch_at=timezone.now() - dt.timedelta(minutes=5)
    )
    assert mailing_sweep() == {"resumed": 1}
    assert Mailing.objects.get().state == MailingState.DONE
    assert len(smtp_server.messages) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need a server")
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_never_send_one_recipient_twice(org, smtp_server, settings):
    settings.CRM_MAILING_BATCH = 5
    for index in range(60):
        contact_with(org.head, f"w{index}@example.com")
    mailing = mailing_start(actor=org.head, mailing=draft(org.head))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _round in range(100):
                if mailing_send_batch(mailing_id=mailing.pk) in ("done", "idle"):
                    break
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    delivered = [address for envelope in smtp_server.messages for address in envelope.rcpt_tos]
    assert len(delivered) == len(set(delivered)) == 60
    assert MailingRecipient.objects.filter(state=RecipientState.SENT).count() == 60
    assert TimelineEntry.objects.filter(data__mailing_id=mailing.pk).count() == 60
