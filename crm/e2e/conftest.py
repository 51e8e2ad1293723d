"""Browser fixtures: Playwright driving Debian's Chromium against pytest-django's live server.

Each test's screenshots go to ``test-artifacts/e2e/<test name>/`` (kept by CI as artefacts).
Without ``/usr/bin/chromium`` the browser tests are skipped on a developer's machine but fail
in CI (``CI=true``), where ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page
    from pytest_django.live_server_helper import LiveServer

    from crm.accounts.models import User

CHROMIUM = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make to
# set up data are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"Chromium is missing at {CHROMIUM}; .ci/run installs it.")
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


class Org(Protocol):
    """The users of the root conftest's ``org`` fixture."""

    admin: User
    head: User
    manager: User
    colleague: User
    outsider: User
    viewer: User


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


class Shots:
    """Numbered screenshots of one test."""

    def __init__(self, page: Page, name: str) -> None:
        self.page = page
        self.folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", name)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def __call__(self, label: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


if TYPE_CHECKING:

    class ShotPage(Page):
        """A Playwright page given ``shots`` by ``with_shots`` (for annotations only)."""

        shots: Shots


def with_shots(page: Page, name: str) -> ShotPage:
    """``page`` with ``page.shots`` saving screenshots under ``name``."""
    shot_page = cast("ShotPage", page)
    shot_page.shots = Shots(page, name)
    return shot_page


# Every document the browser opens reports Content-Security-Policy violations to the
# console with this mark (an init script is not itself subject to the page's policy). The
# browser's own console message about a violation is counted too, in case a violation
# happens before the listener is in place.
CSP_MARK = "CSP-VIOLATION "
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP-VIOLATION " + JSON.stringify({
    directive: event.effectiveDirective, blocked: event.blockedURI,
    document: event.documentURI, source: event.sourceFile, line: event.lineNumber,
    sample: event.sample,
  }));
});
"""
BROWSER_CSP_MESSAGE = re.compile(r"Content Security Policy|Refused to")


class CspViolations(list[str]):
    """The CSP violations seen by one browser context; the page fixtures fail the test at
    teardown if there are any."""

    def watch(self, context: BrowserContext) -> None:
        context.add_init_script(CSP_LISTENER)
        context.on("console", self._record)

    def _record(self, message: ConsoleMessage) -> None:
        if message.text.startswith(CSP_MARK):
            self.append(message.text.removeprefix(CSP_MARK))
        elif BROWSER_CSP_MESSAGE.search(message.text):
            self.append(message.text)


@pytest.fixture
def csp_violations() -> CspViolations:
    """The violations of this test's pages (tests that look at them use this fixture)."""
    return CspViolations()


def _new_page(
    browser: Browser,
    live_server: LiveServer,
    request: pytest.FixtureRequest,
    violations: CspViolations,
    **options: Any,
) -> Iterator[ShotPage]:
    context = browser.new_context(locale="ru-RU", base_url=live_server.url, **options)
    context.set_default_timeout(10_000)
    violations.watch(context)
    page = with_shots(context.new_page(), request.node.name)
    yield page
    context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def page(
    browser: Browser,
    live_server: LiveServer,
    request: pytest.FixtureRequest,
    csp_violations: CspViolations,
) -> Iterator[ShotPage]:
    yield from _new_page(
        browser, live_server, request, csp_violations, viewport={"width": 1280, "height": 900}
    )


@pytest.fixture
def phone_page(
    browser: Browser,
    live_server: LiveServer,
    request: pytest.FixtureRequest,
    csp_violations: CspViolations,
) -> Iterator[ShotPage]:
    yield from _new_page(
        browser,
        live_server,
        request,
        csp_violations,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )


def sign_in(page: Page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
