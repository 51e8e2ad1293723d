"""Administration pages: users, teams and the security log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conftest import client_for
from crm.accounts.models import APIToken, SecurityEvent, Team, User
from crm.accounts.services import api_token_authenticate, api_token_create
from crm.accounts.tests.factories import PASSWORD, TeamFactory, UserFactory, add_member

ROLES = ["anonymous", "viewer", "manager", "head", "admin"]
ADMIN_ONLY = {"anonymous": 302, "viewer": 403, "manager": 403, "head": 403, "admin": 200}


def _client(org, role):
    return client_for(None if role == "anonymous" else getattr(org, role))


def _user_data(**overrides):
    data = {
        "username": "vera",
        "last_name": "Петрова",
        "first_name": "Вера",
        "email": "vera@example.com",
        "phone": "",
        "position": "Менеджер",
        "role": "manager",
        "language": "",
        "away_from": "",
        "away_until": "",
        "password1": "",
        "password2": "",
    }
    data.update(overrides)
    return data


# --- permission matrix ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "name",
    [
        "accounts:user_list",
        "accounts:user_create",
        "accounts:team_list",
        "accounts:team_create",
        "accounts:security_log",
    ],
)
def test_admin_pages_permission_matrix(org, role, name):
    response = _client(org, role).get(reverse(name))
    assert response.status_code == ADMIN_ONLY[role]


@pytest.mark.parametrize("role", ROLES)
def test_user_and_team_edit_pages_permission_matrix(org, role):
    team = Team.objects.get(name="Москва")
    client = _client(org, role)
    assert (
        client.get(reverse("accounts:user_edit", args=[org.manager.pk])).status_code
        == (ADMIN_ONLY[role])
    )
    assert (
        client.get(reverse("accounts:team_edit", args=[team.pk])).status_code == (ADMIN_ONLY[role])
    )


@pytest.mark.parametrize("role", ["viewer", "manager", "head"])
def test_only_admin_may_deactivate(org, role):
    response = _client(org, role).post(reverse("accounts:user_deactivate", args=[org.colleague.pk]))
    assert response.status_code == 403
    org.colleague.refresh_from_db()
    assert org.colleague.is_active


def test_missing_user_is_404(org):
    assert client_for(org.admin).get(reverse("accounts:user_edit", args=[9999])).status_code == 404


def test_deactivate_needs_post(org):
    response = client_for(org.admin).get(reverse("accounts:user_deactivate", args=[org.manager.pk]))
    assert response.status_code == 405


# --- user list --------------------------------------------------------------------------------


def test_user_list_shows_role_teams_state_and_last_login(org):
    # given
    org.colleague.away_from = dt.date.today() - dt.timedelta(days=1)
    org.colleague.away_until = dt.date.today() + dt.timedelta(days=3)
    org.colleague.save()
    org.outsider.is_active = False
    org.outsider.save()
    # when
    response = client_for(org.admin).get(reverse("accounts:user_list"))
    # then
    body = response.content.decode()
    assert response.status_code == 200
    assert str(org.manager) in body and "Москва" in body and "Питер" in body
    assert "badge text-bg-warning" in body  # the colleague is away
    assert "badge text-bg-secondary" in body  # the outsider is deactivated


def test_user_list_query_count_is_constant(org):
    # given
    client = client_for(org.admin)
    client.get(reverse("accounts:user_list"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("accounts:user_list"))
    team = TeamFactory(name="Новая")
    for index in range(10):
        user = UserFactory(username=f"extra{index}")
        add_member(team, user)
        team.heads.add(user)
    # when
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("accounts:user_list"))
    # then
    assert len(response.context["users"]) == 16
    assert len(many) == len(few)


# --- create and edit --------------------------------------------------------------------------


def test_admin_creates_a_user_with_teams_and_password(org):
    # given
    team = Team.objects.get(name="Москва")
    # when
    response = client_for(org.admin).post(
        reverse("accounts:user_create"),
        _user_data(teams=[team.pk], password1="Str0ng-pass-2026", password2="Str0ng-pass-2026"),
    )
    # then
    user = User.objects.get(username="vera")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:user_edit", args=[user.pk])
    assert list(user.teams.all()) == [team]
    assert user.check_password("Str0ng-pass-2026")
    assert SecurityEvent.objects.filter(kind="user_created", user=user, actor=org.admin).exists()


def test_user_created_without_password_cannot_sign_in(org):
    client_for(org.admin).post(reverse("accounts:user_create"), _user_data())
    assert not User.objects.get(username="vera").has_usable_password()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "MANAGER"}, "username"),
        ({"away_from": "2026-05-10", "away_until": "2026-05-01"}, "away_until"),
        ({"password1": "Str0ng-pass-2026", "password2": "other-pass-2026"}, "password2"),
        ({"password1": "123", "password2": "123"}, "password1"),
        ({"role": "god"}, "role"),
        ({"email": "not-an-address"}, "email"),
    ],
)
def test_bad_user_input_is_refused_with_422(org, overrides, field):
    # when
    response = client_for(org.admin).post(reverse("accounts:user_create"), _user_data(**overrides))
    # then
    assert response.status_code == 422
    assert field in response.context["form"].errors
    assert not User.objects.filter(username="vera").exists()


def test_admin_edits_a_user_and_resets_the_password(org):
    # given
    url = reverse("accounts:user_edit", args=[org.manager.pk])
    # when
    response = client_for(org.admin).post(
        url,
        _user_data(
            username="manager",
            role="head",
            away_from="2026-07-01",
            away_until="2026-07-14",
            password1="N3w-pass-2026!",
            password2="N3w-pass-2026!",
        ),
    )
    # then
    assert response.status_code == 302
    org.manager.refresh_from_db()
    assert org.manager.role == "head"
    assert org.manager.away_until == dt.date(2026, 7, 14)
    assert org.manager.check_password("N3w-pass-2026!")
    assert list(org.manager.teams.all()) == []
    event = SecurityEvent.objects.get(kind="user_changed", user=org.manager)
    assert "password" in event.data["fields"]
    assert "N3w-pass-2026!" not in str(event.data)


def test_edit_keeps_the_password_when_left_empty(org):
    client_for(org.admin).post(
        reverse("accounts:user_edit", args=[org.manager.pk]), _user_data(username="manager")
    )
    org.manager.refresh_from_db()
    assert org.manager.check_password(PASSWORD)


def test_edit_refuses_a_taken_user_name(org):
    response = client_for(org.admin).post(
        reverse("accounts:user_edit", args=[org.manager.pk]), _user_data(username="colleague")
    )
    assert response.status_code == 422
    org.manager.refresh_from_db()
    assert org.manager.username == "manager"


def test_admin_cannot_demote_self(org):
    response = client_for(org.admin).post(
        reverse("accounts:user_edit", args=[org.admin.pk]),
        _user_data(username="admin", role="manager"),
    )
    assert response.status_code == 422
    org.admin.refresh_from_db()
    assert org.admin.role == "admin"


def test_edit_page_lists_the_users_tokens_with_revoke_buttons(org):
    # given
    token, _secret = api_token_create(user=org.manager, name="Выгрузка в 1С")
    # when
    response = client_for(org.admin).get(reverse("accounts:user_edit", args=[org.manager.pk]))
    # then
    body = response.content.decode()
    assert "Выгрузка в 1С" in body
    assert reverse("accounts:token_revoke", args=[token.pk]) in body


def test_admin_revokes_another_users_token_from_the_user_page(org):
    # given
    token, _secret = api_token_create(user=org.manager, name="Скрипт")
    back = reverse("accounts:user_edit", args=[org.manager.pk])
    # when
    response = client_for(org.admin).post(
        reverse("accounts:token_revoke", args=[token.pk]), {"next": back}
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == back
    token.refresh_from_db()
    assert token.revoked_at is not None


# --- deactivation -----------------------------------------------------------------------------


def test_deactivation_logs_the_user_out_and_stops_their_token(org):
    # given: the manager is signed in and has a working API token
    manager_client = client_for(org.manager)
    assert manager_client.get(reverse("accounts:token_list")).status_code == 200
    _token, secret = api_token_create(user=org.manager, name="Скрипт")
    assert api_token_authenticate(secret) == org.manager
    api = manager_client.__class__()
    assert api.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    # when
    response = client_for(org.admin).post(
        reverse("accounts:user_deactivate", args=[org.manager.pk])
    )
    # then
    assert response.status_code == 302
    org.manager.refresh_from_db()
    assert not org.manager.is_active
    next_request = manager_client.get(reverse("accounts:token_list"))
    assert next_request.status_code == 302
    assert "/accounts/login/" in next_request["Location"]
    assert api_token_authenticate(secret) is None
    assert api.get("/api/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    assert APIToken.objects.get(user=org.manager).revoked_at is not None
    event = SecurityEvent.objects.get(kind="user_deactivated", user=org.manager)
    assert event.data["tokens_revoked"] == 1


def test_deactivated_user_cannot_sign_in(org, client):
    client_for(org.admin).post(reverse("accounts:user_deactivate", args=[org.manager.pk]))
    response = client.post(reverse("accounts:login"), {"username": "manager", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_admin_cannot_deactivate_self(org):
    response = client_for(org.admin).post(reverse("accounts:user_deactivate", args=[org.admin.pk]))
    assert response.status_code == 422
    org.admin.refresh_from_db()
    assert org.admin.is_active


def test_reactivation_lets_the_user_sign_in_again(org, client):
    # given
    admin = client_for(org.admin)
    admin.post(reverse("accounts:user_deactivate", args=[org.manager.pk]))
    # when
    response = admin.post(reverse("accounts:user_reactivate", args=[org.manager.pk]))
    # then
    assert response.status_code == 302
    login = client.post(reverse("accounts:login"), {"username": "manager", "password": PASSWORD})
    assert login.status_code == 302
    assert SecurityEvent.objects.filter(kind="user_reactivated", user=org.manager).exists()


# --- teams ------------------------------------------------------------------------------------


def test_team_list_shows_members_and_heads(org):
    response = client_for(org.admin).get(reverse("accounts:team_list"))
    body = response.content.decode()
    assert "Москва" in body and str(org.head) in body and str(org.colleague) in body


def test_admin_creates_and_edits_a_team(org):
    # given
    client = client_for(org.admin)
    # when
    created = client.post(
        reverse("accounts:team_create"),
        {"name": "Казань", "members": [org.outsider.pk, org.colleague.pk], "heads": [org.head.pk]},
    )
    team = Team.objects.get(name="Казань")
    edited = client.post(
        reverse("accounts:team_edit", args=[team.pk]),
        {"name": "Казань-2", "members": [org.outsider.pk], "heads": []},
    )
    # then
    assert created.status_code == edited.status_code == 302
    team.refresh_from_db()
    assert team.name == "Казань-2"
    assert list(team.members.all()) == [org.outsider]
    assert not team.heads.exists()


def test_duplicate_team_name_is_refused(org):
    response = client_for(org.admin).post(
        reverse("accounts:team_create"), {"name": "москва", "members": [], "heads": []}
    )
    assert response.status_code == 422
    assert "name" in response.context["form"].errors
    assert Team.objects.count() == 2


# --- security log -----------------------------------------------------------------------------


def test_security_log_filters_by_kind_and_user(org, client):
    # given
    client.post(reverse("accounts:login"), {"username": "manager", "password": "wrong"})
    client.post(reverse("accounts:login"), {"username": "colleague", "password": PASSWORD})
    admin = client_for(org.admin)
    # when
    failed = admin.get(reverse("accounts:security_log"), {"kind": "login_failed"})
    by_user = admin.get(reverse("accounts:security_log"), {"user": org.colleague.pk})
    # then
    assert [e.kind for e in failed.context["page"].items] == ["login_failed"]
    assert [e.user for e in by_user.context["page"].items] == [org.colleague]


def test_security_log_pages_with_a_cursor(org):
    # given
    for index in range(55):
        SecurityEvent.objects.create(kind="login_failed", username=f"guess{index}")
    admin = client_for(org.admin)
    # when
    first = admin.get(reverse("accounts:security_log"))
    second = admin.get(
        reverse("accounts:security_log"), {"cursor": first.context["page"].next_cursor}
    )
    bad = admin.get(reverse("accounts:security_log"), {"cursor": "garbage"})
    # then
    assert len(first.context["page"].items) == 50
    assert len(second.context["page"].items) == 5
    assert second.context["page"].next_cursor is None
    assert bad.status_code == 400
