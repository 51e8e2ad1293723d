"""The calendar page (grid, team view, absences, what may be dragged, query count) and the
iCalendar feed, parsed back with ``icalendar``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from icalendar import Calendar

from conftest import client_for
from crm.planner import selectors, services
from crm.planner.tests.factories import make_absence, make_task

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 12, 16)  # a Wednesday


def _at(day, hour, minute=0):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def test_month_grid_starts_on_monday_and_places_tasks_in_their_days(org):
    make_task(org.manager, title="Встреча", due_at=_at(DAY, 10))
    make_task(org.manager, title="Весь день", due_at=_at(DAY, 0), all_day=True)
    grid = selectors.calendar_view(user=org.manager, view="month", anchor=DAY)
    assert grid.start == dt.date(2026, 11, 30) and grid.end == dt.date(2027, 1, 4)
    assert all(len(week) == 7 for week in grid.weeks)
    cell = next(cell for week in grid.weeks for cell in week if cell.day == DAY)
    assert {item.title for item in cell.items} == {"Встреча", "Весь день"}
    assert all(item.can_move for item in cell.items)


def test_a_month_cell_holds_four_then_counts_the_rest(org):
    for hour in range(9, 16):
        make_task(org.manager, title=f"В {hour}", due_at=_at(DAY, hour))
    grid = selectors.calendar_view(user=org.manager, view="month", anchor=DAY)
    cell = next(cell for week in grid.weeks for cell in week if cell.day == DAY)
    assert len(cell.items) == 4 and cell.more == 3


def test_week_and_day_views_slot_tasks_by_hour(org):
    make_task(org.manager, title="Рано", due_at=_at(DAY, 6, 30))
    make_task(org.manager, title="Днём", due_at=_at(DAY, 14, 15))
    week = selectors.calendar_view(user=org.manager, view="week", anchor=DAY)
    assert week.start == dt.date(2026, 12, 14) and len(week.weeks) == 1
    assert week.hours[0] == 6  # the grid grows to show an early task
    slots = {
        hour: [item.title for item in items]
        for hour, cells in week.hour_rows
        for cell, items, _more in cells
        if cell.day == DAY
    }
    assert slots[6] == ["Рано"] and slots[14] == ["Днём"] and slots[10] == []
    day = selectors.calendar_view(user=org.manager, view="day", anchor=DAY)
    assert len(day.weeks) == 1 and len(day.weeks[0]) == 1


def test_team_calendar_for_a_head_shows_the_team_and_who_is_away(org):
    make_task(org.manager, title="Менеджер", due_at=_at(DAY, 10))
    make_task(org.colleague, title="Коллега", due_at=_at(DAY, 11))
    make_task(org.outsider, title="Чужой", due_at=_at(DAY, 12))
    make_absence(org.colleague, starts_on=DAY, days=2)
    response = client_for(org.head).get(
        "/tasks/calendar/", {"date": DAY.isoformat(), "scope": "team"}
    )
    html = response.content.decode()
    assert "Менеджер" in html and "Коллега" in html and "Чужой" not in html
    assert str(org.colleague) in html  # away
    # A manager asking for a team view gets their own calendar.
    mine = client_for(org.manager).get(
        "/tasks/calendar/", {"date": DAY.isoformat(), "scope": "team"}
    )
    assert mine.context["scope"] == "mine" and "Коллега" not in mine.content.decode()
    assert client_for(org.head).get("/tasks/calendar/", {"team": 99999}).status_code == 404


def test_only_tasks_the_viewer_may_change_are_draggable(org):
    make_task(org.manager, title="Моя", due_at=_at(DAY, 10))
    viewer = selectors.calendar_view(user=org.viewer, view="month", anchor=DAY, scope="team")
    cell = next(cell for week in viewer.weeks for cell in week if cell.day == DAY)
    assert [item.can_move for item in cell.items] == [False]


@pytest.mark.parametrize("view", ["month", "week", "day"])
def test_calendar_query_count_does_not_grow_with_tasks(org, view, django_assert_num_queries):
    make_task(org.manager, due_at=_at(DAY, 10))
    client = client_for(org.head)
    params = {"view": view, "date": DAY.isoformat(), "scope": "team"}
    client.get("/tasks/calendar/", params)
    with CaptureQueriesContext(connection) as one:
        client.get("/tasks/calendar/", params)
    for index in range(30):
        owner = org.manager if index % 2 else org.colleague
        make_task(owner, due_at=_at(DAY + dt.timedelta(days=index % 3), 8 + index % 10))
    make_absence(org.colleague, starts_on=DAY, days=3)
    with django_assert_num_queries(len(one.captured_queries)):
        response = client.get("/tasks/calendar/", params)
    assert response.context["grid"].total >= 11


def test_the_feed_parses_and_revoking_kills_the_url(org, contact):
    make_task(org.manager, title="Звонок клиенту", subject=contact, due_at=_at(DAY, 10),
              duration_minutes=45, type_code="call")  # fmt: skip
    make_task(org.manager, title="Весь день", due_at=_at(DAY, 0), all_day=True)
    make_task(org.colleague, title="Чужая", due_at=_at(DAY, 10))
    client = client_for(org.manager)
    page = client.post("/tasks/calendar/feed/", {"action": "create"})
    url = page.context["url"]
    assert "/tasks/feed/cal_" in url
    path = url.split("testserver", 1)[1]
    anonymous = client_for(None)
    response = anonymous.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = {str(event["summary"]): event for event in calendar.walk("VEVENT")}
    assert set(events) == {"Звонок клиенту", "Весь день"}
    call = events["Звонок клиенту"]
    assert call.decoded("dtend") - call.decoded("dtstart") == dt.timedelta(minutes=45)
    assert str(call["uid"]).startswith("task-")
    assert "Клиентова" in str(call["description"])
    assert events["Весь день"].decoded("dtstart") == DAY
    client.post("/tasks/calendar/feed/", {"action": "revoke"})
    assert anonymous.get(path).status_code == 404
    assert anonymous.get("/tasks/feed/cal_nothing_here.ics").status_code == 404


def test_a_new_link_revokes_the_old_one(org):
    _token, first = services.feed_token_create(actor=org.manager)
    _token, second = services.feed_token_create(actor=org.manager)
    assert services.feed_token_authenticate(first) is None
    assert services.feed_token_authenticate(second) == org.manager
    org.manager.is_active = False
    org.manager.save()
    assert services.feed_token_authenticate(second) is None


def test_absence_pages(org):
    client = client_for(org.manager)
    today = timezone.localdate()
    response = client.post(
        "/tasks/absences/new/",
        {"user_id": org.manager.pk, "kind": "vacation", "starts_on": today.isoformat(),
         "ends_on": (today + dt.timedelta(days=4)).isoformat(), "substitute_id": org.colleague.pk},
    )  # fmt: skip
    assert response.status_code == 302
    board = client_for(org.head).get("/tasks/absences/")
    assert board.status_code == 200
    (row,) = board.context["rows"]
    assert row.user == org.manager and row.days[:5] == ["vacation"] * 5
    absence = board.context["absences"][0]
    assert absence.pk in board.context["manageable"]
    assert client_for(org.outsider).get("/tasks/absences/").context["rows"] == []
    assert (
        client_for(org.colleague).post(f"/tasks/absences/{absence.pk}/cancel/").status_code == 403
    )
    assert client.post(f"/tasks/absences/{absence.pk}/cancel/").status_code == 302


def test_absence_form_shows_the_substitute_refusal(org):
    today = timezone.localdate()
    make_absence(org.colleague, starts_on=today, days=3)
    response = client_for(org.manager).post(
        "/tasks/absences/new/",
        {"user_id": org.manager.pk, "kind": "trip", "starts_on": today.isoformat(),
         "ends_on": today.isoformat(), "substitute_id": org.colleague.pk},
    )  # fmt: skip
    assert response.status_code == 422
    assert response.context["form"].errors["substitute_id"]


def test_absence_board_query_count_does_not_grow(org):
    today = timezone.localdate()
    make_absence(org.manager, starts_on=today, days=2, substitute=org.colleague)
    client = client_for(org.head)
    client.get("/tasks/absences/")
    with CaptureQueriesContext(connection) as one:
        client.get("/tasks/absences/")
    for index in range(1, 4):
        for user in (org.colleague, org.viewer, org.head):
            make_absence(user, starts_on=today + dt.timedelta(days=7 * index), days=2,
                         substitute=org.manager)  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        response = client.get("/tasks/absences/")
    assert len(response.context["absences"]) == 10 and len(response.context["rows"]) == 4
    assert len(many.captured_queries) == len(one.captured_queries)
