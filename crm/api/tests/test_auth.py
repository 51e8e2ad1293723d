"""Who may call the API: personal tokens, browser sessions with CSRF, nobody else."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from conftest import client_for
from crm.accounts.models import APIToken
from crm.accounts.services import api_token_create, api_token_revoke, user_deactivate
from crm.api.tests.conftest import ApiClient, token_for
from crm.api.urls import api

pytestmark = pytest.mark.django_db

SAMPLE_ID = "1"


def every_operation() -> list[tuple[str, str]]:
    """(method, path) of every operation in the schema, ids filled with a sample."""
    schema = api.get_openapi_schema()
    operations = []
    for path, methods in schema["paths"].items():
        concrete = path.replace("{contact_id}", SAMPLE_ID)
        concrete = concrete.replace("{company_id}", SAMPLE_ID).replace("{user_id}", SAMPLE_ID)
        operations += [(method.upper(), concrete) for method in methods]
    return operations


@pytest.mark.parametrize(("method", "path"), every_operation())
def test_anonymous_gets_401_json_on_every_endpoint(org, method, path):
    response = ApiClient().request(method, path, {})

    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]
    assert response.json()["errors"] == {}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_valid_token_authenticates_and_me_names_the_owner(org):
    response = ApiClient(token_for(org.manager)).get("/users/me")

    assert response.status_code == 200
    assert response.json()["username"] == "manager"


def test_token_use_is_recorded(org):
    token, secret = api_token_create(user=org.manager, name="cli")

    ApiClient(secret).get("/users/me")

    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_token_is_refused(org):
    token, secret = api_token_create(user=org.manager, name="cli")
    api_token_revoke(actor=org.manager, token=token)

    response = ApiClient(secret).get("/users/me")

    assert response.status_code == 401


def test_expired_token_is_refused(org):
    _token, secret = api_token_create(
        user=org.manager, name="cli", expires_at=timezone.now() - dt.timedelta(minutes=1)
    )

    assert ApiClient(secret).get("/users/me").status_code == 401


def test_token_of_a_deactivated_user_stops_working(org):
    secret = token_for(org.manager)
    client = ApiClient(secret)
    assert client.get("/contacts").status_code == 200

    user_deactivate(actor=org.admin, user=org.manager)

    assert client.get("/contacts").status_code == 401


def test_token_of_an_inactive_user_is_refused_even_if_not_revoked(org):
    secret = token_for(org.manager)
    # The user row is switched off behind the services' back (e.g. by a database fix).
    type(org.manager).objects.filter(pk=org.manager.pk).update(is_active=False)
    assert APIToken.objects.filter(user=org.manager, revoked_at__isnull=True).exists()

    assert ApiClient(secret).get("/contacts").status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer crm_",
        "Bearer crm_deadbeef_wrong",
        "Bearer crm_" + "a" * 5000,
        "Basic dXNlcjpwYXNz",
        "Token crm_x_y",
        "Bearer \u0000\u202e",
    ],
)
def test_malformed_or_forged_tokens_get_401(org, header):
    token_for(org.manager)
    response = Client().get("/api/v1/contacts", headers={"Authorization": header})

    assert response.status_code == 401


def test_forged_token_with_a_real_prefix_is_refused(org):
    token, secret = api_token_create(user=org.manager, name="cli")
    forged = f"crm_{token.prefix}_{'x' * 43}"

    assert forged != secret
    assert ApiClient(forged).get("/users/me").status_code == 401


def test_browser_session_reads_without_csrf(org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.manager)

    assert client.get("/api/v1/contacts").status_code == 200


def test_browser_session_write_without_csrf_token_is_403(org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.manager)

    response = client.post(
        "/api/v1/contacts", json.dumps({"first_name": "Анна"}), content_type="application/json"
    )

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_browser_session_write_with_csrf_token_succeeds(org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org.manager)
    secret = "a" * 32
    client.cookies["csrftoken"] = secret

    response = client.post(
        "/api/v1/contacts",
        json.dumps({"first_name": "Анна"}),
        content_type="application/json",
        headers={"X-CSRFToken": secret},
    )

    assert response.status_code == 201


def test_anonymous_write_is_401_not_a_csrf_complaint(org):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/api/v1/contacts", "{}", content_type="application/json")

    assert response.status_code == 401


def test_a_deactivated_users_session_is_refused(org):
    client = client_for(org.manager)
    type(org.manager).objects.filter(pk=org.manager.pk).update(is_active=False)

    assert client.get("/api/v1/contacts").status_code == 401


def test_token_requests_need_no_csrf(org):
    client = ApiClient(token_for(org.manager), client=Client(enforce_csrf_checks=True))

    assert client.post("/contacts", {"first_name": "Анна"}).status_code == 201
