"""Absence cover end to end, through the pages: the manager records a vacation with a
colleague as substitute; the colleague sees the manager's client and tasks, gets the
reminder, completes the task; when the absence is cancelled the access is gone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conftest import client_for
from crm.activities.models import TimelineEntry
from crm.customers.tests.factories import make_contact
from crm.notifications.models import Notification
from crm.planner import services
from crm.planner.models import Absence
from crm.planner.tests.factories import make_task

pytestmark = pytest.mark.django_db


def test_cover_from_recording_to_the_end(org):
    client = make_contact(org.manager, last_name="Клиентов", first_name="Олег")
    due = timezone.now() + dt.timedelta(hours=2)
    task = make_task(org.manager, title="Позвонить Олегу", subject=client, due_at=due,
                     type_code="call", reminders=[30])  # fmt: skip
    manager, colleague = client_for(org.manager), client_for(org.colleague)
    card = f"/customers/contacts/{client.pk}/"
    assert colleague.get(card).status_code == 404
    assert colleague.get(f"/tasks/{task.pk}/").status_code == 404

    today = timezone.localdate()
    recorded = manager.post(
        "/tasks/absences/new/",
        {"user_id": org.manager.pk, "kind": "vacation", "starts_on": today.isoformat(),
         "ends_on": (today + dt.timedelta(days=6)).isoformat(), "substitute_id": org.colleague.pk},
    )  # fmt: skip
    assert recorded.status_code == 302
    assert Notification.objects.filter(recipient=org.colleague, kind="system").exists()

    # The substitute sees and works the absent manager's records and tasks.
    assert colleague.get(card).status_code == 200
    assert "Позвонить Олегу" in colleague.get("/tasks/").content.decode()
    services.reminders_deliver(now=due - dt.timedelta(minutes=30))
    assert Notification.objects.filter(recipient=org.colleague, kind="reminder").count() == 1
    assert Notification.objects.filter(recipient=org.manager, kind="reminder").count() == 1
    done = colleague.post(
        f"/tasks/{task.pk}/complete/", {"result": "Перезвонит сам", "outcome": "call_back"}
    )
    assert done.status_code == 302
    entry = TimelineEntry.objects.filter(subject_id=client.pk, title="Task done").get()
    assert entry.author == org.colleague

    # Cancelled: the access ends at once; the absence stays as the record of the grant.
    absence = Absence.objects.get(user=org.manager)
    assert manager.post(f"/tasks/absences/{absence.pk}/cancel/").status_code == 302
    assert colleague.get(card).status_code == 404
    assert colleague.get(f"/tasks/{task.pk}/").status_code == 404
    absence.refresh_from_db()
    assert absence.cancelled_at is not None and absence.substitute == org.colleague
