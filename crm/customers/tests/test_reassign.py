"""Bulk reassignment: who may do it, what moves, the history, atomicity and the pages."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from conftest import client_for
from crm.activities.choices import EntryKind
from crm.activities.models import TimelineEntry
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.customers.models import BulkReassignment, Company, Contact, Tag
from crm.customers.services import reassign as reassign_services
from crm.customers.services.reassign import (
    reassignment_execute,
    reassignment_preview,
    reassignment_progress,
    reassignment_start,
)
from crm.customers.tests.factories import make_company, make_contact

BOTH = ["contact", "company"]


@pytest.fixture(autouse=True)
def _progress_cache(settings, tmp_path):
    settings.CACHES = {
        **settings.CACHES,
        "progress": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"progress-{tmp_path.name}",
        },
    }


def _owners(model, ids):
    return dict(model.objects.filter(pk__in=ids).values_list("pk", "owner_id"))


def _start(org, captured, **kwargs):
    kwargs.setdefault("actor", org.admin)
    kwargs.setdefault("from_user", org.manager)
    kwargs.setdefault("to_user", org.colleague)
    kwargs.setdefault("entities", BOTH)
    with captured(execute=True):
        row = reassignment_start(**kwargs)
    row.refresh_from_db()
    return row


def test_moves_all_records_of_the_user_and_writes_history(org, django_capture_on_commit_callbacks):
    # given
    contacts = [
        make_contact(org.manager, first_name=f"Имя{i}", last_name=f"Фамилия{i}") for i in range(3)
    ]
    company = make_company(org.manager)
    others = make_contact(org.outsider, first_name="Чужой")
    # when
    row = _start(org, django_capture_on_commit_callbacks)
    # then
    assert row.status == BulkReassignment.Status.DONE
    assert (row.total, row.done) == (4, 4)
    assert row.finished_at is not None
    assert set(_owners(Contact, [c.pk for c in contacts]).values()) == {org.colleague.pk}
    assert Company.objects.get(pk=company.pk).owner_id == org.colleague.pk
    assert Contact.objects.get(pk=others.pk).owner_id == org.outsider.pk
    entries = TimelineEntry.objects.filter(
        kind=EntryKind.FIELD_CHANGE, data__reassignment_id=row.pk
    )
    assert entries.count() == 4
    entry = entries.get(subject_type=ContentType.objects.get_for_model(Company))
    assert entry.subject_id == company.pk
    assert entry.author == org.admin
    change = entry.data["changes"][0]
    assert change["field"] == "owner_id"
    assert change["old"] == str(org.manager) and change["new"] == str(org.colleague)


def test_moves_exactly_the_filtered_records(org, django_capture_on_commit_callbacks):
    # given
    business = make_contact(org.manager, first_name="Бизнес", client_type="business")
    private = make_contact(org.manager, first_name="Частный", client_type="private")
    tagged = make_contact(org.manager, first_name="Меченый", client_type="business", tags=["VIP"])
    company = make_company(org.manager)
    # when: only business contacts tagged VIP
    row = _start(
        org,
        django_capture_on_commit_callbacks,
        entities=["contact"],
        filters={"client_type": "business", "tag": "vip"},
    )
    # then
    assert row.done == 1
    owners = _owners(Contact, [business.pk, private.pk, tagged.pk])
    assert owners == {
        business.pk: org.manager.pk,
        private.pk: org.manager.pk,
        tagged.pk: org.colleague.pk,
    }
    assert Company.objects.get(pk=company.pk).owner_id == org.manager.pk
    assert row.filters == {"entities": ["contact"], "client_type": "business", "tag": "vip"}
    assert Tag.objects.filter(name="VIP").exists()


def test_preview_counts_what_would_move(org):
    # given
    make_contact(org.manager, first_name="А", client_type="business")
    make_contact(org.manager, first_name="Б", client_type="private")
    make_company(org.manager)
    # when
    all_counts = reassignment_preview(actor=org.admin, from_user=org.manager, entities=BOTH)
    business = reassignment_preview(
        actor=org.admin,
        from_user=org.manager,
        entities=BOTH,
        filters={"client_type": "business"},
    )
    # then
    assert all_counts == {"contact": 2, "company": 1}
    assert business == {"contact": 1, "company": 1}


def test_failure_mid_way_rolls_everything_back(
    org, django_capture_on_commit_callbacks, monkeypatch
):
    # given: chunks of two records, and the history write fails on the second chunk
    contacts = [
        make_contact(org.manager, first_name=f"Имя{i}", last_name=f"Ф{i}") for i in range(5)
    ]
    monkeypatch.setattr(reassign_services, "CHUNK_SIZE", 2)
    real_record = reassign_services.timeline_bulk_record
    calls = []

    def failing_record(*, entries):
        calls.append(len(entries))
        if len(calls) > 1:
            raise RuntimeError("disk full")
        real_record(entries=entries)

    monkeypatch.setattr(reassign_services, "timeline_bulk_record", failing_record)
    entries_before = TimelineEntry.objects.count()
    # when
    row = _start(org, django_capture_on_commit_callbacks, entities=["contact"])
    # then
    assert calls == [2, 2]
    assert row.status == BulkReassignment.Status.FAILED
    assert "disk full" in row.error
    assert row.done == 0
    assert set(_owners(Contact, [c.pk for c in contacts]).values()) == {org.manager.pk}
    assert TimelineEntry.objects.count() == entries_before


def test_rerunning_a_finished_job_does_nothing(org, django_capture_on_commit_callbacks):
    # given: a finished reassignment, then a new record of the old owner
    make_contact(org.manager, first_name="Первый")
    row = _start(org, django_capture_on_commit_callbacks)
    later = make_contact(org.manager, first_name="Поздний")
    entries = TimelineEntry.objects.count()
    # when
    result = reassignment_execute(reassignment_id=row.pk)
    # then
    assert result is None
    row.refresh_from_db()
    assert (row.status, row.done) == (BulkReassignment.Status.DONE, 1)
    assert Contact.objects.get(pk=later.pk).owner_id == org.manager.pk
    assert TimelineEntry.objects.count() == entries


def test_progress_is_read_from_the_progress_cache_while_running(org):
    # given: a running reassignment whose job reported two of five
    row = BulkReassignment.objects.create(
        actor=org.admin,
        from_user=org.manager,
        to_user=org.colleague,
        status=BulkReassignment.Status.RUNNING,
    )
    reassign_services._progress_report(row.pk, 2, 5)
    # when
    progress = reassignment_progress(reassignment=row)
    # then
    assert (progress.done, progress.total, progress.percent) == (2, 5, 40)


def test_a_running_move_whose_worker_went_silent_is_shown_as_stalled(org, monkeypatch):
    # given: a running reassignment whose worker last reported long ago
    row = BulkReassignment.objects.create(
        actor=org.admin,
        from_user=org.manager,
        to_user=org.colleague,
        status=BulkReassignment.Status.RUNNING,
    )
    reassign_services._progress_report(row.pk, 1000, 4000)
    later = reassign_services.time.time() + reassign_services.STALLED_AFTER_SECONDS + 1
    monkeypatch.setattr(reassign_services.time, "time", lambda: later)
    # when
    progress = reassignment_progress(reassignment=row)
    response = client_for(org.admin).get(
        reverse("customers:reassign_status", args=[row.pk]), HTTP_HX_REQUEST="true"
    )
    # then: polling stops and the page says to start again
    assert progress.status == reassign_services.STALLED and progress.is_finished
    body = response.content.decode()
    assert 'hx-trigger="every 1s"' not in body
    assert "alert-warning" in body


def test_head_moves_records_within_own_teams(org, django_capture_on_commit_callbacks):
    # given
    contact = make_contact(org.manager)
    # when
    row = _start(org, django_capture_on_commit_callbacks, actor=org.head)
    # then
    assert row.status == BulkReassignment.Status.DONE
    assert Contact.objects.get(pk=contact.pk).owner_id == org.colleague.pk


@pytest.mark.parametrize(
    ("giver", "receiver"), [("outsider", "colleague"), ("manager", "outsider")]
)
def test_head_cannot_move_records_across_teams(org, giver, receiver):
    # given
    contact = make_contact(org.outsider)
    # when
    with pytest.raises(ValidationFailed) as error:
        reassignment_start(
            actor=org.head,
            from_user=getattr(org, giver),
            to_user=getattr(org, receiver),
            entities=BOTH,
        )
    # then
    assert {"from_user", "to_user"} & set(error.value.field_errors)
    assert not BulkReassignment.objects.exists()
    assert Contact.objects.get(pk=contact.pk).owner_id == org.outsider.pk


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_managers_and_viewers_may_not_reassign(org, role):
    with pytest.raises(PermissionDenied):
        reassignment_start(
            actor=getattr(org, role), from_user=org.manager, to_user=org.colleague, entities=BOTH
        )
    assert not BulkReassignment.objects.exists()


def test_refuses_bad_requests(org):
    # given
    org.outsider.is_active = False
    org.outsider.save()
    cases = [
        ({"from_user": org.manager, "to_user": org.manager}, "to_user"),
        ({"from_user": org.manager, "to_user": org.outsider}, "to_user"),
        ({"from_user": org.manager, "to_user": org.colleague, "entities": []}, "entities"),
        ({"from_user": org.manager, "to_user": org.colleague, "entities": ["deal"]}, "entities"),
        (
            {"from_user": org.manager, "to_user": org.colleague, "filters": {"client_type": "x"}},
            "client_type",
        ),
    ]
    for arguments, field in cases:
        arguments = {"entities": BOTH, **arguments}
        # when
        with pytest.raises(ValidationFailed) as error:
            reassignment_start(actor=org.admin, **arguments)
        # then
        assert field in error.value.field_errors
    assert not BulkReassignment.objects.exists()


def test_a_deactivated_users_records_can_be_moved(org, django_capture_on_commit_callbacks):
    # given
    contact = make_contact(org.manager)
    org.manager.is_active = False
    org.manager.save()
    # when
    row = _start(org, django_capture_on_commit_callbacks)
    # then
    assert row.status == BulkReassignment.Status.DONE
    assert Contact.objects.get(pk=contact.pk).owner_id == org.colleague.pk


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 302), ("viewer", 403), ("manager", 403), ("head", 200), ("admin", 200)],
)
def test_reassign_page_permissions(org, role, status):
    client = client_for(None if role == "anonymous" else getattr(org, role))
    response = client.get(reverse("customers:reassign"))
    assert response.status_code == status


def test_head_sees_only_own_team_users_in_the_form(org):
    response = client_for(org.head).get(reverse("customers:reassign"))
    choices = {str(user.pk) for user in response.context["form"].fields["from_user"].queryset}
    assert str(org.manager.pk) in choices
    assert str(org.outsider.pk) not in choices


def test_reassign_page_preview_fragment(org):
    # given
    make_contact(org.manager)
    make_company(org.manager)
    # when
    response = client_for(org.admin).get(
        reverse("customers:reassign"),
        {"preview": "1", "from_user": org.manager.pk, "entities": "both"},
        HTTP_HX_REQUEST="true",
    )
    # then
    assert response.status_code == 200
    assert response.context["counts"] == {"contact": 1, "company": 1}


def test_posting_the_form_starts_the_job_and_shows_the_result(
    org, django_capture_on_commit_callbacks
):
    # given
    contact = make_contact(org.manager)
    client = client_for(org.admin)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("customers:reassign"),
            {"from_user": org.manager.pk, "to_user": org.colleague.pk, "entities": "contact"},
        )
    # then
    row = BulkReassignment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:reassign_status", args=[row.pk])
    assert Contact.objects.get(pk=contact.pk).owner_id == org.colleague.pk
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert 'hx-trigger="every 1s"' not in page.content.decode()
    assert f"?owner={org.colleague.pk}" in page.content.decode()


def test_posting_bad_input_answers_422(org):
    response = client_for(org.admin).post(
        reverse("customers:reassign"),
        {"from_user": org.manager.pk, "to_user": org.manager.pk, "entities": "both"},
    )
    assert response.status_code == 422
    assert response.context["form"].errors["to_user"]
    assert not BulkReassignment.objects.exists()


def test_status_page_polls_while_running(org):
    # given
    row = BulkReassignment.objects.create(
        actor=org.admin,
        from_user=org.manager,
        to_user=org.colleague,
        status=BulkReassignment.Status.RUNNING,
    )
    reassign_services._progress_report(row.pk, 1000, 4000)
    # when
    response = client_for(org.admin).get(
        reverse("customers:reassign_status", args=[row.pk]), HTTP_HX_REQUEST="true"
    )
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in body
    assert 'aria-valuenow="25"' in body
    assert "<html" not in body


@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 302), ("manager", 403), ("viewer", 403), ("head", 404), ("admin", 200)],
)
def test_status_page_permissions(org, role, status):
    # given: a reassignment between users of team B, started by the admin
    from crm.accounts.tests.factories import UserFactory

    other = UserFactory(username="other")
    row = BulkReassignment.objects.create(actor=org.admin, from_user=org.outsider, to_user=other)
    client = client_for(None if role == "anonymous" else getattr(org, role))
    # when
    response = client.get(reverse("customers:reassign_status", args=[row.pk]))
    # then
    assert response.status_code == status
