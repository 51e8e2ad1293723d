"""/api/v1/tasks and /api/v1/absences: the same rules as the pages (a permission matrix),
and bad input answered 4xx naming the field, with nothing written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from crm.api.tests.conftest import ApiClient, token_for
from crm.planner.models import Absence, Task, TaskReminder
from crm.planner.tests.factories import make_absence, make_task
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db


def api(user) -> ApiClient:
    return ApiClient(token_for(user) if user is not None else None)


def _delete(client, path):
    return client.client.delete(f"/api/v1{path}", headers=client.headers)


def _due(hours=24):
    return (timezone.now() + dt.timedelta(hours=hours)).isoformat()


def test_create_read_change_complete_a_task_for_a_contact(org, contact):
    client = api(org.manager)
    created = client.post(
        "/tasks",
        {"title": "Позвонить", "type": "call", "subject": {"type": "contact", "id": contact.pk},
         "due_at": _due(), "reminders": [{"minutes_before": 30}, {"minutes_before": 0}],
         "coworker_ids": [org.head.pk]},
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["subject"] == {"type": "contact", "id": contact.pk, "name": str(contact)}
    assert [r["minutes_before"] for r in body["reminders"]] == [30, 0]
    assert body["owner"]["id"] == org.manager.pk and body["coworker_ids"] == [org.head.pk]
    pk = body["id"]
    assert client.get(f"/tasks/{pk}").json()["title"] == "Позвонить"
    changed = client.patch(f"/tasks/{pk}", {"title": "Перезвонить", "priority": 3})
    assert changed.status_code == 200 and changed.json()["priority"] == 3
    refused = client.post(f"/tasks/{pk}/complete", {"result": "ok"})
    assert refused.status_code == 422 and "outcome" in refused.json()["errors"]
    done = client.post(f"/tasks/{pk}/complete", {"result": "ok", "outcome": "reached"})
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert client.post(f"/tasks/{pk}/reopen").json()["status"] == "open"
    moved = client.post(f"/tasks/{pk}/reschedule", {"due_at": _due(48)})
    assert moved.status_code == 200
    assert _delete(client, f"/tasks/{pk}").status_code == 204
    assert Task.objects.get(pk=pk).status == "cancelled"


def test_a_personal_to_do_defaults(org):
    response = api(org.manager).post("/tasks", {"title": "Купить бумагу"})
    assert response.status_code == 201
    body = response.json()
    assert body["type"] == "todo" and body["subject"] is None and body["reminders"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"due_at": "2026-02-30T10:00:00+03:00"}, "due_at"),
        ({"due_at": "завтра"}, "due_at"),
        ({"due_at": "2026-12-01T10:00:00"}, "due_at"),  # no offset
        ({"reminders": [{"minutes_before": -15}]}, "reminders[0]"),
        ({"reminders": [{"at": "2099-01-01T00:00:00+03:00"}]}, "reminders[0]"),
        ({"reminders": [{"minutes_before": 5, "at": "2099-01-01T00:00:00+03:00"}]}, "reminders[0]"),
        ({"owner_id": "OUTSIDER"}, "owner_id"),
        ({"type": "telegram"}, "type"),
        ({"title": ""}, "title"),
        ({"priority": 7}, "priority"),
        ({"subject": {"type": "planet", "id": 1}}, "subject"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_input_answers_422_naming_the_field(org, contact, body, field):
    payload = {
        "title": "Звонок",
        "subject": {"type": "contact", "id": contact.pk},
        "due_at": _due(),
    }
    payload.update(body)
    if payload.get("owner_id") == "OUTSIDER":
        payload["owner_id"] = org.outsider.pk  # has no access to the contact
    response = api(org.manager).post("/tasks", payload)
    assert response.status_code == 422, response.json()
    assert field in response.json()["errors"], response.json()
    assert not Task.objects.exists() and not TaskReminder.objects.exists()


def test_reminders_endpoints(org):
    task = make_task(org.manager, reminders=[0])
    client = api(org.manager)
    after = (task.due_at + dt.timedelta(minutes=1)).isoformat()
    refused = client.post(f"/tasks/{task.pk}/reminders", {"at": after})
    assert refused.status_code == 422 and list(refused.json()["errors"]) == ["at"]
    added = client.post(f"/tasks/{task.pk}/reminders", {"minutes_before": 60})
    assert added.status_code == 201
    listed = client.get(f"/tasks/{task.pk}/reminders").json()
    assert sorted(r["minutes_before"] for r in listed) == [0, 60]
    assert _delete(client, f"/tasks/{task.pk}/reminders/{added.json()['id']}").status_code == 204
    assert _delete(client, f"/tasks/{task.pk}/reminders/999999").status_code == 404


# (caller, owner of the task) → may read?, may write?
MATRIX = {
    ("admin", "manager"): (True, True),
    ("head", "manager"): (True, True),
    ("head", "outsider"): (False, False),
    ("manager", "manager"): (True, True),
    ("manager", "colleague"): (False, False),
    ("viewer", "manager"): (True, False),
    ("outsider", "manager"): (False, False),
}


@pytest.mark.parametrize(("caller", "owner"), list(MATRIX))
def test_permission_matrix(org, caller, owner):
    task = make_task(getattr(org, owner))
    reads, writes = MATRIX[(caller, owner)]
    client = api(getattr(org, caller))
    assert client.get(f"/tasks/{task.pk}").status_code == (200 if reads else 404)
    expected = 200 if writes else 403 if reads else 404
    assert client.patch(f"/tasks/{task.pk}", {"title": "Изменено"}).status_code == expected
    assert client.post(f"/tasks/{task.pk}/reschedule", {"due_at": _due(5)}).status_code == expected
    assert client.post(f"/tasks/{task.pk}/complete", {}).status_code == expected
    listed = client.get("/tasks", scope="all", view="all").json()["items"]
    assert (task.pk in [item["id"] for item in listed]) == reads


def test_anonymous_and_read_only_callers(org):
    assert api(None).get("/tasks").status_code == 401
    assert api(org.viewer).post("/tasks", {"title": "x"}).status_code == 403


def test_reassign_to_someone_without_access_names_owner_id(org, contact):
    task = make_task(org.manager, subject=contact)
    response = api(org.manager).post(f"/tasks/{task.pk}/reassign", {"owner_id": org.outsider.pk})
    assert response.status_code == 422 and "owner_id" in response.json()["errors"]
    given = api(org.manager).post(f"/tasks/{task.pk}/reassign", {"owner_id": org.head.pk})
    assert given.status_code == 200 and given.json()["owner"]["id"] == org.head.pk


def test_list_query_count_does_not_grow(org, contact, company):
    deal = make_deal(org.manager)
    for subject in (contact, company, deal, None):
        make_task(org.manager, subject=subject)
    client = api(org.manager)
    client.get("/tasks")
    with CaptureQueriesContext(connection) as one:
        client.get("/tasks")
    for subject in (contact, company, deal, None) * 5:
        make_task(org.manager, subject=subject, coworker_ids=[org.head.pk], reminders=[0, 15])
    with CaptureQueriesContext(connection) as many:
        response = client.get("/tasks")
    assert len(response.json()["items"]) == 24
    assert len(many.captured_queries) == len(one.captured_queries)


def test_absences_api(org):
    client = api(org.manager)
    today = timezone.localdate()
    make_absence(org.colleague, starts_on=today + dt.timedelta(days=2), days=3)
    away_too = client.post(
        "/absences",
        {"kind": "vacation", "starts_on": today.isoformat(),
         "ends_on": (today + dt.timedelta(days=6)).isoformat(), "substitute_id": org.colleague.pk},
    )  # fmt: skip
    assert away_too.status_code == 422 and "substitute_id" in away_too.json()["errors"]
    bad_date = client.post(
        "/absences", {"kind": "trip", "starts_on": "2026-02-30", "ends_on": "2026-03-01"}
    )
    assert bad_date.status_code == 422 and "starts_on" in bad_date.json()["errors"]
    assert Absence.objects.filter(user=org.manager).count() == 0
    created = client.post(
        "/absences",
        {"kind": "trip", "starts_on": today.isoformat(), "ends_on": today.isoformat(),
         "substitute_id": org.head.pk},
    )  # fmt: skip
    assert created.status_code == 201
    body = created.json()
    assert body["user"]["id"] == org.manager.pk and body["substitute"]["id"] == org.head.pk
    away = client.get("/absences/away", on=today.isoformat()).json()
    assert away["user_ids"] == [org.manager.pk]
    # Who is away is told within the teams, like the absences themselves.
    assert api(org.head).get("/absences/away").json()["user_ids"] == [org.manager.pk]
    assert api(org.admin).get("/absences/away").json()["user_ids"] == [org.manager.pk]
    assert api(org.outsider).get("/absences/away").json()["user_ids"] == []
    listed = api(org.head).get("/absences").json()
    assert {item["user"]["id"] for item in listed} == {org.manager.pk, org.colleague.pk}
    assert api(org.outsider).get(f"/absences/{body['id']}").status_code == 404
    other = api(org.colleague).post(
        "/absences",
        {
            "user_id": org.manager.pk,
            "kind": "sick",
            "starts_on": "2027-01-10",
            "ends_on": "2027-01-11",
        },
    )
    assert other.status_code == 403
    assert _delete(api(org.colleague), f"/absences/{body['id']}").status_code == 403
    assert _delete(client, f"/absences/{body['id']}").status_code == 204


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("", {"due_at": "2026-02-30T10:00:00+03:00"}, "due_at"),
        ("", {"due_at": "послезавтра"}, "due_at"),
        ("", {"reminders": [{"minutes_before": -1}]}, "reminders[0]"),
        ("", {"reminders": [{"at": "2099-01-01T00:00:00+03:00"}]}, "reminders[0]"),
        ("", {"coworker_ids": ["OUTSIDER"]}, "coworker_ids"),
        ("", {"title": "Новое", "priority": 9}, "priority"),
        ("/reschedule", {"due_at": "2026-13-01T09:00:00+03:00"}, "due_at"),
        ("/reschedule", {"due_at": "2026-12-01T09:00:00"}, "due_at"),  # no offset
        ("/reassign", {"owner_id": "OUTSIDER"}, "owner_id"),
    ],
)
def test_bad_changes_answer_422_naming_the_field_and_change_nothing(
    org, contact, path, body, field
):
    task = make_task(org.manager, subject=contact, reminders=[15])
    before = (task.title, task.due_at, task.owner_id, task.priority)
    reminders = list(TaskReminder.objects.values_list("id", "minutes_before", "fire_at"))
    for name, value in body.items():
        if value == "OUTSIDER":
            body[name] = org.outsider.pk
        elif value == ["OUTSIDER"]:
            body[name] = [org.outsider.pk]
    client = api(org.manager)
    if path:
        response = client.post(f"/tasks/{task.pk}{path}", body)
    else:
        response = client.patch(f"/tasks/{task.pk}", body)
    assert response.status_code == 422, response.json()
    assert field in response.json()["errors"], response.json()
    task.refresh_from_db()
    assert (task.title, task.due_at, task.owner_id, task.priority) == before
    assert list(TaskReminder.objects.values_list("id", "minutes_before", "fire_at")) == reminders
    assert not task.coworkers.exists()


def test_absence_bad_input_answers_422_and_writes_nothing(org):
    client = api(org.manager)
    org.colleague.away_from = timezone.localdate()
    org.colleague.save()
    today = timezone.localdate().isoformat()
    cases = [
        ({"kind": "trip", "starts_on": "2026-02-30", "ends_on": today}, "starts_on"),
        ({"kind": "trip", "starts_on": today, "ends_on": "завтра"}, "ends_on"),
        ({"kind": "holiday", "starts_on": today, "ends_on": today}, "kind"),
        ({"kind": "trip", "starts_on": today, "ends_on": today,
          "substitute_id": org.colleague.pk}, "substitute_id"),
        ({"kind": "trip", "starts_on": today, "ends_on": today, "substitute_id": 999999},
         "substitute_id"),
    ]  # fmt: skip
    for body, field in cases:
        response = client.post("/absences", body)
        assert response.status_code == 422, body
        assert field in response.json()["errors"], response.json()
    assert not Absence.objects.exists()


def test_absence_list_query_count_does_not_grow(org):
    today = timezone.localdate()
    make_absence(org.manager, starts_on=today, substitute=org.colleague, created_by=org.head)
    client = api(org.head)
    client.get("/absences")
    with CaptureQueriesContext(connection) as one:
        client.get("/absences")
    for index in range(1, 6):
        for user in (org.manager, org.colleague, org.viewer):
            make_absence(
                user, starts_on=today + dt.timedelta(days=10 * index), days=3,
                substitute=org.head, created_by=org.head,
            )  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        response = client.get("/absences")
    assert len(response.json()) == 16
    assert len(many.captured_queries) == len(one.captured_queries)
