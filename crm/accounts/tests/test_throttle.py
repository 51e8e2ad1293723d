"""The sign-in throttle: counted before the password is checked (so concurrent guesses
cannot slip through), per visitor behind a proxy, and a soft lockout that spares the owner's
known devices and addresses."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connection
from django.test import Client

from conftest import run_together
from crm.accounts.devices import DEVICE_COOKIE
from crm.accounts.models import SecurityEvent
from crm.accounts.tests.factories import PASSWORD, UserFactory

LOGIN = "/accounts/login/"
HASHER = "crm.accounts.tests.test_throttle.CountingHasher"


class CountingHasher(MD5PasswordHasher):
    """MD5 that counts the passwords it checks and takes a while doing it, as a real hash
    does, so that concurrent requests overlap."""

    algorithm = "md5"
    checked = 0
    delay = 0.0
    _lock = threading.Lock()

    def verify(self, password: str, encoded: str) -> bool:
        with CountingHasher._lock:
            CountingHasher.checked += 1
        time.sleep(CountingHasher.delay)
        return super().verify(password, encoded)


@pytest.fixture
def hasher(settings):
    settings.PASSWORD_HASHERS = [HASHER]
    CountingHasher.checked = 0
    CountingHasher.delay = 0.0
    return CountingHasher


@pytest.fixture
def limits(settings):
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 5
    settings.LOGIN_THROTTLE_ADDRESS_LIMIT = 20
    settings.LOGIN_THROTTLE_ACCOUNT_WIDE_LIMIT = 10
    settings.LANGUAGE_CODE = "en"
    return settings


def _login(client: Client, username: str, password: str, address: str = "10.0.0.1", **extra):
    return client.post(
        LOGIN,
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        HTTP_ACCEPT_LANGUAGE="en",
        **extra,
    )


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# --- counted before the password is checked ----------------------------------------------------


def test_no_password_is_checked_once_the_limit_is_reached(db, limits, hasher):
    # given
    UserFactory(username="anna")
    hasher.checked = 0
    # when: three more attempts than the limit, the last with the right password
    answers = [_login(Client(), "anna", f"wrong-{n}").status_code for n in range(7)]
    right = _login(Client(), "anna", PASSWORD)
    # then
    assert answers == [200] * 5 + [429] * 2
    assert right.status_code == 429
    assert hasher.checked == 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite" and not connection.settings_dict["TEST"].get("NAME"),
    reason="concurrent writers need PostgreSQL or SQLite on a file (CRM_TEST_SQLITE_NAME)",
)
def test_forty_concurrent_wrong_passwords_check_at_most_the_limit(limits, hasher):
    # given: each password check takes 50 ms, so all 40 requests are in flight together
    UserFactory(username="anna")
    hasher.checked = 0
    hasher.delay = 0.05
    statuses: list[int] = []
    lock = threading.Lock()

    def guess(number: int) -> None:
        status = _login(Client(), "anna", f"wrong-{number}").status_code
        with lock:
            statuses.append(status)

    # when
    run_together(guess, [(number,) for number in range(40)])
    # then
    assert hasher.checked <= 5
    assert statuses.count(200) == hasher.checked
    assert statuses.count(429) == 40 - hasher.checked
    kinds = list(SecurityEvent.objects.values_list("kind", flat=True))
    assert kinds.count("login_failed") == hasher.checked
    assert kinds.count("login_throttled") == 40 - hasher.checked


# --- per visitor behind the proxy --------------------------------------------------------------


def test_failures_of_one_visitor_behind_the_proxy_do_not_throttle_another(db, limits):
    # given: nginx on 127.0.0.1 passes every visitor; visitor A fails 20 times at many names
    limits.TRUSTED_PROXIES = ["127.0.0.1"]
    user = UserFactory(username="boris")
    for attempt in range(20):
        _login(
            Client(),
            f"guess{attempt}",
            "wrong",
            address="127.0.0.1",
            HTTP_X_FORWARDED_FOR="203.0.113.5",
        )
    # when
    visitor_a = _login(
        Client(), "boris", PASSWORD, address="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5"
    )
    client_b = Client()
    visitor_b = _login(
        client_b, "boris", PASSWORD, address="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7"
    )
    # then
    assert visitor_a.status_code == 429
    assert visitor_b.status_code == 302
    assert client_b.session["_auth_user_id"] == str(user.pk)
    login = SecurityEvent.objects.get(kind=SecurityEvent.Kind.LOGIN)
    assert login.ip_address == "198.51.100.7"
    assert SecurityEvent.objects.filter(ip_address="127.0.0.1").count() == 0


def test_a_forged_header_from_an_untrusted_peer_changes_nothing(db, limits):
    # given: no trusted proxy; the attacker sends a new X-Forwarded-For with every guess
    limits.TRUSTED_PROXIES = []
    UserFactory(username="anna")
    for attempt in range(5):
        _login(Client(), "anna", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{attempt}")
    # when
    response = _login(Client(), "anna", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99")
    # then
    assert response.status_code == 429


# --- soft lockout ------------------------------------------------------------------------------


def _attack(username: str, count: int) -> None:
    """``count`` wrong passwords, each from an address of its own (a botnet)."""
    for number in range(count):
        _login(Client(), username, f"guess-{number}", address=f"198.51.{number // 250}.{number}")


def test_an_attack_from_many_addresses_does_not_lock_out_the_owners_device(db, limits):
    # given: the owner signed in once on this browser, then signed out
    UserFactory(username="anna")
    owner = Client()
    assert _login(owner, "anna", PASSWORD, address="10.0.0.1").status_code == 302
    assert owner.cookies[DEVICE_COOKIE].value
    owner.post("/accounts/logout/")
    # when: 50 wrong passwords from 50 other addresses, then the owner from a new network
    _attack("anna", 50)
    response = _login(owner, "anna", PASSWORD, address="192.0.2.77")
    # then
    assert response.status_code == 302
    assert _signed_in(owner)


def test_the_owners_known_address_still_signs_in_during_an_attack(db, limits):
    # given: the owner signed in from the office before; the cookie is gone (new browser)
    UserFactory(username="anna")
    assert _login(Client(), "anna", PASSWORD, address="10.0.0.1").status_code == 302
    _attack("anna", 50)
    # when
    browser = Client()
    response = _login(browser, "anna", PASSWORD, address="10.0.0.1")
    # then
    assert response.status_code == 302
    assert _signed_in(browser)


def test_an_unknown_device_is_refused_during_an_attack_whatever_the_password(db, limits, hasher):
    # given
    UserFactory(username="anna")
    _attack("anna", 50)
    hasher.checked = 0
    # when: the right and a wrong password from an address and browser never seen
    right = _login(Client(), "anna", PASSWORD, address="192.0.2.77")
    wrong = _login(Client(), "anna", "wrong", address="192.0.2.78")
    # then: the same answer, and no password was even checked
    assert right.status_code == wrong.status_code == 429
    message = "Sign in from a device or network you have used before"
    assert message in right.content.decode()
    assert message in wrong.content.decode()
    assert hasher.checked == 0
    refused = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOGIN_THROTTLED)
    assert {event.data["reason"] for event in refused} == {"unknown_device"}


def test_below_the_account_limit_a_new_device_signs_in(db, limits):
    # given: a few failures from elsewhere, fewer than the per-account limit
    UserFactory(username="anna")
    _attack("anna", limits.LOGIN_THROTTLE_ACCOUNT_WIDE_LIMIT - 1)
    # when
    response = _login(Client(), "anna", PASSWORD, address="192.0.2.77")
    # then
    assert response.status_code == 302


def test_the_strict_limit_per_account_and_address_holds(db, limits):
    # given: five wrong passwords from one address, in a browser never signed in
    UserFactory(username="anna")
    for number in range(limits.LOGIN_THROTTLE_ACCOUNT_LIMIT):
        _login(Client(), "anna", f"wrong-{number}", address="10.0.0.1")
    # when
    same_address = _login(Client(), "anna", PASSWORD, address="10.0.0.1")
    other_address = _login(Client(), "anna", PASSWORD, address="10.0.0.2")
    # then
    assert same_address.status_code == 429
    assert "Too many failed sign-in attempts. Wait a few minutes" in same_address.content.decode()
    assert other_address.status_code == 302


def test_someone_behind_the_owners_address_cannot_lock_out_the_owners_device(db, limits):
    # given: the owner's browser in the office; a colleague behind the same NAT guesses
    UserFactory(username="anna")
    owner = Client()
    _login(owner, "anna", PASSWORD, address="10.0.0.1")
    owner.post("/accounts/logout/")
    for number in range(limits.LOGIN_THROTTLE_ACCOUNT_LIMIT + 3):
        _login(Client(), "anna", f"wrong-{number}", address="10.0.0.1")
    # when
    stranger = _login(Client(), "anna", PASSWORD, address="10.0.0.1")
    device = _login(owner, "anna", PASSWORD, address="10.0.0.1")
    # then
    assert stranger.status_code == 429
    assert device.status_code == 302
    assert _signed_in(owner)


def test_a_known_device_has_its_own_strict_limit(db, limits, hasher):
    # given: two browsers of the owner, then five wrong passwords from the first one
    UserFactory(username="anna")
    owner, laptop = Client(), Client()
    for browser in (owner, laptop):
        _login(browser, "anna", PASSWORD, address="10.0.0.1")
        browser.post("/accounts/logout/")
    for number in range(limits.LOGIN_THROTTLE_ACCOUNT_LIMIT):
        _login(owner, "anna", f"wrong-{number}", address=f"192.0.2.{number}")
    hasher.checked = 0
    # when: the right password from each, from yet another address
    refused = _login(owner, "anna", PASSWORD, address="192.0.2.99")
    checked_before = hasher.checked
    other_device = _login(laptop, "anna", PASSWORD, address="192.0.2.99")
    # then: the first is refused without a password check, the other device is not affected
    assert refused.status_code == 429
    assert checked_before == 0
    assert other_device.status_code == 302


def test_the_device_cookie_is_bound_to_the_user_and_the_password(db, limits):
    # given: anna's browser; boris is attacked; anna's password then changes
    anna = UserFactory(username="anna")
    UserFactory(username="boris")
    browser = Client()
    _login(browser, "anna", PASSWORD, address="10.0.0.1")
    browser.post("/accounts/logout/")
    _attack("boris", 20)
    _attack("anna", 20)
    # when: the cookie is tried for boris, and for anna after her password changed
    for_boris = _login(browser, "boris", PASSWORD, address="192.0.2.77")
    anna.set_password("A-new-password-41")
    anna.save()
    for_anna = _login(browser, "anna", "A-new-password-41", address="192.0.2.77")
    # then
    assert for_boris.status_code == 429
    assert for_anna.status_code == 429


def test_a_forged_device_cookie_is_ignored(db, limits):
    UserFactory(username="anna")
    _attack("anna", 20)
    browser = Client()
    browser.cookies[DEVICE_COOKIE] = "1:forged"
    assert _login(browser, "anna", PASSWORD, address="192.0.2.77").status_code == 429


def test_success_takes_its_attempt_back_from_the_account_counter(db, limits):
    # given: the owner signs in and out many times from a new device each time
    UserFactory(username="anna")
    for _ in range(limits.LOGIN_THROTTLE_ACCOUNT_WIDE_LIMIT + 2):
        client = Client()
        assert _login(client, "anna", PASSWORD, address="192.0.2.10").status_code == 302
    # when: a new device at another address
    response = _login(Client(), "anna", PASSWORD, address="192.0.2.11")
    # then: successes never count as an attack
    assert response.status_code == 302


def test_the_refusal_is_translated(db, limits):
    UserFactory(username="anna")
    _attack("anna", 20)
    response = Client().post(
        LOGIN,
        {"username": "anna", "password": PASSWORD},
        REMOTE_ADDR="192.0.2.77",
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert response.status_code == 429
    assert "Войдите с устройства или из сети, откуда уже входили" in response.content.decode()


def test_an_ipv6_attacker_cannot_escape_the_strict_limit_by_changing_address(db, limits):
    # given: five guesses, each from another address of the same /64
    UserFactory(username="anna")
    for number in range(5):
        _login(Client(), "anna", "wrong", address=f"2001:db8:1:2::{number + 1:x}")
    # when
    same_network = _login(Client(), "anna", PASSWORD, address="2001:db8:1:2::99")
    other_network = _login(Client(), "anna", PASSWORD, address="2001:db8:1:3::1")
    # then
    assert same_network.status_code == 429
    assert other_network.status_code == 302


def test_the_user_name_is_counted_as_the_account_is_looked_up(db, limits):
    # given: guesses at the same account spelt differently
    UserFactory(username="anna")
    for number, spelling in enumerate(["ANNA", " Anna", "anna ", "aNNa", "Anna"]):
        _login(Client(), spelling, f"wrong-{number}")
    # when
    response = _login(Client(), "anna", PASSWORD)
    # then
    assert response.status_code == 429
