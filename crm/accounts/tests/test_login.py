"""Sign-in throttling, the security log of sign-ins, and the interface language."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from conftest import client_for
from crm.accounts.models import SecurityEvent
from crm.accounts.tests.factories import PASSWORD, UserFactory

LOGIN = "/accounts/login/"


def _login(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.fixture
def limits(db, settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 3
    settings.LOGIN_THROTTLE_ADDRESS_LIMIT = 5
    return settings


def test_right_password_signs_in_and_is_logged(db, client):
    # given
    user = UserFactory(username="anna")
    # when
    response = _login(client, "anna", PASSWORD)
    # then
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.LOGIN)
    assert event.user == user
    assert event.ip_address == "10.0.0.1"


def test_failed_sign_in_is_logged_without_the_password(db, client, caplog):
    # given
    UserFactory(username="anna")
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    # when
    response = _login(client, "anna", "wrong-secret-42")
    # then
    assert response.status_code == 200
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.LOGIN_FAILED)
    assert event.username == "anna"
    assert "wrong-secret-42" not in str(event.data)
    assert "wrong-secret-42" not in caplog.text
    assert "login_failed user=anna" in caplog.text


def test_account_is_throttled_after_the_limit_even_with_the_right_password(limits, client):
    # given
    UserFactory(username="anna")
    for attempt in range(limits.LOGIN_THROTTLE_ACCOUNT_LIMIT):
        _login(client, "anna", f"wrong-{attempt}")
    # when
    response = _login(client, "anna", PASSWORD)
    # then
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode() or (
        "попыток" in response.content.decode()
    )
    assert "_auth_user_id" not in client.session
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOGIN_THROTTLED).count() == 1
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOGIN).exists()


def test_throttle_message_is_clear(limits, client, settings):
    # given: English interface, so the message is the source text
    settings.LANGUAGE_CODE = "en"
    UserFactory(username="anna")
    for attempt in range(limits.LOGIN_THROTTLE_ACCOUNT_LIMIT):
        _login(client, "anna", f"wrong-{attempt}")
    # when: from the same address (the strict limit is per account and address)
    response = client.post(
        LOGIN,
        {"username": "anna", "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="en",
        REMOTE_ADDR="10.0.0.1",
    )
    # then
    assert response.status_code == 429
    assert "Too many failed sign-in attempts. Wait a few minutes and try again." in (
        response.content.decode()
    )


def test_other_accounts_are_not_throttled_by_one_accounts_failures(limits, client):
    # given
    UserFactory(username="anna")
    UserFactory(username="boris")
    for attempt in range(limits.LOGIN_THROTTLE_ACCOUNT_LIMIT):
        _login(client, "anna", f"wrong-{attempt}")
    # when
    response = _login(client, "boris", PASSWORD)
    # then
    assert response.status_code == 302


def test_one_address_is_throttled_across_usernames(limits, client):
    # given: failures spread over many user names, each below the account limit
    user = UserFactory(username="anna")
    for attempt in range(limits.LOGIN_THROTTLE_ADDRESS_LIMIT):
        _login(client, f"guess{attempt}", "wrong", address="10.0.0.9")
    # when
    from_bad_address = _login(client, "anna", PASSWORD, address="10.0.0.9")
    from_elsewhere = _login(client, "anna", PASSWORD, address="10.0.0.10")
    # then
    assert from_bad_address.status_code == 429
    assert from_elsewhere.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_success_clears_the_account_counter(limits, client):
    # given: one failure short of the limit, then a success
    UserFactory(username="anna")
    for attempt in range(limits.LOGIN_THROTTLE_ACCOUNT_LIMIT - 1):
        _login(client, "anna", f"wrong-{attempt}")
    assert _login(client, "anna", PASSWORD).status_code == 302
    client.post(reverse("accounts:logout"))
    # when: as many failures as before, short of the limit again
    for attempt in range(limits.LOGIN_THROTTLE_ACCOUNT_LIMIT - 1):
        _login(client, "anna", f"again-{attempt}")
    response = _login(client, "anna", PASSWORD)
    # then
    assert response.status_code == 302


def test_logout_is_logged(db):
    # given
    user = UserFactory(username="anna")
    client = client_for(user)
    # when
    response = client.post(reverse("accounts:logout"))
    # then
    assert response.status_code == 302
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOGOUT, user=user).exists()
    assert "_auth_user_id" not in client.session


def test_no_event_stores_or_logs_the_password(limits, client, caplog):
    # given: factories log the password they set, so capture starts after them
    UserFactory(username="anna")
    UserFactory(username="boris")
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    # when: failures, a throttled attempt and a success in another account
    for attempt in range(limits.LOGIN_THROTTLE_ACCOUNT_LIMIT + 1):
        _login(client, "anna", f"Sekr3t-{attempt}")
    _login(client, "boris", PASSWORD, address="10.0.0.2")
    # then
    kinds = set(SecurityEvent.objects.values_list("kind", flat=True))
    assert {"login_failed", "login_throttled", "login"} <= kinds
    for event in SecurityEvent.objects.all():
        assert "Sekr3t" not in str(event.data) and PASSWORD not in str(event.data)
    assert "Sekr3t" not in caplog.text
    assert PASSWORD not in caplog.text


def test_language_switch_changes_the_interface(db):
    # given: a user whose browser asks for English
    user = UserFactory(username="anna")
    client = client_for(user)
    page = reverse("accounts:token_list")
    english = client.post(page, {"name": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert english["Content-Language"] == "en"
    assert "This field is required." in english.content.decode()
    # when
    response = client.post(
        reverse("accounts:language"), {"language": "ru", "next": page}, HTTP_ACCEPT_LANGUAGE="en"
    )
    russian = client.post(page, {"name": ""}, HTTP_ACCEPT_LANGUAGE="en")
    # then
    assert response.status_code == 302
    assert response["Location"] == page
    user.refresh_from_db()
    assert user.language == "ru"
    assert russian["Content-Language"] == "ru"
    assert "Обязательное поле." in russian.content.decode()
    assert '<html lang="ru">' in russian.content.decode()


def test_language_switch_back_to_english(db):
    # given
    user = UserFactory(username="anna", language="ru")
    client = client_for(user)
    # when
    client.post(reverse("accounts:language"), {"language": "en"})
    response = client.get(reverse("accounts:token_list"))
    # then
    assert response["Content-Language"] == "en"
    assert '<html lang="en">' in response.content.decode()


def test_language_switch_refuses_unknown_language_and_foreign_redirects(db):
    # given
    user = UserFactory(username="anna")
    client = client_for(user)
    # when
    unknown = client.post(reverse("accounts:language"), {"language": "xx"})
    foreign = client.post(
        reverse("accounts:language"), {"language": "en", "next": "https://evil.example/"}
    )
    # then
    assert unknown.status_code == 400
    assert foreign["Location"] == "/"


def test_language_switch_needs_sign_in(db, client):
    response = client.post(reverse("accounts:language"), {"language": "en"})
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
