"""The API tokens page: list, create (secret shown once), revoke."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import client_for
from crm.accounts.models import APIToken, SecurityEvent
from crm.accounts.services import api_token_authenticate, api_token_create


@pytest.mark.parametrize("role", ["viewer", "manager", "head", "admin"])
def test_every_signed_in_user_has_the_page(org, role):
    assert client_for(getattr(org, role)).get(reverse("accounts:token_list")).status_code == 200


def test_anonymous_is_sent_to_sign_in(db, client):
    response = client.get(reverse("accounts:token_list"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_page_lists_only_own_tokens(org):
    # given
    api_token_create(user=org.manager, name="Мой скрипт")
    api_token_create(user=org.colleague, name="Чужой скрипт")
    # when
    body = client_for(org.manager).get(reverse("accounts:token_list")).content.decode()
    # then
    assert "Мой скрипт" in body
    assert "Чужой скрипт" not in body


def test_creating_a_token_shows_the_secret_once(org):
    # given
    client = client_for(org.manager)
    # when
    response = client.post(
        reverse("accounts:token_list"), {"name": "Выгрузка", "expires_in_days": "30"}
    )
    # then
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    secret = response.context["secret"]
    assert secret.startswith("crm_")
    assert secret in response.content.decode()
    assert api_token_authenticate(secret) == org.manager
    token = APIToken.objects.get(user=org.manager)
    assert token.expires_at is not None
    assert secret not in str(SecurityEvent.objects.get(kind="token_created").data)
    again = client.get(reverse("accounts:token_list")).content.decode()
    assert secret not in again
    assert f"crm_{token.prefix}_" in again


@pytest.mark.parametrize(
    "data", [{"name": ""}, {"name": "x" * 101}, {"name": "ok", "expires_in_days": "0"}]
)
def test_bad_token_input_is_refused(org, data):
    response = client_for(org.manager).post(reverse("accounts:token_list"), data)
    assert response.status_code == 422
    assert not APIToken.objects.exists()


def test_admin_sees_the_note_about_other_users_tokens(org):
    admin = client_for(org.admin).get(reverse("accounts:token_list"))
    manager = client_for(org.manager).get(reverse("accounts:token_list"))
    assert admin.context["user"].role == "admin"
    assert reverse("accounts:user_list") in admin.content.decode()
    assert reverse("accounts:user_list") not in manager.content.decode().split("<main")[1]


def test_user_revokes_own_token(org):
    # given
    token, secret = api_token_create(user=org.manager, name="Скрипт")
    # when
    response = client_for(org.manager).post(reverse("accounts:token_revoke", args=[token.pk]))
    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:token_list")
    assert api_token_authenticate(secret) is None
    assert SecurityEvent.objects.filter(kind="token_revoked", actor=org.manager).exists()


@pytest.mark.parametrize("role", ["colleague", "head", "viewer"])
def test_others_cannot_revoke_a_token(org, role):
    # given
    token, secret = api_token_create(user=org.manager, name="Скрипт")
    # when
    response = client_for(getattr(org, role)).post(
        reverse("accounts:token_revoke", args=[token.pk])
    )
    # then
    assert response.status_code == 404
    assert api_token_authenticate(secret) == org.manager


def test_revoke_ignores_a_foreign_next_url(org):
    token, _secret = api_token_create(user=org.manager, name="Скрипт")
    response = client_for(org.manager).post(
        reverse("accounts:token_revoke", args=[token.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("accounts:token_list")
