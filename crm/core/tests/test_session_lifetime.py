"""A signed-in session ends after the idle timeout and after the absolute lifetime; the
cookies carry the __Host- prefix in production."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

from conftest import client_for
from crm.core.middleware import SEEN_AT, SIGNED_IN_AT

pytestmark = pytest.mark.django_db

IDLE = 4 * 3600
AGE = 12 * 3600
PAGE = "/customers/contacts/"


def shift(client: Client, **seconds_ago: int) -> None:
    """Move the session's stored times into the past (time travel without a clock)."""
    session = client.session
    for key, ago in seconds_ago.items():
        session[key] = session[key] - ago
    session.save()


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def manager_client(org) -> Client:
    client = client_for(org.manager)
    assert client.get(PAGE).status_code == 200
    return client


def test_signing_in_records_both_times_without_a_request(org):
    client = client_for(org.manager)  # force_login runs Django's login()

    session = client.session
    assert isinstance(session[SIGNED_IN_AT], int)
    assert session[SEEN_AT] == session[SIGNED_IN_AT]


@override_settings(CRM_SESSION_IDLE_SECONDS=IDLE, CRM_SESSION_AGE_SECONDS=AGE)
def test_signing_in_again_restarts_the_clock(manager_client, org):
    shift(manager_client, crm_signed_in_at=AGE - 60)
    old = manager_client.session[SIGNED_IN_AT]

    manager_client.force_login(org.manager)

    assert manager_client.session[SIGNED_IN_AT] > old


@override_settings(CRM_SESSION_IDLE_SECONDS=IDLE, CRM_SESSION_AGE_SECONDS=AGE)
def test_a_session_from_before_the_check_gets_its_times_on_the_first_request(org):
    client = client_for(org.manager)
    session = client.session
    del session[SIGNED_IN_AT]
    del session[SEEN_AT]
    session.save()

    assert client.get(PAGE).status_code == 200

    assert isinstance(client.session[SIGNED_IN_AT], int)


@override_settings(CRM_SESSION_IDLE_SECONDS=IDLE, CRM_SESSION_AGE_SECONDS=AGE)
def test_first_request_records_sign_in_and_activity(manager_client):
    session = manager_client.session

    assert isinstance(session[SIGNED_IN_AT], int)
    assert session[SEEN_AT] == session[SIGNED_IN_AT]


@override_settings(CRM_SESSION_IDLE_SECONDS=IDLE, CRM_SESSION_AGE_SECONDS=AGE)
def test_idle_session_is_signed_out_and_sent_to_sign_in_with_a_message(manager_client):
    shift(manager_client, crm_seen_at=IDLE + 5)

    response = manager_client.get(PAGE + "?q=x")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/customers/contacts/%3Fq%3Dx"
    assert not signed_in(manager_client)
    page = manager_client.get(response["Location"])
    assert "Сеанс истёк. Войдите снова." in page.content.decode()


@override_settings(CRM_SESSION_IDLE_SECONDS=IDLE, CRM_SESSION_AGE_SECONDS=AGE)
def test_a_form_sent_after_the_timeout_comes_back_to_its_page(manager_client):
    shift(manager_client, crm_seen_at=IDLE + 5)

    response = manager_client.post(
        "/customers/contacts/new/",
        {"last_name": "Новый"},
        headers={"Referer": "http://testserver/customers/contacts/new/?from=list"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/customers/contacts/new/%3Ffrom%3Dlist"
    assert not signed_in(manager_client)


@override_settings(CRM_SESSION_IDLE_SECONDS=IDLE, CRM_SESSION_AGE_SECONDS=AGE)
def test_activity_within_the_idle_timeout_keeps_the_session(manager_client):
    shift(manager_client, crm_seen_at=IDLE - 60)

    response = manager_client.get(PAGE)

    assert response.status_code == 200
    assert signed_in(manager_client)
    session = manager_client.session
    assert session[SEEN_AT] >= session[SIGNED_IN_AT]  # refreshed to now


@override_settings(CRM_SESSION_IDLE_SECONDS=IDLE, CRM_SESSION_AGE_SECONDS=AGE)
def test_activity_is_written_at_most_once_a_minute(manager_client):
    before = manager_client.session[SEEN_AT]
    shift(manager_client, crm_seen_at=30)

    manager_client.get(PAGE)

    assert manager_client.session[SEEN_AT] == before - 30  # not rewritten: under a minute


@override_settings(CRM_SESSION_IDLE_SECONDS=IDLE, CRM_SESSION_AGE_SECONDS=AGE)
def test_background_polling_does_not_count_as_activity(manager_client):
    shift(manager_client, crm_seen_at=IDLE - 60)
    stale = manager_client.session[SEEN_AT]

    manager_client.get("/notifications/badge/", headers={"X-CRM-Background": "1"})

    assert manager_client.session[SEEN_AT] == stale


@override_settings(CRM_SESSION_IDLE_SECONDS=IDLE, CRM_SESSION_AGE_SECONDS=AGE)
def test_session_older_than_the_absolute_lifetime_ends_even_if_active(manager_client):
    shift(manager_client, crm_signed_in_at=AGE + 5)

    response = manager_client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not signed_in(manager_client)


@override_settings(CRM_SESSION_IDLE_SECONDS=IDLE, CRM_SESSION_AGE_SECONDS=AGE)
def test_expired_htmx_request_redirects_the_whole_page(manager_client):
    shift(manager_client, crm_seen_at=IDLE + 5)

    response = manager_client.get(
        "/customers/search/suggest/?q=a",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/sales/board/?p=1"},
    )

    assert response.status_code == 200
    assert response.content == b""
    assert response["HX-Redirect"] == "/accounts/login/?next=/sales/board/%3Fp%3D1"
    assert not signed_in(manager_client)


def test_htmx_request_without_a_session_gets_hx_redirect_not_the_sign_in_page():
    response = Client().get(PAGE, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/accounts/login/?next=")
    assert b"<form" not in response.content


@override_settings(CRM_SESSION_IDLE_SECONDS=IDLE, CRM_SESSION_AGE_SECONDS=AGE)
def test_expired_api_session_answers_401(manager_client):
    shift(manager_client, crm_seen_at=IDLE + 5)

    response = manager_client.get("/api/v1/contacts")

    assert response.status_code == 401
    assert not signed_in(manager_client)


@override_settings(CRM_SESSION_IDLE_SECONDS=0, CRM_SESSION_AGE_SECONDS=0)
def test_zero_turns_the_limits_off(manager_client):
    shift(manager_client, crm_seen_at=10**6, crm_signed_in_at=10**6)

    assert manager_client.get(PAGE).status_code == 200


def test_signing_in_through_the_form_starts_the_clock(org, password):
    client = Client()

    response = client.post(
        "/accounts/login/", {"username": org.manager.username, "password": password}
    )

    assert response.status_code == 302
    assert isinstance(client.session[SIGNED_IN_AT], int)


@override_settings(
    SESSION_COOKIE_NAME="__Host-sessionid",
    CSRF_COOKIE_NAME="__Host-csrftoken",
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
)
def test_host_prefixed_cookies_are_secure_with_root_path_and_no_domain(org, password):
    client = Client(enforce_csrf_checks=False)
    client.get("/accounts/login/", secure=True)
    response = client.post(
        "/accounts/login/",
        {"username": org.manager.username, "password": password},
        secure=True,
    )

    session_cookie = response.cookies["__Host-sessionid"]
    assert session_cookie["secure"] is True
    assert session_cookie["path"] == "/"
    assert not session_cookie["domain"]
    csrf_cookie = client.cookies["__Host-csrftoken"]
    assert csrf_cookie["secure"] is True
    assert csrf_cookie["path"] == "/"
    assert not csrf_cookie["domain"]


def _settings_under(environment: dict[str, str]) -> dict[str, object]:
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_AGE, "
        "s.CRM_SESSION_IDLE_SECONDS, s.CRM_API_DOCS_PUBLIC, s.MIDDLEWARE]))"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CRM_") or key == "CRM_VAR_DIR"
    }
    env.update({"DJANGO_SETTINGS_MODULE": "crm.config.settings", **environment})
    root = Path(__file__).resolve().parents[3]
    output = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = ["session", "csrf", "age", "idle", "docs_public", "middleware"]
    return dict(zip(names, json.loads(output.strip().splitlines()[-1]), strict=True))


def test_production_settings_use_host_prefixed_cookies_and_short_sessions():
    production = _settings_under({"CRM_PRODUCTION": "1", "CRM_SECRET_KEY": "x" * 50})
    laptop = _settings_under({})

    assert production["session"] == "__Host-sessionid"
    assert production["csrf"] == "__Host-csrftoken"
    assert production["age"] == AGE
    assert production["idle"] == IDLE
    assert production["docs_public"] is False
    middleware = production["middleware"]
    assert isinstance(middleware, list)
    # WhiteNoise answers static files before the headers middleware sees them (cacheable).
    assert middleware.index("whitenoise.middleware.WhiteNoiseMiddleware") < middleware.index(
        "crm.core.middleware.SecurityHeadersMiddleware"
    )
    assert laptop["session"] == "sessionid"
    assert laptop["docs_public"] is True
