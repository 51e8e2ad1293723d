"""The planner's pages: "My day", the list and its filters, the task card and its forms,
the record cards' panel, and who may see and change what (404 hidden, 403 read-only)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import client_for
from crm.activities.services import timeline_record
from crm.planner.models import Task
from crm.planner.tests.factories import later_today, make_absence, make_task
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db


def _overdue(task, hours=2):
    Task.objects.filter(pk=task.pk).update(due_at=timezone.now() - dt.timedelta(hours=hours))


def test_my_day_groups_overdue_today_and_tomorrow(org, contact):
    now = timezone.localtime()
    late = make_task(org.manager, title="Просроченная", subject=contact)
    _overdue(late, hours=30)
    today_at = later_today(now)
    make_task(org.manager, title="Сегодняшняя", due_at=today_at)
    make_task(org.manager, title="Завтрашняя", due_at=today_at + dt.timedelta(days=1))
    make_task(org.manager, title="Через неделю", due_at=now + dt.timedelta(days=7))
    make_task(org.colleague, title="Чужая", due_at=today_at)
    response = client_for(org.manager).get("/tasks/")
    assert response.status_code == 200
    day = response.context["day"]
    assert [task.title for task in day.overdue] == ["Просроченная"]
    assert [task.title for task in day.today] == ["Сегодняшняя"]
    assert [task.title for task in day.tomorrow] == ["Завтрашняя"]
    html = response.content.decode()
    assert "Чужая" not in html and "Через неделю" not in html
    assert "Клиентова" in html  # the record is one click away


def test_my_day_shows_the_tasks_of_a_colleague_i_cover(org):
    make_task(org.manager, title="Задача отпускника", due_at=timezone.now() + dt.timedelta(hours=1))
    make_absence(org.manager, substitute=org.colleague)
    response = client_for(org.colleague).get("/tasks/")
    assert "Задача отпускника" in response.content.decode()
    assert response.context["day"].covering == [org.manager]


def test_the_list_filters(org, contact):
    call = make_task(org.manager, title="Звонок", type_code="call", subject=contact)
    make_task(org.manager, title="Письмо", type_code="email")
    late = make_task(org.colleague, title="Просрочка коллеги")
    _overdue(late)
    client = client_for(org.head)
    mine = client.get("/tasks/list/").context["page"].items
    assert mine == []
    team = client.get("/tasks/list/", {"scope": "team"}).context["page"].items
    assert {task.title for task in team} == {"Звонок", "Письмо", "Просрочка коллеги"}
    overdue = client.get("/tasks/list/", {"scope": "team", "view": "overdue"}).context["page"]
    assert [task.title for task in overdue.items] == ["Просрочка коллеги"]
    calls = client.get("/tasks/list/", {"scope": "all", "type": "call"}).context["page"]
    assert [task.pk for task in calls.items] == [call.pk]
    record = client.get("/tasks/list/", {"scope": "all", "subject": f"contact:{contact.pk}"})
    assert [task.pk for task in record.context["page"].items] == [call.pk]
    assert client.get("/tasks/list/", {"subject": "nope:1"}).status_code == 400


def test_the_list_pages_with_a_cursor(org):
    for index in range(5):
        make_task(
            org.manager, title=f"T{index}", due_at=timezone.now() + dt.timedelta(hours=index + 1)
        )
    make_task(org.manager, title="Без срока", due_at=None)
    client = client_for(org.manager)
    seen = []
    response = client.get("/tasks/list/", {"limit": 2})
    from crm.planner import selectors

    page = selectors.task_table(user=org.manager, filters=selectors.TaskFilters(), limit=2)
    while True:
        seen += [task.title for task in page.items]
        if not page.next_cursor:
            break
        page = selectors.task_table(
            user=org.manager, filters=selectors.TaskFilters(), limit=2, cursor=page.next_cursor
        )
    assert seen == ["T0", "T1", "T2", "T3", "T4", "Без срока"]
    assert response.status_code == 200
    assert client.get("/tasks/list/", {"cursor": "garbage"}).status_code == 400


def test_list_query_count_does_not_grow_with_rows(org, contact, company, django_assert_num_queries):
    deal = make_deal(org.manager)
    for subject in (contact, company, deal, None):
        make_task(org.manager, subject=subject)
    client = client_for(org.manager)
    client.get("/tasks/list/")  # warm the content-type cache
    with CaptureQueriesContext(connection) as one:
        client.get("/tasks/list/")
    for subject in (contact, company, deal, None) * 5:
        make_task(org.manager, subject=subject, coworker_ids=[org.head.pk])
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get("/tasks/list/")
    assert len(response.context["page"].items) == 24


def test_create_a_task_for_a_contact_from_its_card(org, contact):
    client = client_for(org.manager)
    form = client.get(f"/tasks/new/?subject=contact:{contact.pk}")
    assert form.status_code == 200
    day = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = client.post(
        "/tasks/new/",
        {
            "subject": f"contact:{contact.pk}",
            "title": "Позвонить",
            "type_code": "call",
            "due_date": day,
            "due_time": "10:30",
            "owner_id": org.manager.pk,
            "priority": 2,
            "reminders": ["15", "60"],
            "next": f"/customers/contacts/{contact.pk}/",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"/customers/contacts/{contact.pk}/"
    task = Task.objects.get()
    assert (task.subject_id, task.type.code) == (contact.pk, "call")
    assert timezone.localtime(task.due_at).strftime("%H:%M") == "10:30"
    card = client.get(f"/customers/contacts/{contact.pk}/")
    assert "Позвонить" in card.content.decode()


def test_create_shows_the_services_refusal_on_the_field(org, contact):
    response = client_for(org.manager).post(
        "/tasks/new/",
        {
            "subject": f"contact:{contact.pk}",
            "title": "Позвонить",
            "type_code": "call",
            "due_date": timezone.localdate().isoformat(),
            "due_time": "10:00",
            "owner_id": org.outsider.pk,  # cannot see the contact
            "priority": 2,
        },
    )
    assert response.status_code == 422
    assert response.context["form"].errors["owner_id"]
    assert not Task.objects.exists()


def test_an_impossible_date_is_refused(org):
    response = client_for(org.manager).post(
        "/tasks/new/",
        {"title": "x", "type_code": "todo", "due_date": "2026-02-30", "due_time": "10:00",
         "owner_id": org.manager.pk, "priority": 2},
    )  # fmt: skip
    assert response.status_code == 422
    assert "due_date" in response.context["form"].errors


def test_complete_reopen_reschedule_reassign_through_the_card(org, contact):
    client = client_for(org.manager)
    task = make_task(org.manager, subject=contact, type_code="call")
    assert client.get(f"/tasks/{task.pk}/").status_code == 200
    refused = client.post(f"/tasks/{task.pk}/complete/", {"result": "Занято"})
    assert refused.status_code == 422 and refused.context["open_panel"] == "complete"
    done = client.post(
        f"/tasks/{task.pk}/complete/", {"result": "Договорились", "outcome": "reached"}
    )
    assert done.status_code == 302
    assert client.post(f"/tasks/{task.pk}/reopen/").status_code == 302
    day = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    moved = client.post(f"/tasks/{task.pk}/reschedule/", {"due_date": day, "due_time": "16:00"})
    assert moved.status_code == 302
    task.refresh_from_db()
    assert timezone.localtime(task.due_at).date().isoformat() == day
    given = client.post(f"/tasks/{task.pk}/reassign/", {"owner_id": org.head.pk})
    assert given.status_code == 302
    assert given["Location"] == "/tasks/"  # the manager no longer sees the head's task
    task.refresh_from_db()
    assert task.owner == org.head


def test_reschedule_from_the_calendar_answers_json(org):
    task = make_task(org.manager)
    client = client_for(org.manager)
    day = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    ok = client.post(
        f"/tasks/{task.pk}/reschedule/", {"due_date": day, "due_time": "09:15"},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert ok.status_code == 200 and ok.json()["id"] == task.pk
    bad = client.post(
        f"/tasks/{task.pk}/reschedule/", {"due_date": "2026-13-01", "due_time": "09:15"},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert bad.status_code == 422 and "due_date" in bad.json()["errors"]


def test_edit_a_task(org):
    task = make_task(org.manager, reminders=[0])
    client = client_for(org.manager)
    assert client.get(f"/tasks/{task.pk}/edit/").status_code == 200
    day = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = client.post(
        f"/tasks/{task.pk}/edit/",
        {"title": "Новое название", "type_code": "meeting", "due_date": day, "due_time": "11:00",
         "duration_minutes": 45, "priority": 3, "reminders": ["30"],
         "coworker_ids": [str(org.colleague.pk)]},
    )  # fmt: skip
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.title, task.type.code, task.duration_minutes, task.priority) == (
        "Новое название", "meeting", 45, 3,
    )  # fmt: skip
    assert list(task.reminders.values_list("minutes_before", flat=True)) == [30]
    assert list(task.coworkers.all()) == [org.colleague]


# (viewer, owner of the task) → sees?, changes?
MATRIX = {
    ("admin", "manager"): (True, True),
    ("head", "manager"): (True, True),
    ("head", "outsider"): (False, False),
    ("manager", "manager"): (True, True),
    ("manager", "colleague"): (False, False),
    ("colleague", "manager"): (False, False),
    ("viewer", "manager"): (True, False),
    ("outsider", "manager"): (False, False),
}


@pytest.mark.parametrize(("viewer", "owner"), list(MATRIX))
def test_who_sees_and_changes_a_task_on_the_pages(org, viewer, owner):
    task = make_task(getattr(org, owner))
    sees, changes = MATRIX[(viewer, owner)]
    client = client_for(getattr(org, viewer))
    assert client.get(f"/tasks/{task.pk}/").status_code == (200 if sees else 404)
    moved = client.post(
        f"/tasks/{task.pk}/reschedule/",
        {"due_date": (timezone.localdate() + dt.timedelta(days=1)).isoformat(), "all_day": "on"},
    )
    assert moved.status_code == (302 if changes else 403 if sees else 404)


def test_coworkers_and_watchers_see_the_task(org):
    task = make_task(org.manager, coworker_ids=[org.colleague.pk], watcher_ids=[org.outsider.pk])
    assert client_for(org.colleague).get(f"/tasks/{task.pk}/").status_code == 200
    assert client_for(org.outsider).get(f"/tasks/{task.pk}/").status_code == 200
    assert client_for(org.outsider).post(f"/tasks/{task.pk}/cancel/").status_code == 403
    assert client_for(org.colleague).post(f"/tasks/{task.pk}/cancel/").status_code == 302


def test_read_only_may_not_open_the_new_task_form(org):
    assert client_for(org.viewer).get("/tasks/new/").status_code == 403


def test_anonymous_users_go_to_sign_in(org):
    assert client_for(None).get("/tasks/").status_code == 302


def test_the_card_panels_show_the_records_open_tasks(org, contact, company):
    deal = make_deal(org.manager)
    for subject, url in (
        (contact, f"/customers/contacts/{contact.pk}/"),
        (company, f"/customers/companies/{company.pk}/"),
        (deal, f"/sales/deals/{deal.pk}/"),
    ):
        make_task(
            org.manager, title=f"Задача для {subject.pk}-{type(subject).__name__}", subject=subject
        )
        html = client_for(org.manager).get(url).content.decode()
        assert f"Задача для {subject.pk}-{type(subject).__name__}" in html, url
        assert "/tasks/new/?subject=" in html


def test_the_task_card_links_to_the_record(org, contact):
    task = make_task(org.manager, subject=contact)
    html = client_for(org.manager).get(f"/tasks/{task.pk}/").content.decode()
    assert f'href="/customers/contacts/{contact.pk}/"' in html


def test_other_apps_add_sections_to_my_day(org, monkeypatch):
    from crm.core.records import DayItem, DaySection, registry

    monkeypatch.setattr(registry, "day_sections", {})
    registry.add(
        DaySection(
            "leads",
            "New leads waiting",
            lambda user: [DayItem("Заявка с сайта", "/leads/1/", "5 минут назад", True)],
        )
    )
    html = client_for(org.manager).get("/tasks/").content.decode()
    assert 'id="day-leads"' in html and "Заявка с сайта" in html


def test_completing_with_bad_input_is_refused_and_changes_nothing(org, contact):
    from crm.activities.models import TimelineEntry

    task = make_task(org.manager, subject=contact)  # a to-do: no outcome needed
    client = client_for(org.manager)
    too_long = client.post(f"/tasks/{task.pk}/complete/", {"result": "х" * 5001})
    assert too_long.status_code == 422
    assert too_long.context["complete_form"].errors["result"]
    unknown = client.post(f"/tasks/{task.pk}/complete/", {"result": "ok", "outcome": "maybe"})
    assert unknown.status_code == 422
    assert unknown.context["complete_form"].errors["outcome"]
    task.refresh_from_db()
    assert task.is_open and task.result == ""
    assert not TimelineEntry.objects.filter(subject_id=contact.pk, title="Task done").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"due_date": "31.02.2026"}, "due_date"),
        ({"due_time": "25:61"}, "due_time"),
        ({"reminders": ["-15"]}, "reminders"),  # after the due time: not a choice
        ({"owner_id": "OUTSIDER"}, "owner_id"),  # no access to the contact
        ({"coworker_ids": ["OUTSIDER"]}, "coworker_ids"),
        ({"type_code": "telegram"}, "type_code"),
    ],
)
def test_bad_input_on_the_form_names_the_field_and_writes_nothing(org, contact, change, field):
    data = {
        "subject": f"contact:{contact.pk}",
        "title": "Позвонить",
        "type_code": "call",
        "due_date": (timezone.localdate() + dt.timedelta(days=1)).isoformat(),
        "due_time": "10:00",
        "owner_id": org.manager.pk,
        "priority": 2,
        "reminders": ["15"],
    }
    data.update(change)
    for name, value in list(data.items()):
        if value == "OUTSIDER":
            data[name] = org.outsider.pk
        elif value == ["OUTSIDER"]:
            data[name] = [str(org.outsider.pk)]
    response = client_for(org.manager).post("/tasks/new/", data)
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert not Task.objects.exists()


def test_reassign_on_the_card_to_someone_without_access_is_refused(org, contact):
    task = make_task(org.manager, subject=contact)
    response = client_for(org.manager).post(
        f"/tasks/{task.pk}/reassign/", {"owner_id": org.outsider.pk}
    )
    assert response.status_code == 422
    assert response.context["reassign_form"].errors["owner_id"]
    task.refresh_from_db()
    assert task.owner == org.manager


def test_a_task_for_a_record_one_may_not_see_is_not_found(org, contact):
    client = client_for(org.outsider)
    assert client.get(f"/tasks/new/?subject=contact:{contact.pk}").status_code == 404
    response = client.post(
        "/tasks/new/",
        {"subject": f"contact:{contact.pk}", "title": "x", "type_code": "todo",
         "owner_id": org.outsider.pk, "priority": 2},
    )  # fmt: skip
    assert response.status_code == 404
    assert not Task.objects.exists()
    hidden = make_task(org.manager, subject=contact)
    for path in ("", "edit/"):
        assert client.get(f"/tasks/{hidden.pk}/{path}").status_code == 404
    for action in ("complete", "reopen", "cancel", "reassign"):
        assert client.post(f"/tasks/{hidden.pk}/{action}/").status_code == 404, action
    listed = client.get("/tasks/list/", {"scope": "all", "view": "all"}).context["page"].items
    assert hidden not in listed


def test_my_day_query_count_does_not_grow_with_tasks(org, contact, company):
    deal = make_deal(org.manager)
    soon = timezone.now() + dt.timedelta(hours=1)
    for subject in (contact, company, deal, None):
        _overdue(make_task(org.manager, subject=subject))
        make_task(org.manager, subject=subject, due_at=soon)
    make_absence(org.colleague, substitute=org.manager)
    client = client_for(org.manager)
    client.get("/tasks/")
    with CaptureQueriesContext(connection) as one:
        client.get("/tasks/")
    for subject in (contact, company, deal, None) * 4:
        _overdue(make_task(org.manager, subject=subject, coworker_ids=[org.head.pk]))
        make_task(org.colleague, subject=None, due_at=soon)
        make_task(org.manager, subject=subject, due_at=None)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/tasks/")
    day = response.context["day"]
    assert len(day.overdue) == 20 and len(day.undated) == 16
    assert len(many.captured_queries) == len(one.captured_queries)


def test_the_task_card_shows_the_records_latest_history(org, contact, company):
    timeline_record(subject=contact, kind="call", author=org.manager, body="Просил счёт к пятнице")
    task = make_task(org.manager, title="Выставить счёт", subject=contact)
    html = client_for(org.manager).get(f"/tasks/{task.pk}/").content.decode()
    assert 'id="task-history"' in html and "Просил счёт к пятнице" in html
    # a company's history takes in its people's entries, as on its card
    timeline_record(subject=company, kind="note", author=org.manager, body="Тендер в марте")
    company_task = make_task(org.manager, title="Подготовить тендер", subject=company)
    page = client_for(org.head).get(f"/tasks/{company_task.pk}/").content.decode()
    assert "Тендер в марте" in page


def test_a_watcher_who_may_not_see_the_record_gets_no_history(org, contact):
    timeline_record(subject=contact, kind="note", author=org.manager, body="Тайная заметка")
    task = make_task(org.manager, title="Позвонить", subject=contact)
    task.watchers.add(org.outsider)
    html = client_for(org.outsider).get(f"/tasks/{task.pk}/").content.decode()
    assert "Позвонить" in html
    assert "Тайная заметка" not in html and 'id="task-history"' not in html


def test_the_task_card_costs_the_same_queries_with_a_long_history(org, contact):
    task = make_task(org.manager, title="Позвонить", subject=contact)
    client = client_for(org.manager)
    timeline_record(subject=contact, kind="note", author=org.manager, body="1")
    with CaptureQueriesContext(connection) as one:
        client.get(f"/tasks/{task.pk}/")
    for number in range(30):
        timeline_record(subject=contact, kind="note", author=org.colleague, body=str(number))
    with CaptureQueriesContext(connection) as many:
        client.get(f"/tasks/{task.pk}/")
    assert len(many) == len(one)
