"""Overdue tasks: the daily digest per user and per team (at the team's time in its time
zone, once a day even with two schedulers), and the escalation of a long-overdue task."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from crm.accounts.models import Team
from crm.activities.models import TimelineEntry
from crm.leads.models import RoutingRule
from crm.leads.services import intake
from crm.notifications.models import Notification
from crm.planner import services
from crm.planner.models import DigestRun, Task
from crm.planner.tests.factories import make_absence, make_task

pytestmark = pytest.mark.django_db

MOSCOW = ZoneInfo("Europe/Moscow")


def _titles(user):
    return list(Notification.objects.filter(recipient=user).values_list("title", flat=True))


def _overdue(owner, *, hours=3, now=None, **fields):
    task = make_task(owner, **fields)
    due = (now or timezone.now()) - dt.timedelta(hours=hours)
    Task.objects.filter(pk=task.pk).update(due_at=due)
    return task


def test_digest_goes_at_the_teams_time_in_its_zone_once(org):
    team = Team.objects.get(name="Москва")
    team.digest_time, team.time_zone = dt.time(9, 0), "Asia/Vladivostok"
    team.save()
    vladivostok = ZoneInfo("Asia/Vladivostok")
    before = dt.datetime.combine(timezone.localdate(), dt.time(8, 59), vladivostok)
    at = before + dt.timedelta(minutes=1)
    _overdue(org.manager, title="Просрочено 1", now=at)
    _overdue(org.manager, title="Просрочено 2", now=at)
    assert services.digests_send(now=before)["runs"] == 0
    sent = services.digests_send(now=at)
    assert sent["users"] == 1 and sent["heads"] == 1
    assert any("2" in title for title in _titles(org.manager))
    (head_title,) = _titles(org.head)
    assert "Москва" in head_title
    # A second scheduler (or the next minute) sends nothing more that day.
    again = services.digests_send(now=at + dt.timedelta(minutes=1))
    assert again["users"] == 0 and again["heads"] == 0
    assert DigestRun.objects.filter(key=f"team:{team.pk}").count() == 1


def test_the_substitute_gets_the_absent_users_overdue_digest(org):
    morning = dt.datetime.combine(timezone.localdate(), dt.time(10, 0), MOSCOW)
    _overdue(org.manager, now=morning)
    make_absence(org.manager, substitute=org.colleague)
    services.digests_send(now=morning)
    (title,) = _titles(org.colleague)
    assert str(org.manager) in title


def test_escalation_goes_to_the_head_and_a_colleague_once(org, settings):
    settings.CRM_TASK_ESCALATE_AFTER_HOURS = 4
    task = _overdue(org.manager, hours=5, title="Забытый звонок")
    _overdue(org.manager, hours=2, title="Свежая просрочка")
    counts = services.escalations_run()
    assert counts["escalated"] == 1
    assert any("Забытый звонок" in title for title in _titles(org.head))
    assert any("Забытый звонок" in title for title in _titles(org.colleague))
    assert _titles(org.outsider) == []
    task.refresh_from_db()
    assert task.escalated_at is not None
    assert org.colleague in task.watchers.all()  # so the task opens for them
    assert services.escalations_run()["escalated"] == 0


def test_escalation_of_an_absent_users_task_goes_to_the_substitute(org, settings):
    settings.CRM_TASK_ESCALATE_AFTER_HOURS = 1
    _overdue(org.manager, hours=5, title="Во время отпуска")
    make_absence(org.manager, substitute=org.colleague)
    services.escalations_run()
    assert any("Во время отпуска" in title for title in _titles(org.colleague))
    assert not any("Во время отпуска" in title for title in _titles(org.head))


def test_escalation_puts_the_clients_history_one_click_from_head_and_colleague(
    org, contact, client, settings
):
    settings.CRM_TASK_ESCALATE_AFTER_HOURS = 1
    _overdue(org.manager, hours=5, subject=contact)
    client.force_login(org.colleague)
    assert client.get(f"/customers/contacts/{contact.pk}/").status_code == 404
    services.escalations_run()
    card = f"/customers/contacts/{contact.pk}/"
    assert Notification.objects.get(recipient=org.head, kind="task").url == card
    # A manager does not see a team-mate's clients: the escalation shares the record.
    colleague_note = Notification.objects.get(recipient=org.colleague, kind="task")
    assert colleague_note.url == card
    told = "Вам открыт доступ к записи"  # in the colleague's language (the site's, Russian)
    assert told in colleague_note.body
    assert told not in Notification.objects.get(recipient=org.head, kind="task").body
    assert client.get(card).status_code == 200
    assert list(contact.shared_with.all()) == [org.colleague]
    entry = TimelineEntry.objects.filter(kind="field_change").latest("id")
    assert entry.subject_id == contact.pk and entry.author is None
    assert entry.data["changes"][0]["field"] == "shared_with"
    assert str(org.colleague) in entry.data["changes"][0]["new"]


@pytest.mark.parametrize("close", ["complete", "cancel"])
def test_closing_the_escalated_task_takes_the_share_back(org, contact, client, settings, close):
    settings.CRM_TASK_ESCALATE_AFTER_HOURS = 1
    task = _overdue(org.manager, hours=5, subject=contact)
    contact.shared_with.add(org.head)  # shared by hand before: stays
    services.escalations_run()
    assert set(contact.shared_with.all()) == {org.head, org.colleague}
    if close == "complete":
        services.task_complete(actor=org.manager, pk=task.pk, result="Сделано")
    else:
        services.task_cancel(actor=org.manager, pk=task.pk)
    assert list(contact.shared_with.all()) == [org.head]
    client.force_login(org.colleague)
    assert client.get(f"/customers/contacts/{contact.pk}/").status_code == 404
    change = TimelineEntry.objects.filter(kind="field_change").latest("id").data["changes"][0]
    assert change["field"] == "shared_with" and str(org.colleague) not in change["new"]
    # reopening does not share it again; nothing is left to take back
    services.task_reopen(actor=org.manager, pk=task.pk)
    assert list(contact.shared_with.all()) == [org.head]
    assert not task.escalation_shares.exists()


def test_escalation_shares_nothing_with_a_colleague_who_sees_the_record(org, contact, settings):
    settings.CRM_TASK_ESCALATE_AFTER_HOURS = 1
    contact.shared_with.add(org.colleague)
    _overdue(org.manager, hours=5, subject=contact)
    services.escalations_run()
    assert list(contact.shared_with.all()) == [org.colleague]
    assert not TimelineEntry.objects.filter(kind="field_change").exists()


def test_a_watcher_who_may_not_open_the_record_sees_its_name_without_a_link(org, contact, client):
    task = make_task(org.manager, subject=contact, title="Позвонить")
    task.watchers.add(org.outsider)
    client.force_login(org.outsider)
    page = client.get(f"/tasks/{task.pk}/").content.decode()
    assert "Клиентова" in page
    assert f"/customers/contacts/{contact.pk}/" not in page


def test_rescheduling_lets_a_task_escalate_again(org, settings):
    settings.CRM_TASK_ESCALATE_AFTER_HOURS = 1
    task = _overdue(org.manager, hours=5)
    services.escalations_run()
    services.task_reschedule(
        actor=org.manager, pk=task.pk, due_at=timezone.now() + dt.timedelta(days=1)
    )
    task.refresh_from_db()
    assert task.escalated_at is None


def test_zero_hours_turns_escalation_off(org, settings):
    settings.CRM_TASK_ESCALATE_AFTER_HOURS = 0
    _overdue(org.manager, hours=500)
    assert services.escalations_run()["escalated"] == 0


def test_a_head_sets_the_teams_digest_time_and_zone(org):
    from conftest import client_for

    team = Team.objects.get(name="Москва")
    client = client_for(org.head)
    assert client.get("/tasks/digests/").status_code == 200
    bad = client.post(
        "/tasks/digests/",
        {
            "team": team.pk,
            f"team{team.pk}-digest_time": "08:30",
            f"team{team.pk}-time_zone": "Mars/Olympus",
        },
    )
    assert bad.status_code == 422
    ok = client.post(
        "/tasks/digests/",
        {
            "team": team.pk,
            f"team{team.pk}-digest_time": "08:30",
            f"team{team.pk}-time_zone": "Asia/Omsk",
        },
    )
    assert ok.status_code == 302
    team.refresh_from_db()
    assert (team.digest_time, team.time_zone) == (dt.time(8, 30), "Asia/Omsk")
    other = Team.objects.get(name="Питер")
    assert client.post("/tasks/digests/", {"team": other.pk}).status_code == 404
    assert client_for(org.manager).get("/tasks/digests/").status_code == 403


def test_escalation_skips_a_colleague_who_is_away(org, settings):
    settings.CRM_TASK_ESCALATE_AFTER_HOURS = 1
    make_absence(org.colleague)  # no substitute needed: it is the manager's task
    _overdue(org.manager, hours=5, title="Забытый звонок")
    assert services.escalations_run()["escalated"] == 1
    assert any("Забытый звонок" in title for title in _titles(org.head))
    assert _titles(org.colleague) == []


def test_an_absent_user_without_a_substitute_escalates_as_usual(org, settings):
    settings.CRM_TASK_ESCALATE_AFTER_HOURS = 1
    make_absence(org.manager)  # recorded, but nobody covers
    _overdue(org.manager, hours=5, title="Без замены")
    services.escalations_run()
    assert any("Без замены" in title for title in _titles(org.head))


def test_the_digest_tells_due_times_in_the_teams_zone(org):
    team = Team.objects.get(name="Москва")
    team.digest_time, team.time_zone = dt.time(9, 0), "Asia/Vladivostok"
    team.save()
    vladivostok = ZoneInfo("Asia/Vladivostok")
    at = dt.datetime.combine(timezone.localdate(), dt.time(9, 0), vladivostok)
    task = _overdue(org.manager, title="Счёт", now=at)
    due = at - dt.timedelta(hours=20)
    Task.objects.filter(pk=task.pk).update(due_at=due)
    services.digests_send(now=at)
    body = Notification.objects.get(recipient=org.manager).body
    assert due.astimezone(vladivostok).strftime("%H:%M") in body
    assert due.astimezone(MOSCOW).strftime("%H:%M") not in body


def test_escalation_of_a_task_on_a_lead_shares_the_lead_with_the_colleague(org, client, settings):
    RoutingRule.objects.update(
        team=Team.objects.get(name="Москва"), strategy="fixed_user", fixed_user=org.manager
    )
    inbound, _created = intake.inbound_store(channel="api", payload={"phone": "+79123456789"})
    lead = intake.inbound_process(inbound.pk)
    assert lead.owner == org.manager
    settings.CRM_TASK_ESCALATE_AFTER_HOURS = 1
    _overdue(org.manager, hours=5, subject=lead)
    card = f"/leads/{lead.pk}/"
    client.force_login(org.colleague)
    assert client.get(card).status_code == 404
    services.escalations_run()
    assert Notification.objects.get(recipient=org.colleague, kind="task").url == card
    page = client.get(card)
    assert page.status_code == 200 and str(org.colleague) in page.content.decode()
    # the colleague sees that one lead, not the manager's others
    other = intake.inbound_process(
        intake.inbound_store(channel="api", payload={"phone": "+79120000002"})[0].pk
    )
    assert client.get(f"/leads/{other.pk}/").status_code == 404
