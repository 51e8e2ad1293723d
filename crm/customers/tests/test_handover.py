"""A leaving manager's handover: the preview, every kind moved, the spread, closed deals,
the stage visits, scope, all or nothing, the notices and deactivation."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from conftest import client_for
from crm.activities.choices import EntryKind
from crm.activities.models import TimelineEntry
from crm.core.errors import ValidationFailed
from crm.core.records import registry
from crm.customers.models import BulkReassignment, Company, Contact, Employment
from crm.customers.services import reassign
from crm.customers.services.reassign import HandoverRequest, handover_preview, handover_start
from crm.customers.tests.factories import make_company, make_contact
from crm.leads.choices import LeadStatus
from crm.leads.models import Lead
from crm.notifications.models import Notification
from crm.planner.choices import TaskStatus
from crm.planner.models import Task
from crm.planner.tests.factories import make_task
from crm.sales.choices import DealStatus
from crm.sales.models import StageVisit
from crm.sales.tests.factories import make_deal


@pytest.fixture(autouse=True)
def _progress_cache(settings, tmp_path):
    settings.CACHES = {
        **settings.CACHES,
        "progress": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"progress-{tmp_path.name}",
        },
    }


def _lead(owner, status=LeadStatus.NEW, **fields):
    return Lead.objects.create(title="Заявка", channel="api", owner=owner, status=status, **fields)


def _deal(owner, status=DealStatus.OPEN, **fields):
    deal = make_deal(owner, status=status, **fields)
    StageVisit.objects.create(
        deal=deal, stage=deal.stage, entered_at=deal.stage_entered_at, owner=owner
    )
    return deal


@pytest.fixture
def work(org):
    """The manager's work: a company with an employee, a lone contact, an open and a won
    deal of the company, an open and a converted lead, an open and a done task, and a
    colleague's contact shared with the manager."""
    company = make_company(org.manager)
    employee = make_contact(org.manager, first_name="Сотрудник")
    Employment.objects.create(contact=employee, company=company)
    lone = make_contact(org.manager, first_name="Одиночка")
    shared = make_contact(org.colleague, first_name="Чужой")
    shared.shared_with.add(org.manager)
    task_done = make_task(org.manager)
    Task.objects.filter(pk=task_done.pk).update(status=TaskStatus.DONE)
    task_open = make_task(org.manager)
    Task.objects.filter(pk=task_open.pk).update(escalated_at=timezone.now())
    return {
        "company": company,
        "employee": employee,
        "lone": lone,
        "shared": shared,
        "deal_open": _deal(org.manager, company=company),
        "deal_won": _deal(org.manager, status=DealStatus.WON, company=company),
        "lead_open": _lead(org.manager),
        "lead_closed": _lead(org.manager, status=LeadStatus.CONVERTED),
        "task_open": task_open,
        "task_done": task_done,
    }


def _hand_over(captured, actor, **request):
    with captured(execute=True):
        row = handover_start(actor=actor, request=HandoverRequest(**request))
    row.refresh_from_db()
    return row


def _owner(record):
    return type(record).objects.filter(pk=record.pk).values_list("owner_id", flat=True).get()


def test_preview_counts_every_kind(org, work):
    counts = handover_preview(actor=org.admin, from_user=org.manager)
    assert counts == {
        "company": 1,
        "contact": 2,
        "deal": 1,
        "deal_closed": 1,
        "lead": 1,
        "task": 1,
        "shares": 1,
    }


def test_moves_every_kind_open_work_only(org, work, django_capture_on_commit_callbacks):
    # when
    row = _hand_over(
        django_capture_on_commit_callbacks, org.admin, from_user=org.manager, to_user=org.colleague
    )
    # then
    assert row.status == BulkReassignment.Status.DONE, row.error
    moved = ("company", "employee", "lone", "deal_open", "lead_open", "task_open")
    assert {name: _owner(work[name]) for name in moved} == dict.fromkeys(moved, org.colleague.pk)
    kept = ("deal_won", "lead_closed", "task_done")
    assert {name: _owner(work[name]) for name in kept} == dict.fromkeys(kept, org.manager.pk)
    assert not work["shared"].shared_with.filter(pk=org.manager.pk).exists()
    # as assigning a lead and reassigning a task do: the lead assigned now, the task no
    # longer escalated
    assert Lead.objects.get(pk=work["lead_open"].pk).assigned_at >= row.created_at
    assert Task.objects.get(pk=work["task_open"].pk).escalated_at is None
    assert row.counts == {
        "company": 1,
        "contact": 2,
        "deal": 1,
        "lead": 1,
        "task": 1,
        "shares": 1,
    }
    assert (row.total, row.done) == (6, 6)


def test_closed_deals_move_only_when_asked(org, work, django_capture_on_commit_callbacks):
    row = _hand_over(
        django_capture_on_commit_callbacks,
        org.admin,
        from_user=org.manager,
        to_user=org.colleague,
        include_closed=True,
    )
    assert row.counts["deal"] == 2
    assert _owner(work["deal_won"]) == org.colleague.pk


def test_stage_visits_follow_their_deals_owner(org, work, django_capture_on_commit_callbacks):
    _hand_over(
        django_capture_on_commit_callbacks,
        org.admin,
        from_user=org.manager,
        to_user=org.colleague,
        include_closed=True,
    )
    visits = StageVisit.objects.filter(deal__in=[work["deal_open"], work["deal_won"]])
    assert visits.count() == 2
    assert not visits.exclude(owner=F("deal__owner")).exists()


def test_timeline_says_who_moved_what_to_whom(org, work, django_capture_on_commit_callbacks):
    row = _hand_over(
        django_capture_on_commit_callbacks, org.admin, from_user=org.manager, to_user=org.colleague
    )
    entries = TimelineEntry.objects.filter(
        kind=EntryKind.FIELD_CHANGE, data__reassignment_id=row.pk
    )
    # every moved record of a kind with a timeline (tasks have none)
    assert entries.count() == 5
    change = entries.first().data["changes"][0]
    assert (change["old"], change["new"]) == (str(org.manager), str(org.colleague))
    assert {entry.author_id for entry in entries} == {org.admin.pk}


def test_spread_over_a_team_is_even_and_keeps_clients_together(
    org, django_capture_on_commit_callbacks
):
    # given: four lone contacts and a company with its contact and deal
    lone = [make_contact(org.manager, first_name=f"Имя{i}") for i in range(4)]
    company = make_company(org.manager)
    employee = make_contact(org.manager, first_name="Сотрудник")
    Employment.objects.create(contact=employee, company=company)
    deal = _deal(org.manager, company=company)
    team = org.manager.teams.get()
    # when: the team's receivers are the head and the colleague (not the read-only viewer)
    row = _hand_over(
        django_capture_on_commit_callbacks, org.admin, from_user=org.manager, team=team
    )
    # then
    assert row.status == BulkReassignment.Status.DONE, row.error
    assert sorted(row.filters["receivers"]) == sorted([org.head.pk, org.colleague.pk])
    owners = [_owner(contact) for contact in lone]
    assert sorted(owners.count(pk) for pk in (org.head.pk, org.colleague.pk)) == [2, 2]
    assert _owner(employee) == _owner(company) == _owner(deal)
    assert Contact.objects.filter(owner=org.viewer).count() == 0


def test_one_summary_notice_per_receiver(org, work, django_capture_on_commit_callbacks):
    make_contact(org.manager, first_name="Ещё")
    team = org.manager.teams.get()
    _hand_over(django_capture_on_commit_callbacks, org.admin, from_user=org.manager, team=team)
    notices = Notification.objects.filter(kind=Notification.Kind.ASSIGNED)
    assert sorted(notices.values_list("recipient_id", flat=True)) == sorted(
        [org.head.pk, org.colleague.pk]
    )
    assert all(notice.body for notice in notices)


def test_the_notice_counts_what_the_receiver_got(org, work, django_capture_on_commit_callbacks):
    _hand_over(
        django_capture_on_commit_callbacks, org.admin, from_user=org.manager, to_user=org.colleague
    )
    notice = Notification.objects.get(recipient=org.colleague)
    with translation.override(org.colleague.language or settings.LANGUAGE_CODE):
        expected = [
            f"{registry.kind(key).plural_label}: {count}"
            for key, count in (("company", 1), ("contact", 2), ("deal", 1), ("lead", 1))
        ]
        assert str(org.manager) in notice.title
    assert all(part in notice.body for part in expected), notice.body
    assert notice.url == f"/customers/contacts/?owner={org.colleague.pk}"


def test_a_head_cannot_hand_over_a_user_outside_their_teams(org, work):
    with pytest.raises(ValidationFailed) as error:
        handover_start(
            actor=org.head,
            request=HandoverRequest(from_user=org.outsider, to_user=org.colleague),
        )
    assert "from_user" in error.value.field_errors
    with pytest.raises(ValidationFailed) as error:
        handover_preview(actor=org.head, from_user=org.outsider)
    assert "from_user" in error.value.field_errors


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({}, "to_user"),
        ({"to_user": "outsider"}, "to_user"),
        ({"to_user": "manager"}, "to_user"),
        ({"to_user": "colleague", "deactivate": True}, "deactivate"),
    ],
)
def test_bad_requests_name_the_field(org, request_fields, field):
    fields = {
        name: getattr(org, value) if name == "to_user" else value
        for name, value in request_fields.items()
    }
    with pytest.raises(ValidationFailed) as error:
        handover_start(actor=org.head, request=HandoverRequest(from_user=org.manager, **fields))
    assert field in error.value.field_errors
    assert not BulkReassignment.objects.exists()


def test_failure_in_the_last_chunk_moves_nothing(
    org, work, monkeypatch, django_capture_on_commit_callbacks
):
    # given: the last mover (tasks) fails after the others moved
    last = registry.owner_movers()[-1]

    def broken(ids, from_id, to_id):
        raise RuntimeError("disk full")

    monkeypatch.setattr(
        reassign, "handover_plan", _with_mover(reassign.handover_plan, last.kind, broken)
    )
    # when
    row = _hand_over(
        django_capture_on_commit_callbacks,
        org.admin,
        from_user=org.manager,
        to_user=org.colleague,
        deactivate=True,
    )
    # then
    assert row.status == BulkReassignment.Status.FAILED
    assert "disk full" in row.error
    for name in ("company", "employee", "lone", "deal_open", "lead_open", "task_open"):
        assert _owner(work[name]) == org.manager.pk, name
    assert work["shared"].shared_with.filter(pk=org.manager.pk).exists()
    assert not Notification.objects.exists()
    org.manager.refresh_from_db()
    assert org.manager.is_active


def _with_mover(plan, kind, move):
    """``plan`` with the batches of ``kind`` moved by ``move``."""
    from dataclasses import replace

    def patched(**arguments):
        return [
            replace(batch, mover=replace(batch.mover, move=move))
            if batch.mover.kind == kind
            else batch
            for batch in plan(**arguments)
        ]

    return patched


def test_deactivating_in_the_same_step_ends_sessions(org, work, django_capture_on_commit_callbacks):
    # given: the leaving manager is signed in
    session = SessionStore()
    session[SESSION_KEY] = str(org.manager.pk)
    session.create()
    # when
    row = _hand_over(
        django_capture_on_commit_callbacks,
        org.admin,
        from_user=org.manager,
        to_user=org.colleague,
        deactivate=True,
    )
    # then
    assert row.status == BulkReassignment.Status.DONE, row.error
    org.manager.refresh_from_db()
    assert not org.manager.is_active
    assert not Session.objects.filter(session_key=session.session_key).exists()


def test_companies_and_contacts_of_others_stay(org, work, django_capture_on_commit_callbacks):
    other = make_company(org.colleague)
    _hand_over(
        django_capture_on_commit_callbacks, org.admin, from_user=org.manager, to_user=org.head
    )
    assert Company.objects.get(pk=other.pk).owner_id == org.colleague.pk
    assert _owner(work["shared"]) == org.colleague.pk


# --- the page ---------------------------------------------------------------------------------


def test_page_previews_and_starts_a_handover(org, work, django_capture_on_commit_callbacks):
    client = client_for(org.head)
    url = reverse("customers:handover")
    page = client.get(url, {"from_user": org.manager.pk})
    assert page.status_code == 200
    assert "deactivate" not in page.context["form"].fields  # an administrator's option
    preview = client.get(url, {"preview": 1, "from_user": org.manager.pk, "receivers": "person"})
    assert [(row.key, row.count, row.closed) for row in preview.context["rows"]] == [
        ("company", 1, None),
        ("contact", 2, None),
        ("deal", 1, 1),
        ("lead", 1, None),
        ("task", 1, None),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"from_user": org.manager.pk, "receivers": "person", "to_user": org.colleague.pk}
        )
    row = BulkReassignment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:reassign_status", args=[row.pk])
    status = client.get(response["Location"])
    assert status.status_code == 200
    assert {line.key: line.count for line in status.context["moved"]}["deal"] == 1


def test_page_preview_says_nothing_before_a_user_is_chosen(org):
    client = client_for(org.head)
    preview = client.get(reverse("customers:handover"), {"preview": 1, "receivers": "person"})
    assert preview.status_code == 200
    assert preview.content.decode().strip() == ""
    chosen = client.get(reverse("customers:handover"), {"preview": 1, "from_user": "x"})
    assert "alert" in chosen.content.decode()  # a bad choice is still named


def test_page_names_the_missing_receiver(org):
    client = client_for(org.admin)
    response = client.post(
        reverse("customers:handover"), {"from_user": org.manager.pk, "receivers": "team"}
    )
    assert response.status_code == 422
    assert "team" in response.context["form"].errors
    assert not BulkReassignment.objects.exists()


def test_page_refuses_a_user_outside_the_heads_teams(org, work):
    client = client_for(org.head)
    response = client.post(
        reverse("customers:handover"),
        {"from_user": org.outsider.pk, "receivers": "person", "to_user": org.colleague.pk},
    )
    assert response.status_code == 422
    assert "from_user" in response.context["form"].errors
    assert not BulkReassignment.objects.exists()


def test_page_is_not_for_managers(org):
    assert client_for(org.manager).get(reverse("customers:handover")).status_code == 403


def test_a_head_cannot_spread_over_another_team(org, work):
    other_team = org.outsider.teams.get()
    with pytest.raises(ValidationFailed) as error:
        handover_start(
            actor=org.head, request=HandoverRequest(from_user=org.manager, team=other_team)
        )
    assert "team" in error.value.field_errors


def _queries_of_a_handover(org, clients: int) -> int:
    """The queries of the job handing over ``clients`` sets of a company, its contact, a
    deal, a lead and a task (the manager's earlier work has already gone)."""
    for index in range(clients):
        company = make_company(org.manager, legal_name=f"Фирма {index}")
        contact = make_contact(org.manager, first_name=f"Имя{index}")
        Employment.objects.create(contact=contact, company=company)
        _deal(org.manager, contact=contact)
        _lead(org.manager)
        make_task(org.manager)
    row = handover_start(
        actor=org.admin, request=HandoverRequest(from_user=org.manager, to_user=org.colleague)
    )
    with CaptureQueriesContext(connection) as queries:
        reassign.reassignment_execute(reassignment_id=row.pk)
    row.refresh_from_db()
    assert row.counts["task"] == clients, row.error
    return len(queries)


def test_the_queries_do_not_grow_with_the_records(org):
    _queries_of_a_handover(org, 1)  # warms the content types' cache
    assert _queries_of_a_handover(org, 2) == _queries_of_a_handover(org, 6)
