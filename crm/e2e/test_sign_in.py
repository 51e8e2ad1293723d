"""Signing in and out in a real browser, and the throttle after repeated failures."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from crm.e2e.conftest import sign_in

if TYPE_CHECKING:
    from pytest_django.fixtures import Settings

    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_in_and_out(page: ShotPage, org: Org, password: str) -> None:
    page.goto("/")
    assert "/accounts/login/" in page.url
    page.shots("login-form")
    sign_in(page, "manager", password)
    page.shots("signed-in")
    page.click("nav .dropdown-toggle >> text=" + str(org.manager))
    page.click("form[action$='/accounts/logout/'] button")
    page.wait_for_url("**/accounts/login/**")


def test_wrong_password_then_throttled(page: ShotPage, org: Org, settings: Settings) -> None:
    settings.LOGIN_THROTTLE_ACCOUNT_LIMIT = 2
    for _attempt in range(2):
        page.goto("/accounts/login/")
        page.fill("input[name=username]", "manager")
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit]")
        assert page.locator(".alert-danger").is_visible()
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    page.shots("throttled")
    assert "Слишком много" in page.locator(".alert-danger").inner_text() or "Too many" in (
        page.locator(".alert-danger").inner_text()
    )
