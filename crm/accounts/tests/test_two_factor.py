"""Two-factor sign-in: set-up, the two-step sign-in, recovery codes, replay, throttling, the
obligation for administrators, the administrator's reset, and API tokens left alone."""

from __future__ import annotations

import re
import threading

import pyotp
import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from conftest import client_for
from crm.accounts import two_factor
from crm.accounts.models import RecoveryCode, SecurityEvent, TwoFactorDevice, User
from crm.accounts.services import api_token_create
from crm.accounts.two_factor import TwoFactorThrottled
from crm.core.errors import PermissionDenied, ValidationFailed

NOW = 1_800_000_000.0  # a fixed moment: every test decides which time step it is in


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The TOTP clock, at ``NOW``; ``clock.move(seconds)`` moves it on."""

    class Clock:
        now = NOW

        def move(self, seconds: float) -> None:
            self.now += seconds

    state = Clock()
    monkeypatch.setattr(two_factor, "_clock", lambda: state.now)
    return state


def _secret(user: User) -> str:
    return two_factor._decrypt(TwoFactorDevice.objects.get(user=user).secret_encrypted)


def _code(user: User, clock, offset: int = 0) -> str:
    return pyotp.TOTP(_secret(user)).at(int(clock.now) + offset)


def _enable(user: User, clock) -> list[str]:
    """Turn 2FA on through the services; returns the recovery codes; moves to a new step."""
    two_factor.two_factor_begin(user=user)
    codes = two_factor.two_factor_confirm(user=user, code=_code(user, clock))
    clock.move(30)
    return codes


def _sign_in(client: Client, user: User, password: str):
    return client.post(reverse("accounts:login"), {"username": user.username, "password": password})


# --- set-up -----------------------------------------------------------------------------------


def test_setup_stores_the_secret_encrypted_and_confirms_with_a_code(org, clock):
    device = two_factor.two_factor_begin(user=org.manager)
    secret = _secret(org.manager)
    assert secret not in device.secret_encrypted  # stored encrypted
    assert not two_factor.two_factor_is_enabled(user=org.manager)

    codes = two_factor.two_factor_confirm(user=org.manager, code=_code(org.manager, clock))

    assert two_factor.two_factor_is_enabled(user=org.manager)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", code) for code in codes)
    stored = set(RecoveryCode.objects.filter(user=org.manager).values_list("code_hash", flat=True))
    assert not stored & set(codes)  # only hashes
    assert SecurityEvent.objects.filter(kind="2fa_enabled", user=org.manager).count() == 1


def test_setup_refuses_a_wrong_code_and_changes_nothing(org, clock):
    two_factor.two_factor_begin(user=org.manager)
    wrong = "000000" if _code(org.manager, clock) != "000000" else "111111"
    with pytest.raises(ValidationFailed) as refused:
        two_factor.two_factor_confirm(user=org.manager, code=wrong)
    assert "code" in refused.value.field_errors
    assert not two_factor.two_factor_is_enabled(user=org.manager)
    assert not RecoveryCode.objects.filter(user=org.manager).exists()
    assert SecurityEvent.objects.filter(kind="2fa_failed", user=org.manager).count() == 1


def test_the_secret_is_never_logged(org, clock, caplog):
    caplog.set_level("DEBUG")
    codes = _enable(org.manager, clock)
    secret = _secret(org.manager)
    assert secret not in caplog.text
    assert not any(code in caplog.text for code in codes)
    for event in SecurityEvent.objects.all():
        assert secret not in str(event.data)


def test_setup_page_shows_a_qr_code_then_the_recovery_codes_once(org, clock):
    client = client_for(org.manager)
    page = client.get(reverse("accounts:two_factor"))
    assert page.status_code == 200
    assert b'value="begin"' in page.content

    client.post(reverse("accounts:two_factor"), {"action": "begin"})
    page = client.get(reverse("accounts:two_factor"))
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html
    content = html.split("<main")[1]
    assert (
        "<script" not in content and " style=" not in content and " on" + "submit=" not in content
    )
    assert page.headers["Cache-Control"] == "no-store"

    done = client.post(
        reverse("accounts:two_factor"), {"action": "confirm", "code": _code(org.manager, clock)}
    )
    assert done.status_code == 200
    codes = re.findall(r"[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}", done.content.decode())
    assert len(codes) == 10
    again = client.get(reverse("accounts:two_factor")).content.decode()
    assert codes[0] not in again
    assert _secret(org.manager).replace(" ", "") not in again  # the key is not shown again


def test_setup_page_wrong_code_answers_422_naming_the_field(org, clock):
    client = client_for(org.manager)
    client.post(reverse("accounts:two_factor"), {"action": "begin"})
    response = client.post(reverse("accounts:two_factor"), {"action": "confirm", "code": "12"})
    assert response.status_code == 422
    assert response.context["code_form"].errors["code"]
    response = client.post(reverse("accounts:two_factor"), {"action": "nonsense"})
    assert response.status_code == 400


# --- the two-step sign-in ---------------------------------------------------------------------


def test_sign_in_takes_a_code_and_the_session_is_not_signed_in_before(org, password, clock):
    _enable(org.manager, clock)
    client = Client()
    first = _sign_in(client, org.manager, password)
    assert first.status_code == 302 and first.url == reverse("accounts:login_code")
    pending_key = client.session.session_key
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302  # still anonymous

    done = client.post(reverse("accounts:login_code"), {"code": _code(org.manager, clock)})

    assert done.status_code == 302 and done.url == "/"
    assert client.session["_auth_user_id"] == str(org.manager.pk)
    assert client.session.session_key != pending_key  # rotated on completion
    assert client.get(reverse("accounts:token_list")).status_code == 200
    assert SecurityEvent.objects.filter(kind="2fa_passed", user=org.manager).count() == 1


def test_the_password_alone_does_not_make_the_address_known(org, password, clock):
    """The soft lockout trusts addresses of completed sign-ins only (issue 11, finding 4)."""
    from crm.accounts import devices

    _enable(org.manager, clock)
    client = Client(REMOTE_ADDR="198.51.100.7")
    _sign_in(client, org.manager, password)

    assert SecurityEvent.objects.filter(kind="login_password", user=org.manager).count() == 1
    assert not SecurityEvent.objects.filter(kind="login", user=org.manager).exists()
    assert not devices.address_is_known(user=org.manager, address="198.51.100.7")

    client.post(reverse("accounts:login_code"), {"code": _code(org.manager, clock)})

    assert devices.address_is_known(user=org.manager, address="198.51.100.7")


def test_sign_in_keeps_the_next_page(org, password, clock):
    _enable(org.manager, clock)
    client = Client()
    client.post(
        reverse("accounts:login") + "?next=/tasks/",
        {"username": "manager", "password": password, "next": "/tasks/"},
    )
    done = client.post(reverse("accounts:login_code"), {"code": _code(org.manager, clock)})
    assert done.url == "/tasks/"


def test_a_user_without_two_factor_signs_in_with_the_password(org, password):
    client = Client()
    response = _sign_in(client, org.manager, password)
    assert response.status_code == 302 and response.url == "/"
    assert client.session["_auth_user_id"] == str(org.manager.pk)


def test_the_code_page_without_a_password_step_goes_back_to_sign_in(db, clock):
    response = Client().post(reverse("accounts:login_code"), {"code": "123456"})
    assert response.status_code == 302 and response.url == reverse("accounts:login")


def test_the_pending_sign_in_expires(org, password, clock):
    _enable(org.manager, clock)
    client = Client()
    _sign_in(client, org.manager, password)
    clock.move(two_factor.PENDING_SECONDS + 1)
    response = client.post(reverse("accounts:login_code"), {"code": _code(org.manager, clock)})
    assert response.status_code == 302 and response.url == reverse("accounts:login")
    assert "_auth_user_id" not in client.session


def test_a_wrong_code_answers_422_and_does_not_sign_in(org, password, clock):
    _enable(org.manager, clock)
    client = Client()
    _sign_in(client, org.manager, password)
    wrong = "000000" if _code(org.manager, clock) != "000000" else "111111"
    response = client.post(reverse("accounts:login_code"), {"code": wrong})
    assert response.status_code == 422
    assert response.context["form"].errors["code"]
    assert "_auth_user_id" not in client.session


def test_codes_of_the_neighbouring_steps_are_accepted_but_not_older(org, password, clock):
    _enable(org.manager, clock)
    clock.move(60)  # well past the step used to confirm
    for offset, accepted in ((-30, True), (30, True)):
        client = Client()
        _sign_in(client, org.manager, password)
        response = client.post(
            reverse("accounts:login_code"), {"code": _code(org.manager, clock, offset)}
        )
        assert (response.status_code == 302) is accepted
        clock.move(90)
    client = Client()
    _sign_in(client, org.manager, password)
    stale = client.post(reverse("accounts:login_code"), {"code": _code(org.manager, clock, -60)})
    assert stale.status_code == 422


def test_a_code_cannot_be_replayed_within_its_window(org, password, clock):
    _enable(org.manager, clock)
    code = _code(org.manager, clock)
    first, second = Client(), Client()
    _sign_in(first, org.manager, password)
    _sign_in(second, org.manager, password)
    assert first.post(reverse("accounts:login_code"), {"code": code}).status_code == 302
    clock.move(10)  # the same step: the same code is still "valid" for the app
    replay = second.post(reverse("accounts:login_code"), {"code": code})
    assert replay.status_code == 422
    assert "_auth_user_id" not in second.session


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite" and not connection.settings_dict["TEST"].get("NAME"),
    reason="concurrent writers need PostgreSQL or SQLite on a file (CRM_TEST_SQLITE_NAME): the "
    "in-memory test database refuses a second writer at once ('table is locked')",
)
def test_the_same_code_sent_twice_at_once_signs_in_only_once(clock):
    from crm.accounts.tests.factories import PASSWORD, UserFactory

    user = UserFactory(username="racer")
    _enable(user, clock)
    code = _code(user, clock)
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        from django.db import connection

        try:
            barrier.wait(timeout=10)
            results.append(two_factor._totp_accepts(TwoFactorDevice.objects.get(user=user), code))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, False, False, True]
    assert PASSWORD  # the factory's password is unused here


def test_a_recovery_code_signs_in_once_only(org, password, clock):
    codes = _enable(org.manager, clock)
    client = Client()
    _sign_in(client, org.manager, password)
    done = client.post(reverse("accounts:login_code"), {"code": codes[3].upper()})
    assert done.status_code == 302
    event = SecurityEvent.objects.get(kind="recovery_code_used", user=org.manager)
    assert event.data["left"] == 9

    again = Client()
    _sign_in(again, org.manager, password)
    assert again.post(reverse("accounts:login_code"), {"code": codes[3]}).status_code == 422


def test_wrong_codes_are_throttled_per_user(org, password, clock, settings):
    settings.CRM_2FA_THROTTLE_LIMIT = 5
    _enable(org.manager, clock)
    client = Client()
    _sign_in(client, org.manager, password)
    right = _code(org.manager, clock)
    wrong = "000000" if right != "000000" else "111111"
    statuses = [
        client.post(reverse("accounts:login_code"), {"code": wrong}).status_code for _ in range(5)
    ]
    assert statuses == [422] * 5
    throttled = client.post(reverse("accounts:login_code"), {"code": right})
    assert throttled.status_code == 429  # even the right code waits for the window
    assert "_auth_user_id" not in client.session
    assert SecurityEvent.objects.filter(kind="2fa_throttled", user=org.manager).count() == 1
    # another browser, the same user: the counter is the user's, not the session's
    other = Client()
    _sign_in(other, org.manager, password)
    assert other.post(reverse("accounts:login_code"), {"code": right}).status_code == 429


def test_the_throttle_counts_before_checking(org, clock, settings):
    settings.CRM_2FA_THROTTLE_LIMIT = 3
    _enable(org.manager, clock)
    device = TwoFactorDevice.objects.get(user=org.manager)
    for _ in range(3):
        with pytest.raises(ValidationFailed):
            two_factor._check(
                user=org.manager,
                device=device,
                code="999999x",
                request=None,
                allow_recovery=False,
                purpose="test",
            )
    with pytest.raises(TwoFactorThrottled):
        two_factor._check(
            user=org.manager,
            device=device,
            code=_code(org.manager, clock),
            request=None,
            allow_recovery=False,
            purpose="test",
        )


# --- managing it ------------------------------------------------------------------------------


def test_recovery_codes_are_regenerated_after_a_code(org, clock):
    old = _enable(org.manager, clock)
    client = client_for(org.manager)
    response = client.post(
        reverse("accounts:two_factor"), {"action": "regenerate", "code": _code(org.manager, clock)}
    )
    assert response.status_code == 200
    new = response.context["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert RecoveryCode.objects.filter(user=org.manager).count() == 10
    assert SecurityEvent.objects.filter(kind="recovery_codes_new", user=org.manager).exists()


def test_turning_off_takes_the_password_and_a_code(org, password, clock):
    _enable(org.manager, clock)
    client = client_for(org.manager)
    code = _code(org.manager, clock)
    refused = client.post(
        reverse("accounts:two_factor"), {"action": "disable", "password": "wrong", "code": code}
    )
    assert refused.status_code == 422
    assert refused.context["disable_form"].errors["password"]
    assert two_factor.two_factor_is_enabled(user=org.manager)

    done = client.post(
        reverse("accounts:two_factor"), {"action": "disable", "password": password, "code": code}
    )
    assert done.status_code == 302
    assert not TwoFactorDevice.objects.filter(user=org.manager).exists()
    assert not RecoveryCode.objects.filter(user=org.manager).exists()
    assert SecurityEvent.objects.filter(kind="2fa_disabled", user=org.manager).count() == 1


def test_a_required_user_cannot_turn_it_off(org, password, clock, settings):
    settings.CRM_2FA_REQUIRED = "admins"
    _enable(org.admin, clock)
    with pytest.raises(ValidationFailed):
        two_factor.two_factor_disable(
            user=org.admin, password=password, code=_code(org.admin, clock)
        )
    assert two_factor.two_factor_is_enabled(user=org.admin)


def test_an_administrator_resets_a_users_two_factor(org, password, clock):
    _enable(org.manager, clock)
    response = client_for(org.admin).post(
        reverse("accounts:user_two_factor_reset", args=[org.manager.pk])
    )
    assert response.status_code == 302
    assert not two_factor.two_factor_is_enabled(user=org.manager)
    event = SecurityEvent.objects.get(kind="2fa_reset")
    assert (event.user, event.actor, event.ip_address) == (org.manager, org.admin, "127.0.0.1")
    client = Client()
    assert _sign_in(client, org.manager, password).url == "/"  # the password alone again


@pytest.mark.parametrize("who", ["head", "manager"])
def test_only_an_administrator_may_reset(org, clock, who):
    _enable(org.colleague, clock)
    response = client_for(getattr(org, who)).post(
        reverse("accounts:user_two_factor_reset", args=[org.colleague.pk])
    )
    assert response.status_code == 403
    assert two_factor.two_factor_is_enabled(user=org.colleague)
    with pytest.raises(PermissionDenied):
        two_factor.two_factor_reset(actor=getattr(org, who), user=org.colleague)


def test_the_user_page_shows_the_reset_only_when_on(org, clock):
    client = client_for(org.admin)
    page = client.get(reverse("accounts:user_edit", args=[org.manager.pk])).content.decode()
    assert reverse("accounts:user_two_factor_reset", args=[org.manager.pk]) not in page
    _enable(org.manager, clock)
    page = client.get(reverse("accounts:user_edit", args=[org.manager.pk])).content.decode()
    assert reverse("accounts:user_two_factor_reset", args=[org.manager.pk]) in page


# --- required for administrators --------------------------------------------------------------


def test_an_admin_without_two_factor_is_sent_to_set_up(org, settings, clock):
    settings.CRM_2FA_REQUIRED = "admins"
    client = client_for(org.admin)
    for url in (reverse("home"), reverse("accounts:user_list"), reverse("customers:contact_list")):
        response = client.get(url)
        assert response.status_code == 302 and response.url == reverse("accounts:two_factor")
    assert client.get(reverse("accounts:two_factor")).status_code == 200
    fragment = client.get(reverse("notifications:notification_badge"), headers={"HX-Request": "1"})
    assert fragment.status_code == 403  # never the set-up page swapped into a fragment
    assert client.post(reverse("accounts:logout")).status_code == 302
    # a manager is not obliged
    assert client_for(org.manager).get(reverse("accounts:token_list")).status_code == 200


def test_the_obligation_ends_once_set_up(org, settings, clock):
    settings.CRM_2FA_REQUIRED = "admins"
    client = client_for(org.admin)
    client.post(reverse("accounts:two_factor"), {"action": "begin"})
    client.post(
        reverse("accounts:two_factor"), {"action": "confirm", "code": _code(org.admin, clock)}
    )
    assert client.get(reverse("accounts:user_list")).status_code == 200


def test_required_for_all_obliges_managers_too(org, settings):
    settings.CRM_2FA_REQUIRED = "all"
    response = client_for(org.manager).get(reverse("home"))
    assert response.status_code == 302 and response.url == reverse("accounts:two_factor")
    api = client_for(org.manager).get("/api/v1/users/me")
    assert api.status_code == 403


def test_api_tokens_are_unaffected(org, settings, clock):
    settings.CRM_2FA_REQUIRED = "all"
    _enable(org.manager, clock)
    _token, secret = api_token_create(user=org.manager, name="script")
    response = Client().get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert response.json()["username"] == "manager"
    # an admin without 2FA, obliged to have it, still uses a token
    _token, admin_secret = api_token_create(user=org.admin, name="script")
    response = Client().get("/api/v1/users/me", headers={"Authorization": f"Bearer {admin_secret}"})
    assert response.status_code == 200


def test_the_operator_command_writes_the_secret_to_a_file(org, password, tmp_path, clock):
    path = tmp_path / "secret"
    call_command("two_factor_setup", "admin", "--secret-file", str(path))
    secret = path.read_text().strip()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert secret == _secret(org.admin)
    client = Client()
    _sign_in(client, org.admin, password)
    code = pyotp.TOTP(secret).at(int(clock.now))
    assert client.post(reverse("accounts:login_code"), {"code": code}).status_code == 302


def test_password_change_is_audited_and_keeps_the_session(org, password):
    client = client_for(org.manager)
    refused = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "nope",
            "new_password1": "Qw-long-2026!",
            "new_password2": "Qw-long-2026!",
        },
    )
    assert refused.status_code == 422
    assert refused.context["form"].errors["old_password"]
    done = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": password,
            "new_password1": "Qw-long-2026!",
            "new_password2": "Qw-long-2026!",
        },
    )
    assert done.status_code == 302
    org.manager.refresh_from_db()
    assert org.manager.check_password("Qw-long-2026!")
    assert client.get(reverse("accounts:token_list")).status_code == 200
    event = SecurityEvent.objects.get(kind="password_changed")
    assert (event.user, event.actor) == (org.manager, org.manager)
