"""Arrivals processed in batches (``inbound_process_batch``, what each processing job runs):
in the order they came, each once, the round robin in turn, timeline entries in one INSERT,
routing read once per batch; a failure counts on its own row; a crash before the commit
leaves every arrival of the batch pending and a second run processes each exactly once."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.accounts.models import Team
from crm.activities.models import TimelineEntry
from crm.leads import jobs
from crm.leads.models import Inbound, Lead, RoutingRule
from crm.leads.services import intake, leads
from crm.notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def routed(org):
    RoutingRule.objects.update(team=Team.objects.get(name="Москва"), strategy="round_robin")
    return org


def store(count: int, **payload) -> list[int]:
    return [
        intake.inbound_store(
            channel="api",
            payload={"name": f"Гость {index}", "phone": f"+7912000{index:04d}", **payload},
            process=False,
        )[0].pk
        for index in range(count)
    ]


def test_a_batch_processes_every_pending_arrival_once_in_the_order_they_came(routed):
    ids = store(6, client_type="private")
    again = intake.inbound_store(
        channel="api", payload={"phone": "+79120000001", "message": "Ещё раз"}, process=False
    )[0]
    handled = intake.inbound_process_batch(first_id=ids[3])
    assert handled == [*ids, again.pk]
    rows = Inbound.objects.filter(pk__in=handled)
    assert {row.status for row in rows} == {"processed"}
    assert Lead.objects.count() == 6
    second = Lead.objects.get(phone="+79120000001")
    assert Inbound.objects.get(pk=again.pk).lead == second
    # The round robin goes on in turn through the team's three members.
    owners = Counter(Lead.objects.values_list("owner_id", flat=True))
    assert sorted(owners.values()) == [2, 2, 2]
    titles = Counter(
        TimelineEntry.objects.filter(subject_id__in=Lead.objects.values("id")).values_list(
            "title", flat=True
        )
    )
    assert titles["Lead received"] == 6 and titles["Repeated request"] == 1
    # Each routed lead got its user at the end of the batch: on its first entry, and notified.
    for lead in Lead.objects.select_related("owner"):
        entry = TimelineEntry.objects.get(subject_id=lead.pk, title="Lead received")
        assert entry.data["owner"] == str(lead.owner) and lead.assigned_at is not None
        assert Notification.objects.filter(
            recipient=lead.owner, dedupe_key=f"lead:{lead.pk}:assigned:{lead.owner_id}"
        ).exists()
    # The repeat came in the same batch, before the lead had its user: they hear of it too.
    assert Notification.objects.filter(
        recipient=second.owner, dedupe_key=f"lead:{second.pk}:again:{again.pk}"
    ).exists()


def test_the_job_of_an_arrival_already_in_a_batch_does_nothing(routed):
    ids = store(3)
    assert jobs.inbound_process_job.call(ids[0]) == 3
    assert jobs.inbound_process_job.call(ids[1]) == 0
    assert Lead.objects.count() == 3


def test_a_batch_reads_routing_once_and_writes_timeline_entries_in_one_insert(routed):
    def tables(count: int) -> Counter[str]:
        store(count, client_type="private")
        with CaptureQueriesContext(connection) as captured:
            intake.inbound_process_batch()
        return Counter(
            table
            for query in captured.captured_queries
            for table in ("leads_routingrule", "planner_absence", "activities_timelineentry")
            if f'"{table}"' in query["sql"] and not query["sql"].startswith("SAVEPOINT")
        )

    one, ten = tables(1), tables(10)
    assert ten["leads_routingrule"] == one["leads_routingrule"] == 1
    assert ten["activities_timelineentry"] == one["activities_timelineentry"] == 1
    # The notification's cover check reads absences once per notification.
    assert ten["planner_absence"] - one["planner_absence"] == 9


def test_a_failing_arrival_counts_an_attempt_and_the_others_are_processed(routed, monkeypatch):
    ids = store(3)
    real = leads.match_lead

    def flaky(lead_input):
        if lead_input.phone == "+79120000001":
            raise RuntimeError("database hiccup")
        return real(lead_input)

    monkeypatch.setattr(leads, "match_lead", flaky)
    intake.inbound_process_batch(first_id=ids[0])
    rows = {row.pk: row for row in Inbound.objects.filter(pk__in=ids)}
    assert [rows[pk].status for pk in ids] == ["processed", "pending", "processed"]
    assert rows[ids[1]].attempts == 1 and "hiccup" in rows[ids[1]].error
    assert Lead.objects.count() == 2
    assert TimelineEntry.objects.filter(title="Lead received").count() == 2
    # The failed one is retried alone (by its job or the sweep), not in other batches.
    monkeypatch.setattr(leads, "match_lead", real)
    assert intake.inbound_process_batch() == []
    assert intake.inbound_process_batch(first_id=ids[1]) == [ids[1]]
    assert Lead.objects.count() == 3


class Crash(BaseException):
    """What a killed worker looks like to its transaction: it never commits."""


def test_a_crash_mid_batch_loses_nothing_and_a_rerun_processes_each_once(routed, monkeypatch):
    ids = store(5)
    real = leads.match_lead
    seen: list[str] = []

    def dies_on_the_fourth(lead_input):
        seen.append(lead_input.phone)
        if len(seen) == 4:
            raise Crash
        return real(lead_input)

    monkeypatch.setattr(leads, "match_lead", dies_on_the_fourth)
    with pytest.raises(Crash):
        intake.inbound_process_batch(first_id=ids[0])
    assert set(Inbound.objects.values_list("status", flat=True)) == {"pending"}
    assert (
        not Lead.objects.exists()
        and not TimelineEntry.objects.filter(title="Lead received").exists()
    )
    monkeypatch.setattr(leads, "match_lead", real)
    for inbound_id in ids:  # every job runs after the restart
        jobs.inbound_process_job.call(inbound_id)
    rows = list(Inbound.objects.filter(pk__in=ids).order_by("id"))
    assert [row.status for row in rows] == ["processed"] * 5
    assert len({row.lead_id for row in rows}) == 5 and Lead.objects.count() == 5
    assert TimelineEntry.objects.filter(title="Lead received").count() == 5


@pytest.fixture
def database_jobs(settings):
    """Jobs are stored and wait for a worker (the product's backend), not run at once."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def queued_jobs() -> list:
    from django_tasks_db.models import DBTaskResult

    return list(DBTaskResult.objects.filter(status="READY").order_by("enqueued_at"))


def test_a_burst_of_arrivals_waits_for_one_job_and_its_batch_takes_them_all(
    routed, database_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for index in range(3):
            intake.inbound_store(channel="api", payload={"phone": f"+7912000{index:04d}"})
    [job] = queued_jobs()
    assert jobs.inbound_process_job.call(*job.args_kwargs["args"]) == 3
    assert set(Inbound.objects.values_list("status", flat=True)) == {"processed"}
    # Once that job has started, the next arrival gets a job of its own.
    job.claim("worker-1")
    with django_capture_on_commit_callbacks(execute=True):
        intake.inbound_store(channel="api", payload={"phone": "+79120009999"})
    [second] = queued_jobs()
    assert second.args_kwargs["args"] == [Inbound.objects.latest("id").pk]


def test_a_full_batch_leaves_two_jobs_to_go_on_with_the_backlog(routed, database_jobs, monkeypatch):
    monkeypatch.setattr(intake, "BATCH_SIZE", 2)
    ids = store(5)
    assert jobs.inbound_process_job.call(ids[0]) == 2
    assert len(queued_jobs()) == 2
    assert jobs.inbound_process_job.call(0) == 2
    assert jobs.inbound_process_job.call(0) == 1  # not full: nothing more queued by it
    assert len(queued_jobs()) == 4
    assert set(Inbound.objects.values_list("status", flat=True)) == {"processed"}
