"""The audit log: append-only (application and database), an event for each kind of change
that matters, the administrator's page with filters, and its CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import client_for
from crm.accounts.models import AppendOnlyError, SecurityEvent, Team, User
from crm.accounts.services import security_event_record, team_save, user_update
from crm.accounts.tests.factories import UserFactory
from crm.customers.models import BulkReassignment
from crm.customers.services.merge import customer_merge
from crm.customers.tests.factories import make_company, make_contact

ROLES = ["anonymous", "viewer", "manager", "head", "admin"]
ADMIN_ONLY = {"anonymous": 302, "viewer": 403, "manager": 403, "head": 403, "admin": 200}
LOG_URL = reverse("accounts:security_log")
EXPORT_URL = reverse("accounts:security_log_export")


def _client(org, role):
    return client_for(None if role == "anonymous" else getattr(org, role))


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # Excel's UTF-8 byte-order mark
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# --- append-only ------------------------------------------------------------------------------


def test_a_stored_event_cannot_be_changed_or_deleted_through_the_orm(db):
    event = security_event_record(kind=SecurityEvent.Kind.LOGIN_FAILED, username="guess")
    event.username = "someone else"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        SecurityEvent.objects.filter(pk=event.pk).update(username="x")
    with pytest.raises(AppendOnlyError):
        SecurityEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        SecurityEvent.objects.all().delete()
    event = SecurityEvent.objects.get(pk=event.pk)
    assert event.username == "guess"


def test_the_database_refuses_an_update(db):
    event = security_event_record(kind=SecurityEvent.Kind.LOGIN_FAILED, username="guess")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_securityevent SET username = %s WHERE id = %s", ["x", event.pk]
        )
    assert SecurityEvent.objects.get(pk=event.pk).username == "guess"


def test_the_database_refuses_a_delete(db):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite empties tables with DELETE (flush); only the application refuses")
    event = security_event_record(kind=SecurityEvent.Kind.LOGIN_FAILED, username="guess")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_securityevent WHERE id = %s", [event.pk])
    assert SecurityEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_test_runner_can_still_empty_the_table():
    """A transactional test's teardown empties every table (TRUNCATE on PostgreSQL): the
    triggers must not stop it. This test writes events and relies on that teardown."""
    security_event_record(kind=SecurityEvent.Kind.LOGIN_FAILED, username="guess")
    assert SecurityEvent.objects.count() == 1


def test_deleting_a_user_leaves_their_events_alone(db):
    user = UserFactory(username="leaver")
    security_event_record(kind=SecurityEvent.Kind.LOGIN, user=user)
    user_id = user.pk
    user.delete()
    event = SecurityEvent.objects.select_related("user").get()
    assert (event.user_id, event.user, event.username) == (user_id, None, "leaver")


def test_nul_characters_never_reach_the_database(db):
    event = security_event_record(
        kind=SecurityEvent.Kind.LOGIN_FAILED, username="a\x00b", data={"q": "x\x00y"}
    )
    event = SecurityEvent.objects.get(pk=event.pk)
    assert (event.username, event.data) == ("ab", {"q": "xy"})


# --- events -----------------------------------------------------------------------------------


def test_a_role_and_team_change_records_old_and_new(org):
    team_b = Team.objects.get(name="Питер")
    client = client_for(org.admin)
    response = client.post(
        reverse("accounts:user_edit", args=[org.manager.pk]),
        {
            "username": "manager",
            "role": "head",
            "teams": [team_b.pk],
            "password1": "N3w-pass-2026!",
            "password2": "N3w-pass-2026!",
        },
    )
    assert response.status_code == 302
    changed = SecurityEvent.objects.get(kind="user_changed")
    assert changed.data["role"] == {"old": "manager", "new": "head"}
    assert changed.data["teams"] == {"old": ["Москва"], "new": ["Питер"]}
    assert (changed.user, changed.actor, changed.ip_address) == (
        org.manager,
        org.admin,
        "127.0.0.1",
    )
    reset = SecurityEvent.objects.get(kind="password_reset")
    assert (reset.user, reset.actor, reset.ip_address) == (org.manager, org.admin, "127.0.0.1")
    assert "N3w-pass" not in str(changed.data) + str(reset.data)


def test_an_unchanged_team_list_is_not_reported(org):
    user_update(actor=org.admin, user=org.manager, teams=list(org.manager.teams.all()))
    assert not SecurityEvent.objects.filter(kind="user_changed").exists()


def test_team_creation_and_membership_changes_are_recorded(org):
    client = client_for(org.admin)
    client.post(
        reverse("accounts:team_create"),
        {"name": "Казань", "members": [org.outsider.pk], "heads": [org.head.pk]},
    )
    created = SecurityEvent.objects.get(kind="team_created")
    assert created.data["team"] == "Казань"
    assert created.data["members_added"] == ["outsider"]
    assert created.data["heads_added"] == ["head"]
    assert (created.actor, created.ip_address) == (org.admin, "127.0.0.1")

    team = Team.objects.get(name="Казань")
    client.post(
        reverse("accounts:team_edit", args=[team.pk]),
        {"name": "Казань-2", "members": [org.colleague.pk], "heads": []},
    )
    changed = SecurityEvent.objects.get(kind="team_changed")
    assert changed.data["old_name"] == "Казань"
    assert changed.data["members_added"] == ["colleague"]
    assert changed.data["members_removed"] == ["outsider"]
    assert changed.data["heads_removed"] == ["head"]


def test_saving_a_team_unchanged_records_nothing(org):
    team = Team.objects.get(name="Питер")
    team_save(actor=org.admin, team=team, name="Питер", members=[org.outsider], heads=[])
    assert not SecurityEvent.objects.filter(kind="team_changed").exists()


@pytest.mark.parametrize("what", ["contacts", "companies"])
def test_an_export_records_who_what_and_how_many_rows(org, what):
    make_contact(org.manager, last_name="Первый")
    make_contact(org.manager, last_name="Второй", tags=["опт"])
    make_company(org.manager, legal_name="Ромашка")
    name = "customers:contact_export" if what == "contacts" else "customers:company_export"
    response = client_for(org.head).get(reverse(name), {"tag": "опт"}, follow=True)
    b"".join(response.streaming_content)
    event = SecurityEvent.objects.get(kind="export")
    assert (event.actor, event.ip_address) == (org.head, "127.0.0.1")
    assert event.data["what"] == what
    assert event.data["rows"] == (1 if what == "contacts" else 0)
    assert event.data["filters"] == {"tag": "опт"}


def test_a_merge_is_recorded_with_the_address(org):
    first = make_contact(org.manager, last_name="Иванов", first_name="Иван")
    second = make_contact(org.manager, last_name="Иванов", first_name="Иван")
    response = client_for(org.manager).post(
        reverse("customers:merge", args=["contact", first.pk, second.pk]), {"survivor": second.pk}
    )
    assert response.status_code == 302
    event = SecurityEvent.objects.get(kind="merge")
    assert (event.actor, event.ip_address) == (org.manager, "127.0.0.1")
    assert event.data["entity"] == "contact"
    assert event.data["survivor"]["id"] == second.pk
    assert event.data["merged"]["id"] == first.pk


def test_a_merge_by_the_service_takes_the_address_as_an_argument(org):
    first, second = make_company(org.manager), make_company(org.manager)
    customer_merge(
        actor=org.manager,
        entity="company",
        survivor_id=first.pk,
        merged_id=second.pk,
        choices={},
        ip_address="203.0.113.7",
    )
    assert SecurityEvent.objects.get(kind="merge").ip_address == "203.0.113.7"


def test_a_bulk_reassignment_is_recorded_when_asked_and_when_done(
    org, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.CACHES = {
        **settings.CACHES,
        "progress": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"progress-{tmp_path.name}",
        },
    }
    make_contact(org.manager)
    make_company(org.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(org.admin).post(
            reverse("customers:reassign"),
            {"from_user": org.manager.pk, "to_user": org.colleague.pk, "entities": "both"},
        )
    assert response.status_code == 302
    row = BulkReassignment.objects.get()
    queued, done = SecurityEvent.objects.filter(kind="reassign").order_by("id")
    assert (queued.actor, queued.user, queued.ip_address) == (org.admin, org.manager, "127.0.0.1")
    assert queued.data["status"] == "queued" and queued.data["to"] == "colleague"
    assert done.data == {
        "reassignment_id": row.pk,
        "status": "done",
        "from": "manager",
        "to": "colleague",
        "moved": 2,
        "counts": {"contact": 1, "company": 1},
    }


def test_the_import_kind_exists_for_the_importer():
    assert SecurityEvent.Kind.IMPORT == "import"
    assert str(SecurityEvent.Kind.IMPORT.label)


def test_sign_in_events_carry_the_address_and_browser(org, password, client):
    client.post(
        reverse("accounts:login"),
        {"username": "manager", "password": password},
        headers={"User-Agent": "Firefox/140"},
    )
    event = SecurityEvent.objects.get(kind="login")
    assert (event.user, event.ip_address, event.user_agent) == (
        org.manager,
        "127.0.0.1",
        "Firefox/140",
    )


# --- the page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_audit_page_and_export_permission_matrix(org, role):
    client = _client(org, role)
    assert client.get(LOG_URL).status_code == ADMIN_ONLY[role]
    assert client.get(EXPORT_URL).status_code == ADMIN_ONLY[role]
    exported = SecurityEvent.objects.filter(kind="export").count()
    assert exported == (1 if role == "admin" else 0)  # a refused export is not an export


def _events(org):
    """Three events at known times and addresses."""
    base = timezone.make_aware(dt.datetime(2026, 3, 10, 12, 0))
    rows = [
        ("login", org.manager, None, "10.0.0.1", base),
        ("user_changed", org.manager, org.admin, "10.0.0.2", base + dt.timedelta(days=1)),
        ("login", org.colleague, None, "10.0.0.1", base + dt.timedelta(days=2)),
    ]
    for kind, user, actor, address, when in rows:
        SecurityEvent.objects.create(
            kind=kind, user=user, actor=actor, ip_address=address, created_at=when
        )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "login"}, ["colleague", "manager"]),
        ({"user": "manager"}, ["manager", "manager"]),
        ({"actor": "admin"}, ["manager"]),
        ({"address": "10.0.0.1"}, ["colleague", "manager"]),
        ({"date_from": "2026-03-11", "date_to": "2026-03-11"}, ["manager"]),
        ({"date_from": "2026-03-11"}, ["colleague", "manager"]),
        ({"date_to": "2026-03-10"}, ["manager"]),
    ],
)
def test_audit_page_filters(org, params, expected):
    _events(org)
    ids = {"manager": org.manager.pk, "admin": org.admin.pk}
    query = {key: ids.get(value, value) for key, value in params.items()}
    response = client_for(org.admin).get(LOG_URL, query)
    assert response.status_code == 200
    assert [event.user.username for event in response.context["page"].items] == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"address": "not-an-address"}, "address"),
        ({"date_from": "2026-13-45"}, "date_from"),
        ({"date_from": "2026-03-12", "date_to": "2026-03-10"}, "date_to"),
        ({"kind": "nonsense"}, "kind"),
    ],
)
def test_bad_filters_answer_400_naming_the_field(org, params, field):
    client = client_for(org.admin)
    page = client.get(LOG_URL, params)
    assert page.status_code == 400
    assert field in page.context["form"].errors
    export = client.get(EXPORT_URL, params)
    assert export.status_code == 400
    assert field in export.content.decode()


def test_audit_page_query_count_does_not_grow(org):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client_for(org.admin).get(LOG_URL).status_code == 200
        return len(queries)

    security_event_record(kind="login", user=org.manager)
    one = count()
    for user in (org.head, org.colleague, org.viewer, org.outsider):
        security_event_record(kind="user_changed", user=user, actor=org.admin)
    assert count() == one


def test_audit_page_renders_in_russian_and_english(org):
    security_event_record(kind="2fa_reset", user=org.manager, actor=org.admin)
    client = client_for(org.admin)
    russian = client.get(LOG_URL, headers={"Accept-Language": "ru"}).content.decode()
    assert "Журнал аудита" in russian
    english = client.get(LOG_URL, headers={"Accept-Language": "en"}).content.decode()
    assert "Audit log" in english


# --- the export -------------------------------------------------------------------------------


def test_export_streams_the_filtered_rows_and_is_itself_audited(org):
    _events(org)
    SecurityEvent.objects.create(kind="login_failed", username="=cmd|' /C calc'!A0")
    response = client_for(org.admin).get(EXPORT_URL, {"address": "10.0.0.1"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    assert response["Cache-Control"] == "no-store"
    rows = _csv(response)
    assert len(rows) == 3  # header + the two events from 10.0.0.1
    assert [row[2] for row in rows[1:]] == ["colleague", "manager"]
    assert all(row[4] == "10.0.0.1" for row in rows[1:])
    event = SecurityEvent.objects.get(kind="export")
    assert (event.actor, event.ip_address) == (org.admin, "127.0.0.1")
    assert event.data == {"what": "audit_log", "rows": 2, "filters": {"address": "10.0.0.1"}}


def test_export_neutralises_formulas(org):
    SecurityEvent.objects.create(kind="login_failed", username="=HYPERLINK(1)")
    rows = _csv(client_for(org.admin).get(EXPORT_URL, {"kind": "login_failed"}))
    assert rows[1][2] == "'=HYPERLINK(1)"


def test_user_and_token_events_from_the_pages_carry_actor_and_address(org):
    admin = client_for(org.admin)
    admin.post(reverse("accounts:user_create"), {"username": "newbie", "role": "manager"})
    newbie = User.objects.get(username="newbie")
    admin.post(reverse("accounts:user_deactivate", args=[newbie.pk]))
    admin.post(reverse("accounts:user_reactivate", args=[newbie.pk]))
    manager = client_for(org.manager)
    manager.post(reverse("accounts:token_list"), {"name": "script"})
    token = org.manager.api_tokens.get()
    manager.post(reverse("accounts:token_revoke", args=[token.pk]))
    events = {event.kind: event for event in SecurityEvent.objects.all()}
    for kind in ("user_created", "user_deactivated", "user_reactivated"):
        event = events[kind]
        assert (event.user, event.actor, event.ip_address) == (newbie, org.admin, "127.0.0.1")
    for kind in ("token_created", "token_revoked"):
        event = events[kind]
        assert (event.user, event.actor, event.ip_address) == (
            org.manager,
            org.manager,
            "127.0.0.1",
        )
        assert event.data == {"prefix": token.prefix}


@pytest.mark.parametrize(
    ("stored", "reason"),
    [({"crm_seen_at": 4 * 3600 + 5}, "idle"), ({"crm_signed_in_at": 12 * 3600 + 5}, "lifetime")],
)
def test_a_sign_out_by_the_session_timeout_is_audited_with_its_reason(org, stored, reason):
    # given: a manager's session past its idle timeout or its lifetime
    client = client_for(org.manager)
    assert client.get("/customers/contacts/").status_code == 200
    session = client.session
    for key, ago in stored.items():
        session[key] = session[key] - ago
    session.save()
    # when
    response = client.get("/customers/contacts/", REMOTE_ADDR="198.51.100.23")
    # then
    assert response.status_code == 302
    event = SecurityEvent.objects.get(kind="logout", user=org.manager)
    assert event.data == {"reason": reason}
    assert event.ip_address == "198.51.100.23"


def test_an_active_session_writes_no_sign_out(org):
    client = client_for(org.manager)
    assert client.get("/customers/contacts/").status_code == 200
    assert not SecurityEvent.objects.filter(kind="logout").exists()
