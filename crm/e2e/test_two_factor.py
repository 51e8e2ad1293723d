"""Two-factor sign-in in a real browser: an administrator obliged to set it up scans (reads)
the key, confirms with a code, keeps the recovery codes, then signs in with a code; the
audit log shows it, on a desktop and at phone width."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pyotp
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.fixtures import Settings

    from crm.e2e.conftest import Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _password_step(page: Page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_admin_sets_up_two_factor_and_signs_in_with_a_code(
    page: ShotPage, phone_page: ShotPage, org: Org, password: str, settings: Settings
) -> None:
    settings.CRM_2FA_REQUIRED = "admins"
    # an administrator without 2FA is sent to the set-up page and can do nothing else
    _password_step(page, "admin", password)
    page.wait_for_url("**/accounts/two-factor/")
    page.goto("/accounts/users/")
    page.wait_for_url("**/accounts/two-factor/")
    page.click("button:has-text('Настроить двухфакторный вход')")
    qr = page.locator("img.qr-code")
    assert qr.get_attribute("src", timeout=5000).startswith("data:image/svg+xml")  # type: ignore[union-attr]
    page.shots("setup-qr")
    secret = (page.locator("#two-factor-secret").text_content() or "").replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.fill("input[name=code]", totp.now())
    page.click("button:has-text('Включить')")
    codes = page.locator("#recovery-codes li").all_text_contents()
    assert len(codes) == 10
    page.shots("recovery-codes")
    assert page.locator("#two-factor-secret").count() == 0  # the key is not shown again

    # sign out, then in: the password alone is not enough
    page.goto("/accounts/users/")
    page.click("nav .dropdown-toggle >> text=" + str(org.admin))
    page.click("form[action$='/accounts/logout/'] button")
    page.wait_for_url("**/accounts/login/**")
    _password_step(page, "admin", password)
    page.wait_for_url("**/accounts/login/code/")
    page.shots("code-page")
    page.goto("/accounts/users/")
    assert "/accounts/login/" in page.url  # not signed in yet
    _password_step(page, "admin", password)
    page.wait_for_url("**/accounts/login/code/")
    # the code of the next step (accepted: ±1 step), as the one just used cannot be replayed
    page.fill("input[name=code]", totp.at(time.time() + 30))
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.goto("/accounts/security/?kind=2fa_passed")
    assert page.locator("table tbody tr").count() == 1
    assert "Второй фактор принят" in page.locator("table").inner_text()
    page.goto("/accounts/security/")
    assert "Журнал аудита" in page.locator("h1").inner_text()
    page.shots("audit-log")

    # on a phone, with a recovery code
    _password_step(phone_page, "admin", password)
    phone_page.wait_for_url("**/accounts/login/code/")
    phone_page.fill("input[name=code]", codes[0])
    phone_page.click("button[type=submit]")
    phone_page.wait_for_url(lambda url: "/accounts/login/" not in url)
    phone_page.goto("/accounts/security/")
    assert "Использован резервный код" in phone_page.locator("table").inner_text()
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the audit log scrolls sideways on a phone ({width}px)"
    phone_page.shots("audit-log-phone")
    phone_page.goto("/accounts/two-factor/")
    phone_page.shots("two-factor-phone")
