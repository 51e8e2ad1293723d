"""Tasks in a real browser: "My day" (overdue highlighted, a to-do done in one click, a call
completed with its outcome) and rescheduling by dragging on the calendar (month and week)."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from crm.customers.tests.factories import make_contact
from crm.e2e.conftest import sign_in
from crm.planner.models import Task, TaskType
from crm.planner.tests.factories import later_today, make_absence, make_task

if TYPE_CHECKING:
    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _task_types(db: None) -> None:
    """The built-in task types come from a data migration, which the flush after an earlier
    transactional test removed."""
    for code, position in (("call", 10), ("meeting", 20), ("email", 30), ("todo", 40)):
        TaskType.objects.get_or_create(code=code, defaults={"name": code, "position": position})


DAY = dt.date(2027, 3, 10)  # a Wednesday


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def test_my_day(page: ShotPage, org: Org, password: str) -> None:
    client = make_contact(org.manager, last_name="Клиентова", first_name="Анна")
    now = timezone.localtime()
    late = make_task(org.manager, title="Отправить счёт", subject=client)
    Task.objects.filter(pk=late.pk).update(due_at=now - dt.timedelta(days=1))
    call = make_task(
        org.manager,
        title="Позвонить Анне",
        type_code="call",
        subject=client,
        due_at=later_today(now),
    )
    make_task(org.manager, title="Подготовить КП", due_at=now + dt.timedelta(days=1))
    make_task(org.colleague, title="Задача отпускника", due_at=later_today(now))
    make_absence(org.colleague, substitute=org.manager)
    sign_in(page, "manager", password)

    page.goto("/")
    page.locator("nav").get_by_role("link", name=re.compile("Tasks|Задачи")).click()
    page.wait_for_url("**/tasks/")
    overdue = page.locator("#day-overdue")
    overdue.get_by_text("Отправить счёт").wait_for()
    assert "border-danger" in (overdue.locator(".card").get_attribute("class") or "")
    page.locator("#day-today").get_by_text("Позвонить Анне").wait_for()
    page.locator("#day-tomorrow").get_by_text("Подготовить КП").wait_for()
    page.locator("#day-today").get_by_text("Задача отпускника").wait_for()
    page.locator("#covering").wait_for()
    page.shots("my-day")

    # A to-do is done in one click.
    with page.expect_navigation():
        overdue.locator(f"[data-task='{late.pk}'] button").click()
    page.locator("#day-overdue .list-group-item:not([data-task])").wait_for()  # "nothing here"
    assert page.locator("#day-overdue [data-task]").count() == 0
    assert Task.objects.get(pk=late.pk).status == "done"
    page.shots("todo-done")

    # A call needs its outcome: the link opens the task with the completion form shown.
    page.locator(f"#day-today [data-task='{call.pk}'] a.btn").click()
    page.wait_for_url(f"**/tasks/{call.pk}/#complete")
    form = page.locator("form#complete")
    form.wait_for(state="visible")
    form.locator("textarea[name=result]").fill("Договорились о встрече")
    form.locator("select[name=outcome]").select_option("reached")
    page.shots("call-completion-form")
    form.locator("button[type=submit]").click()
    page.locator("#task-result").wait_for()
    call.refresh_from_db()
    assert (call.status, call.outcome) == ("done", "reached")
    page.shots("call-done")

    # It is on the client's timeline, with its result.
    page.locator("#task-subject").click()
    page.locator(".timeline").get_by_text("Договорились о встрече").wait_for()
    page.shots("on-the-timeline")


def test_reschedule_by_dragging_on_the_calendar(page: ShotPage, org: Org, password: str) -> None:
    task = make_task(org.manager, title="Встреча с клиентом", due_at=_at(DAY, 10, 30),
                     type_code="meeting")  # fmt: skip
    make_absence(org.colleague, starts_on=DAY, days=1)
    sign_in(page, "head", password)

    # Month view (the head's team calendar): drop on another day keeps the time.
    page.goto(f"/tasks/calendar/?view=month&date={DAY.isoformat()}&scope=team")
    item = page.locator(f".cal-item[data-task='{task.pk}']")
    item.wait_for()
    page.locator(f".cal-day[data-date='{DAY.isoformat()}'] .cal-away").wait_for()
    page.shots("month-before")
    target_day = DAY + dt.timedelta(days=2)
    with page.expect_navigation():
        item.drag_to(page.locator(f".cal-day[data-date='{target_day.isoformat()}']"))
    page.locator(
        f".cal-day[data-date='{target_day.isoformat()}'] .cal-item[data-task='{task.pk}']"
    ).wait_for()
    task.refresh_from_db()
    assert timezone.localtime(task.due_at) == _at(target_day, 10, 30)
    page.shots("month-after-drop")

    # Week view: drop on an hour moves the time too (minutes kept).
    page.goto(f"/tasks/calendar/?view=week&date={DAY.isoformat()}&scope=team")
    item = page.locator(f".cal-item[data-task='{task.pk}']")
    item.wait_for()
    slot = page.locator(f".cal-slot[data-date='{DAY.isoformat()}'][data-hour='15']")
    with page.expect_navigation():
        item.drag_to(slot)
    slot.locator(f".cal-item[data-task='{task.pk}']").wait_for()
    task.refresh_from_db()
    assert timezone.localtime(task.due_at) == _at(DAY, 15, 30)
    page.shots("week-after-drop")
