"""The e-mail copy against a real SMTP server: sent exactly once, retried with back-off,
given up after five attempts, re-enqueued by the sweep when its job was lost."""

from __future__ import annotations

import datetime as dt
import email
import logging
from email.policy import default as default_policy
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from crm.core.records import registry
from crm.notifications.jobs import notification_email_job
from crm.notifications.models import Notification
from crm.notifications.services import (
    EMAIL_MAX_ATTEMPTS,
    SWEEP_GRACE,
    email_retry_delay,
    notify,
    outbox_sweep,
)
from crm.notifications.tests.conftest import free_port

pytestmark = pytest.mark.django_db


def _parse(envelope):
    return email.message_from_bytes(envelope.original_content, policy=default_policy)


def _make_due(notification):
    Notification.objects.filter(pk=notification.pk).update(
        email_next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )


def _notify(recipient, capture, **fields):
    values = {"kind": Notification.Kind.TASK, "title": "Call Ivanov", **fields}
    with capture(execute=True):
        return notify(recipient=recipient, **values)


@pytest.fixture
def database_queue(settings):
    """The real job queue (the database): jobs wait there instead of running at once."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_the_email_is_sent_once_even_when_the_job_runs_twice(
    org, smtp_server, settings, django_capture_on_commit_callbacks
):
    settings.CRM_BASE_URL = "https://crm.example.com"
    settings.DEFAULT_FROM_EMAIL = "crm@example.com"

    notification = _notify(
        org.manager,
        django_capture_on_commit_callbacks,
        body="Before noon, please.",
        url="/customers/contacts/7/",
    )
    again = notification_email_job.call(notification.pk)
    notification_email_job.enqueue(notification.pk)

    assert again == "skipped"
    assert len(smtp_server.messages) == 1
    envelope = smtp_server.messages[0]
    assert envelope.mail_from == "crm@example.com"
    assert envelope.rcpt_tos == [org.manager.email]
    message = _parse(envelope)
    assert message["Subject"] == "Call Ivanov"
    text = message.get_content().replace("\r\n", "\n")
    assert "Before noon, please." in text
    assert f"https://crm.example.com/notifications/{notification.pk}/" in text
    assert "https://crm.example.com/notifications/\n" in text
    notification.refresh_from_db()
    assert notification.emailed_at is not None
    assert notification.email_attempts == 1


def test_a_notification_with_its_own_email_body_sends_it_as_text_and_html(
    org, smtp_server, settings, django_capture_on_commit_callbacks
):
    settings.CRM_BASE_URL = "https://crm.example.com"
    notification = _notify(
        org.manager,
        django_capture_on_commit_callbacks,
        body="Short notice.",
        url="/reports/plans/",
        email_text="The long story.\nSecond line.\n",
        email_html="<p>The long <b>story</b>.</p>",
    )

    message = _parse(smtp_server.messages[0])
    assert message["Subject"] == "Call Ivanov"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("The long story.\nSecond line.\n\n-- \n")
    assert "Short notice." not in text
    assert f"/notifications/{notification.pk}/" not in text
    assert "https://crm.example.com/notifications/\n" in text
    assert message.get_body(("html",)).get_content().strip() == "<p>The long <b>story</b>.</p>"


def test_a_copy_claimed_by_another_worker_is_not_sent(org, smtp_server, database_queue):
    notification = notify(recipient=org.manager, kind=Notification.Kind.TASK, title="Hello")
    # another worker has claimed it: its lease lies in the future
    Notification.objects.filter(pk=notification.pk).update(
        email_attempts=1, email_next_attempt_at=timezone.now() + dt.timedelta(minutes=5)
    )

    assert notification_email_job.call(notification.pk) == "skipped"
    assert smtp_server.messages == []


def test_a_refused_message_schedules_a_retry_with_back_off(
    org, smtp_server, database_queue, django_capture_on_commit_callbacks
):
    smtp_server.refuse = 1
    notification = _notify(org.manager, django_capture_on_commit_callbacks)
    assert DBTaskResult.objects.count() == 1  # the first job waits in the queue

    before = timezone.now()
    outcome = notification_email_job.call(notification.pk)

    assert outcome == "retry"
    assert smtp_server.messages == []
    notification.refresh_from_db()
    assert notification.email_attempts == 1
    assert notification.emailed_at is None
    assert "451" in notification.email_error
    assert notification.email_next_attempt_at >= before + email_retry_delay(1)
    retry = DBTaskResult.objects.get(run_after=notification.email_next_attempt_at)
    assert retry.task_path.endswith("notification_email_job")
    assert retry.args_kwargs["args"] == [notification.pk]
    assert DBTaskResult.objects.count() == 2  # the first job and the retry

    # not due yet: a second run sends nothing; once due, the retry goes out
    assert notification_email_job.call(notification.pk) == "skipped"
    _make_due(notification)
    assert notification_email_job.call(notification.pk) == "sent"
    assert len(smtp_server.messages) == 1
    notification.refresh_from_db()
    assert (notification.email_attempts, notification.email_error) == (2, "")


def test_an_unreachable_server_is_retried(
    org, settings, database_queue, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    notification = _notify(org.manager, django_capture_on_commit_callbacks)

    assert notification_email_job.call(notification.pk) == "retry"
    notification.refresh_from_db()
    assert "ConnectionRefusedError" in notification.email_error


def test_the_copy_is_given_up_after_five_attempts(
    org, smtp_server, django_capture_on_commit_callbacks, caplog
):
    smtp_server.refuse = 100
    notification = _notify(org.manager, django_capture_on_commit_callbacks)  # attempt 1

    outcomes = []
    for _attempt in range(EMAIL_MAX_ATTEMPTS):
        _make_due(notification)
        with caplog.at_level(logging.WARNING, logger="crm.notifications"):
            outcomes.append(notification_email_job.call(notification.pk))

    assert outcomes == ["retry"] * (EMAIL_MAX_ATTEMPTS - 2) + ["failed", "skipped"]
    notification.refresh_from_db()
    assert notification.email_attempts == EMAIL_MAX_ATTEMPTS
    assert notification.emailed_at is None
    assert "451" in notification.email_error
    assert any("notification_email_gave_up" in record.message for record in caplog.records)
    assert outbox_sweep()["emails"] == 0
    assert smtp_server.messages == []


def test_a_recipient_deactivated_before_the_send_gets_no_email(
    org, smtp_server, database_queue, django_capture_on_commit_callbacks
):
    notification = _notify(org.manager, django_capture_on_commit_callbacks)
    org.manager.is_active = False
    org.manager.save()

    assert notification_email_job.call(notification.pk) == "dropped"
    assert smtp_server.messages == []
    notification.refresh_from_db()
    assert notification.email_wanted is False


def test_the_sweep_sends_an_email_whose_job_was_lost(
    org, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # the job never got enqueued
        lost = notify(recipient=org.manager, kind=Notification.Kind.TASK, title="Lost")
        fresh = notify(recipient=org.colleague, kind=Notification.Kind.TASK, title="Fresh")
    Notification.objects.filter(pk=lost.pk).update(
        email_next_attempt_at=timezone.now() - SWEEP_GRACE - dt.timedelta(seconds=1)
    )

    assert outbox_sweep() == {"emails": 1, "webhooks": 0}

    assert [envelope.rcpt_tos for envelope in smtp_server.messages] == [[org.manager.email]]
    fresh.refresh_from_db()
    assert fresh.emailed_at is None  # not overdue: its own job is still expected
    assert outbox_sweep() == {"emails": 0, "webhooks": 0}


def test_the_sweep_is_registered_with_the_scheduler(org, smtp_server):
    sweep = registry.sweeps["notifications.outbox"]

    assert sweep.every <= 300
    assert sweep.run() == {}  # nothing due: nothing to log


def test_the_command_runs_the_sweep(org, smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        lost = notify(recipient=org.manager, kind=Notification.Kind.TASK, title="Lost")
    Notification.objects.filter(pk=lost.pk).update(
        email_next_attempt_at=timezone.now() - SWEEP_GRACE * 2
    )
    out = StringIO()

    call_command("outbox_sweep", stdout=out)

    assert out.getvalue().strip() == "emails=1 webhooks=0"
    assert len(smtp_server.messages) == 1
