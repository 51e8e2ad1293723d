"""Reminder delivery with a frozen clock: on time, once, late after downtime, to the
co-workers and to the substitute of an absent responsible; closed tasks stay silent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from crm.notifications.models import Notification
from crm.planner import services
from crm.planner.models import TaskReminder
from crm.planner.tests.factories import make_absence, make_task

pytestmark = pytest.mark.django_db


def _reminders(user):
    return list(
        Notification.objects.filter(recipient=user, kind="reminder").values_list("title", flat=True)
    )


def test_nothing_fires_before_its_moment_and_everything_once_after(org):
    due = timezone.now() + dt.timedelta(hours=1)
    task = make_task(org.manager, title="Счёт", due_at=due, reminders=[0, 30])
    assert services.reminders_deliver(now=due - dt.timedelta(minutes=31))["delivered"] == 0
    counts = services.reminders_deliver(now=due - dt.timedelta(minutes=30))
    assert counts == {"delivered": 1, "skipped": 0, "notifications": 1}
    (title,) = _reminders(org.manager)
    assert "Счёт" in title
    assert services.reminders_deliver(now=due - dt.timedelta(minutes=10))["delivered"] == 0
    assert services.reminders_deliver(now=due)["delivered"] == 1
    assert services.reminders_deliver(now=due + dt.timedelta(hours=5))["delivered"] == 0
    assert len(_reminders(org.manager)) == 2
    assert not TaskReminder.objects.filter(task=task, sent_at__isnull=True).exists()


def test_the_reminder_is_also_emailed(org, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    due = timezone.now() + dt.timedelta(minutes=5)
    make_task(org.manager, title="Счёт", due_at=due, reminders=[0])
    with django_capture_on_commit_callbacks(execute=True):
        services.reminders_deliver(now=due)
    (message,) = mail.outbox
    assert message.to == [org.manager.email]
    assert "Счёт" in message.subject


def test_a_reminder_due_while_the_worker_was_down_is_delivered_late_once(org):
    due = timezone.now() + dt.timedelta(minutes=30)
    make_task(org.manager, due_at=due, reminders=[15])
    # The worker was down from before the reminder to well after the task was due.
    late = due + dt.timedelta(hours=3)
    assert services.reminders_deliver(now=late)["delivered"] == 1
    assert services.reminders_deliver(now=late + dt.timedelta(seconds=1))["delivered"] == 0
    assert len(_reminders(org.manager)) == 1


def test_coworkers_get_it_too_and_the_substitute_when_the_responsible_is_away(org):
    due = timezone.now() + dt.timedelta(minutes=5)
    make_task(org.manager, due_at=due, reminders=[0], coworker_ids=[org.colleague.pk])
    make_absence(org.manager, substitute=org.head)
    counts = services.reminders_deliver(now=due)
    assert counts["notifications"] == 3
    assert len(_reminders(org.manager)) == 1
    assert len(_reminders(org.colleague)) == 1
    (cover,) = _reminders(org.head)
    assert str(org.manager) in cover


def test_reminders_of_closed_tasks_are_consumed_silently(org):
    due = timezone.now() + dt.timedelta(minutes=5)
    task = make_task(org.manager, due_at=due, reminders=[0])
    services.task_complete(actor=org.manager, pk=task.pk)
    assert services.reminders_deliver(now=due)["delivered"] == 0
    assert _reminders(org.manager) == []


def test_a_closed_task_between_claim_and_delivery_is_skipped(org):
    due = timezone.now() + dt.timedelta(minutes=5)
    task = make_task(org.manager, due_at=due, reminders=[0])
    # Closed behind the service's back (as if by a concurrent transaction): still unsent.
    type(task).objects.filter(pk=task.pk).update(status="done")
    counts = services.reminders_deliver(now=due)
    assert counts["skipped"] == 1 and counts["delivered"] == 0
    assert TaskReminder.objects.get(task=task).sent_at is not None


def test_a_second_run_of_the_same_moment_sends_nothing_twice(org):
    due = timezone.now() + dt.timedelta(minutes=5)
    for index in range(5):
        make_task(org.manager, title=f"Задача {index}", due_at=due, reminders=[0])
    first = services.reminders_deliver(now=due, batch=2)
    second = services.reminders_deliver(now=due, batch=2)
    assert first["delivered"] == 5 and second["delivered"] == 0
    assert Notification.objects.filter(kind="reminder").count() == 5


def test_a_reminder_row_marked_unsent_again_is_not_notified_twice(org):
    """Even if a bug put a delivered reminder back in the queue, the notification's
    dedupe key keeps the user from getting it twice."""
    due = timezone.now() + dt.timedelta(minutes=5)
    task = make_task(org.manager, due_at=due, reminders=[0])
    services.reminders_deliver(now=due)
    TaskReminder.objects.filter(task=task).update(sent_at=None)
    counts = services.reminders_deliver(now=due)
    assert counts["notifications"] == 0
    assert len(_reminders(org.manager)) == 1


def test_the_reminder_is_written_in_the_recipients_language(org):
    org.manager.language = "en"
    org.manager.save(update_fields=["language"])
    due = timezone.now() + dt.timedelta(minutes=5)
    make_task(org.manager, title="Invoice", due_at=due, reminders=[0])
    services.reminders_deliver(now=due)
    assert _reminders(org.manager) == ["Due now: Invoice"]
