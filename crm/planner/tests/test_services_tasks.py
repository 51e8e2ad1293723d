"""Task services: create, edit, complete, reopen, cancel, reschedule, reassign — the happy
paths, each refusal, and that a refused call wrote nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from crm.activities.models import TimelineEntry
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.notifications.models import Notification
from crm.planner import services
from crm.planner.models import Task, TaskReminder
from crm.planner.tests.factories import make_task

pytestmark = pytest.mark.django_db


def _entries(record):
    return list(
        TimelineEntry.objects.filter(subject_id=record.pk)
        .order_by("id")
        .values_list("title", "body")
    )


def test_create_a_call_for_a_contact_plans_it_on_the_timeline(org, contact):
    due = timezone.now() + dt.timedelta(days=1)
    task = services.task_create(
        actor=org.manager,
        title="  Перезвонить   по счёту ",
        owner=org.manager,
        type_code="call",
        subject=contact,
        due_at=due,
        reminders=[15, 60],
        coworker_ids=[org.head.pk],
    )
    assert task.title == "Перезвонить по счёту"
    assert task.created_by == org.manager
    assert sorted(task.reminders.values_list("minutes_before", flat=True)) == [15, 60]
    assert task.reminders.get(minutes_before=15).fire_at == due - dt.timedelta(minutes=15)
    assert list(task.coworkers.all()) == [org.head]
    assert ("Task planned", "Перезвонить по счёту") in _entries(contact)


def test_create_without_reminders_gets_one_at_the_due_time(org):
    task = make_task(org.manager)
    assert list(task.reminders.values_list("minutes_before", flat=True)) == [0]
    undated = make_task(org.manager, due_at=None)
    assert not undated.reminders.exists()


def test_a_task_given_to_someone_else_tells_them(org, contact):
    services.task_create(
        actor=org.head, title="Встреча", owner=org.manager, subject=contact, type_code="meeting"
    )
    note = Notification.objects.get(recipient=org.manager)
    assert "Встреча" in note.title
    assert note.url.startswith("/tasks/")


def test_create_refuses_every_bad_field_at_once_and_writes_nothing(org, contact):
    due = timezone.now() + dt.timedelta(hours=1)
    with translation.override("en"), pytest.raises(ValidationFailed) as caught:
        services.task_create(
            actor=org.manager,
            title=" ",
            owner=org.outsider,  # cannot see the manager's contact
            type_code="nope",
            subject=contact,
            due_at=due,
            reminders=[-5, due + dt.timedelta(minutes=1)],
            priority=9,
        )
    errors = caught.value.field_errors
    assert set(errors) == {"title", "owner_id", "type", "reminders[0]", "reminders[1]", "priority"}
    assert "no access" in errors["owner_id"][0]
    assert "after the due time" in errors["reminders[0]"][0]
    assert not Task.objects.exists()
    assert not TaskReminder.objects.exists()


def test_create_refuses_naive_due_time_and_reminders_without_due(org):
    with pytest.raises(ValidationFailed) as caught:
        services.task_create(
            actor=org.manager, title="x", owner=org.manager, due_at=dt.datetime(2026, 1, 1, 10)
        )
    assert "due_at" in caught.value.field_errors
    with pytest.raises(ValidationFailed) as caught:
        services.task_create(actor=org.manager, title="x", owner=org.manager, reminders=[10])
    assert "reminders" in caught.value.field_errors


def test_read_only_users_may_not_create_and_hidden_records_are_not_found(org, contact):
    with pytest.raises(PermissionDenied):
        services.task_create(actor=org.viewer, title="x", owner=org.viewer)
    with pytest.raises(NotFound):
        services.task_create(actor=org.outsider, title="x", owner=org.outsider, subject=contact)
    assert not Task.objects.exists()


def test_coworkers_and_watchers_must_see_the_record(org, contact):
    with pytest.raises(ValidationFailed) as caught:
        services.task_create(
            actor=org.manager,
            title="x",
            owner=org.manager,
            subject=contact,
            coworker_ids=[org.outsider.pk],
            watcher_ids=[999999],
        )
    assert set(caught.value.field_errors) == {"coworker_ids", "watcher_ids"}


def test_complete_a_call_needs_an_outcome_and_goes_on_the_timeline(org, contact):
    task = make_task(org.manager, subject=contact, type_code="call")
    with pytest.raises(ValidationFailed) as caught:
        services.task_complete(actor=org.manager, pk=task.pk, result="Не дозвонился")
    assert "outcome" in caught.value.field_errors
    task.refresh_from_db()
    assert task.is_open
    done = services.task_complete(
        actor=org.manager, pk=task.pk, result="Договорились о встрече", outcome="reached"
    )
    assert done.status == "done" and done.completed_by == org.manager
    assert ("Task done", "Позвонить клиенту\nДоговорились о встрече") in _entries(contact)
    assert not done.reminders.filter(sent_at__isnull=True).exists()
    with pytest.raises(ValidationFailed):
        services.task_complete(actor=org.manager, pk=task.pk, outcome="reached")


def test_reopen_brings_back_the_reminders_still_ahead(org):
    task = make_task(org.manager, reminders=[0, 30])
    services.task_complete(actor=org.manager, pk=task.pk)
    assert not TaskReminder.objects.filter(task=task, sent_at__isnull=True).exists()
    services.task_reopen(actor=org.manager, pk=task.pk)
    assert TaskReminder.objects.filter(task=task, sent_at__isnull=True).count() == 2
    with pytest.raises(ValidationFailed):
        services.task_reopen(actor=org.manager, pk=task.pk)


def test_reschedule_moves_the_reminders(org):
    task = make_task(org.manager, reminders=[15])
    later = timezone.now() + dt.timedelta(days=3)
    services.task_reschedule(actor=org.manager, pk=task.pk, due_at=later)
    reminder = task.reminders.get()
    assert reminder.fire_at == later - dt.timedelta(minutes=15)
    assert reminder.sent_at is None


def test_rescheduling_into_the_past_consumes_the_reminders_unsent(org):
    task = make_task(org.manager, reminders=[15])
    services.task_reschedule(
        actor=org.manager, pk=task.pk, due_at=timezone.now() - dt.timedelta(hours=1)
    )
    reminder = task.reminders.get()
    assert reminder.sent_at is not None and reminder.delivered_count == 0


def test_all_day_tasks_remind_from_the_start_of_the_working_day(org, settings):
    day = timezone.localdate() + dt.timedelta(days=2)
    due = timezone.make_aware(dt.datetime.combine(day, dt.time(15, 30)))
    task = make_task(org.manager, due_at=due, all_day=True, reminders=[60])
    assert timezone.localtime(task.due_at).time() == dt.time(0, 0)
    reminder = task.reminders.get()
    assert timezone.localtime(reminder.fire_at) == timezone.make_aware(
        dt.datetime.combine(day, dt.time(8, 0))
    )


def test_reassign_needs_access_to_the_record(org, contact):
    task = make_task(org.manager, subject=contact)
    with pytest.raises(ValidationFailed) as caught:
        services.task_reassign(actor=org.manager, pk=task.pk, owner_id=org.outsider.pk)
    assert "owner_id" in caught.value.field_errors
    with pytest.raises(ValidationFailed):
        services.task_reassign(actor=org.manager, pk=task.pk, owner_id=org.viewer.pk)
    services.task_reassign(actor=org.head, pk=task.pk, owner_id=org.head.pk)
    task.refresh_from_db()
    assert task.owner == org.head


def test_who_may_change_a_task(org):
    task = make_task(org.manager, coworker_ids=[org.colleague.pk], watcher_ids=[org.outsider.pk])
    services.task_update(actor=org.colleague, pk=task.pk, title="Коллега поправил")
    services.task_update(actor=org.head, pk=task.pk, priority=3)
    with pytest.raises(PermissionDenied):
        services.task_update(actor=org.outsider, pk=task.pk, title="Наблюдатель")  # a watcher
    with pytest.raises(PermissionDenied):
        services.task_update(actor=org.viewer, pk=task.pk, title="Читатель")
    stranger = make_task(org.outsider)
    with pytest.raises(NotFound):
        services.task_update(actor=org.manager, pk=stranger.pk, title="Чужая")
    task.refresh_from_db()
    assert (task.title, task.priority) == ("Коллега поправил", 3)


def test_update_refusal_changes_nothing(org):
    task = make_task(org.manager, reminders=[15])
    before = task.due_at
    with pytest.raises(ValidationFailed) as caught:
        services.task_update(
            actor=org.manager,
            pk=task.pk,
            title="Новое",
            due_at=timezone.now() + dt.timedelta(days=1),
            reminders=[-1],
        )
    assert set(caught.value.field_errors) == {"reminders[0]"}
    task.refresh_from_db()
    assert (task.title, task.due_at) == ("Позвонить клиенту", before)


def test_cancel_keeps_the_task(org):
    task = make_task(org.manager)
    services.task_cancel(actor=org.manager, pk=task.pk)
    task.refresh_from_db()
    assert task.status == "cancelled"


def test_reminder_add_names_the_field(org):
    task = make_task(org.manager)
    with pytest.raises(ValidationFailed) as caught:
        services.reminder_add(
            actor=org.manager, task_pk=task.pk, spec=task.due_at + dt.timedelta(minutes=5)
        )
    assert list(caught.value.field_errors) == ["at"]
    with pytest.raises(ValidationFailed) as caught:
        services.reminder_add(actor=org.manager, task_pk=task.pk, spec=-10)
    assert list(caught.value.field_errors) == ["minutes_before"]
    reminder = services.reminder_add(actor=org.manager, task_pk=task.pk, spec=30)
    assert reminder.fire_at == task.due_at - dt.timedelta(minutes=30)
