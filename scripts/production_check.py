"""Check a deployed CRM in a real browser: sign in, open every main page, read the headers.

Run by ``scripts/production_check.sh`` against nginx in front of gunicorn; it reads the
settings of the deployment from the environment (``DATABASE_URL`` and the ``CRM_*``
variables) to look at the security log afterwards. The password comes from
``PRODUCTION_CHECK_PASSWORD``, never from the command line; when the account has two-factor
sign-in, ``PRODUCTION_CHECK_TOTP_FILE`` names the file with its TOTP secret (written by
``manage.py two_factor_setup``) and the sign-in code is computed from it::

    PRODUCTION_CHECK_PASSWORD=... .venv/bin/python scripts/production_check.py \\
        --base-url https://crm.example.com:8443 --address 127.0.0.1 --username ci-admin

``--address`` is the address the browser reaches nginx at (``crm.example.com`` is
mapped to it in Chromium): nginx sees the browser connect from it and passes it on in
``X-Forwarded-For``. Prints one verdict per page and header, and exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import hmac
import os
import struct
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page, Response

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")

# The main pages: (name, path). Each must answer 200 to an administrator.
PAGES = [
    ("home", "/"),
    ("contacts", "/customers/contacts/"),
    ("companies", "/customers/companies/"),
    ("deals board", "/sales/board/"),
    ("deals list", "/sales/deals/"),
    ("leads", "/leads/"),
    ("tasks", "/tasks/"),
    ("task list", "/tasks/list/"),
    ("calendar", "/tasks/calendar/"),
    ("notifications", "/notifications/"),
    ("users", "/accounts/users/"),
    ("security log", "/accounts/security/"),
    ("API docs", "/api/v1/docs"),
]

# Reports Content-Security-Policy violations as console errors (Chromium prints its own
# "Refused to ..." message too; this one names the directive and the blocked address).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""


def totp_now(secret: str, *, at: float | None = None) -> str:
    """The current six-digit TOTP code of a base32 ``secret`` (RFC 6238: SHA-1, 30 s)."""
    secret = secret.strip().replace(" ", "").upper()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int(time.time() if at is None else at) // 30
    digest = hmac.new(key, struct.pack(">Q", counter), "sha1").digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def header_checks(*, signed_in: bool) -> list[tuple[str, Callable[[dict[str, str]], bool]]]:
    """(verdict name, test of the lower-cased response headers)."""
    checks: list[tuple[str, Callable[[dict[str, str]], bool]]] = [
        (
            "HSTS",
            lambda h: (
                "max-age=" in h.get("strict-transport-security", "")
                and not h["strict-transport-security"].startswith("max-age=0")
            ),
        ),
        ("X-Content-Type-Options", lambda h: h.get("x-content-type-options") == "nosniff"),
        (
            "X-Frame-Options or frame-ancestors",
            lambda h: (
                h.get("x-frame-options", "").upper() in {"DENY", "SAMEORIGIN"}
                or "frame-ancestors" in h.get("content-security-policy", "")
            ),
        ),
        ("Referrer-Policy", lambda h: bool(h.get("referrer-policy"))),
        ("Content-Security-Policy", lambda h: bool(h.get("content-security-policy"))),
        ("Permissions-Policy", lambda h: bool(h.get("permissions-policy"))),
    ]
    if signed_in:
        checks.append(
            ("Cache-Control no-store", lambda h: "no-store" in h.get("cache-control", ""))
        )
    return checks


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)

    def verdict(self, ok: bool, subject: str, detail: str = "") -> None:
        print(
            f"{'PASS' if ok else 'FAIL'}  {subject}{f'  ({detail})' if detail else ''}", flush=True
        )
        if not ok:
            self.failures.append(subject)


@dataclass
class Watch:
    """What the browser reported while a page loaded: console errors and failed requests."""

    errors: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def response(self, response: Response) -> None:
        if response.status >= 400:
            self.errors.append(f"{response.status} {response.request.method} {response.url}")

    def page_error(self, error: Exception) -> None:
        self.errors.append(f"script error: {error}")

    def take(self) -> list[str]:
        errors, self.errors = self.errors, []
        return errors


def check_page(
    page: Page, watch: Watch, report: Report, name: str, url: str, *, signed_in: bool
) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    response = page.goto(url, wait_until="load")
    # Let the page finish what it loads after "load": htmx fragments (the notification
    # badge), the API docs' schema. A page that keeps polling is not waited for longer.
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_load_state("networkidle", timeout=3_000)
    status = response.status if response else 0
    report.verdict(
        status == 200, f"{name} {urllib.parse.urlsplit(url).path} answers 200", str(status)
    )
    headers = response.headers if response else {}
    for header, test in header_checks(signed_in=signed_in):
        report.verdict(test(headers), f"{name}: {header}", headers_shown(header, headers))
    errors = watch.take()
    report.verdict(
        not errors,
        f"{name}: no CSP violation, script error or failed request",
        "; ".join(errors[:5]),
    )


def headers_shown(check: str, headers: dict[str, str]) -> str:
    names = {
        "HSTS": "strict-transport-security",
        "X-Content-Type-Options": "x-content-type-options",
        "Referrer-Policy": "referrer-policy",
        "Content-Security-Policy": "content-security-policy",
        "Permissions-Policy": "permissions-policy",
        "Cache-Control no-store": "cache-control",
    }
    name = names.get(check)
    if name is None:
        return f"x-frame-options={headers.get('x-frame-options', '-')}"
    value = headers.get(name, "-")
    return value if len(value) <= 80 else value[:77] + "..."


def browse(options: argparse.Namespace, password: str, report: Report) -> None:
    from playwright.sync_api import sync_playwright

    host = urllib.parse.urlsplit(options.base_url).hostname
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                f"--host-resolver-rules=MAP {host} {options.address}",
            ],
        )
        context = browser.new_context(
            ignore_https_errors=True, base_url=options.base_url, locale="ru-RU"
        )
        context.set_default_timeout(20_000)
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        watch = Watch()
        page.on("console", watch.console)
        page.on("response", watch.response)
        page.on("pageerror", watch.page_error)

        check_page(page, watch, report, "sign-in page", "/accounts/login/", signed_in=False)
        page.fill("input[name=username]", options.username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
        code_field = page.locator("input[name=code]")
        if code_field.count():
            totp_file = os.environ.get("PRODUCTION_CHECK_TOTP_FILE")
            report.verdict(bool(totp_file), "a sign-in code asked: PRODUCTION_CHECK_TOTP_FILE set")
            if totp_file:
                code_field.fill(totp_now(Path(totp_file).read_text()))
                page.click("button[type=submit]")
                page.wait_for_load_state("load")
        signed_in = "/accounts/login" not in page.url
        report.verdict(signed_in, "signed in through nginx", page.url)
        if signed_in:
            for name, path in PAGES:
                check_page(page, watch, report, name, path, signed_in=True)
        browser.close()


def check_security_log(options: argparse.Namespace, since: dt.datetime, report: Report) -> None:
    """The sign-in recorded in the security log carries the browser's address."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.config.settings")
    import django

    django.setup()
    from django.apps import apps

    try:
        event_model = apps.get_model("accounts", "SecurityEvent")
    except LookupError:
        report.verdict(False, "security log: the model accounts.SecurityEvent exists")
        return
    event = (
        event_model.objects.filter(
            kind__in=["login", "2fa_passed"], username=options.username, created_at__gte=since
        )
        .order_by("-created_at")
        .first()
    )
    if event is None:
        report.verdict(False, "security log: the sign-in is recorded")
        return
    recorded = getattr(event, "ip_address", None)
    report.verdict(
        recorded == options.address,
        "security log: the sign-in carries the browser's address from X-Forwarded-For",
        f"recorded {recorded}, browser at {options.address}",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--address", required=True, help="the address the browser connects from")
    parser.add_argument("--username", required=True)
    options = parser.parse_args()
    password = os.environ.get("PRODUCTION_CHECK_PASSWORD", "")
    if not password:
        print("Set PRODUCTION_CHECK_PASSWORD.", file=sys.stderr)
        return 2
    report = Report()
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    browse(options, password, report)
    check_security_log(options, since, report)
    if report.failures:
        print(f"\n{len(report.failures)} checks failed:", *report.failures, sep="\n  ")
        return 1
    print("\nAll checks passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
