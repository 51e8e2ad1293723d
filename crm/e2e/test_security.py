"""The strict Content-Security-Policy in a real browser: every main page signed in as the
administrator answers with the security headers and reports no violation; the behaviours
that were inline handlers (confirm, auto-submit) still work; an expired session sends an
HTMX request's page to sign-in."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from crm.accounts.models import User
from crm.core.middleware import SEEN_AT
from crm.customers.tests.factories import make_company, make_contact
from crm.e2e.conftest import sign_in
from crm.leads.models import RoutingRule, WebForm
from crm.leads.services.leads import lead_create_manual
from crm.planner.models import TaskType
from crm.planner.tests.factories import make_task
from crm.sales.models import Deal, Pipeline, Stage

if TYPE_CHECKING:
    from playwright.sync_api import Response

    from crm.e2e.conftest import CspViolations, Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def make_records(org: Org) -> dict[str, str]:
    """A record of every kind with a card, in a pipeline of their own (browser tests flush
    the tables, so the migrations' pipelines and task types are gone)."""
    for code, position in (("call", 10), ("meeting", 20), ("email", 30), ("todo", 40)):
        TaskType.objects.get_or_create(code=code, defaults={"name": code, "position": position})
    pipeline = Pipeline.objects.create(name="Кухни", position=0)
    stages = [
        Stage.objects.create(pipeline=pipeline, name=name, kind=kind, color=color, position=n)
        for n, (name, kind, color) in enumerate(
            [
                ("Новая", "open", "#0d6efd"),
                ("Замер", "open", "#fd7e14"),
                ("Продано", "won", "#198754"),
                ("Отказ", "lost", "#dc3545"),
            ]
        )
    ]
    RoutingRule.objects.all().delete()
    RoutingRule.objects.create(
        name="Все", position=99, is_default=True, pipeline=pipeline, strategy="client_manager"
    )
    contact = make_contact(org.admin, last_name="Клиентова", first_name="Анна")
    company = make_company(org.admin, name="ООО Ромашка")
    deal = Deal.objects.create(
        pipeline=pipeline,
        stage=stages[1],
        owner=org.admin,
        title="Кухня для Анны",
        contact=contact,
        stage_entered_at=timezone.now(),
        last_activity_at=timezone.now(),
    )
    task = make_task(org.admin, title="Позвонить Анне")
    lead = lead_create_manual(
        actor=org.admin, data={"name": "Пётр Лидов", "phone": "+7 912 000-00-01"}
    )
    return {
        "contact": f"/customers/contacts/{contact.pk}/",
        "company": f"/customers/companies/{company.pk}/",
        "deal": f"/sales/deals/{deal.pk}/",
        "task": f"/tasks/{task.pk}/",
        "lead": f"/leads/{lead.pk}/",
        "board": f"/sales/board/?pipeline={pipeline.pk}",
        "pipeline": str(pipeline.pk),
    }


def assert_headers(response: Response | None, url: str) -> None:
    assert response is not None, url
    assert response.status == 200, f"{url}: {response.status}"
    headers = response.headers
    policy = headers.get("content-security-policy", "")
    assert "default-src 'self'" in policy and "script-src 'self' 'nonce-" in policy, url
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, url
    assert "camera=()" in headers.get("permissions-policy", ""), url
    assert headers.get("cross-origin-opener-policy") == "same-origin", url
    assert "no-store" in headers.get("cache-control", ""), url
    assert headers.get("x-frame-options") == "DENY", url


def settle(page: ShotPage) -> None:
    """Let the page's scripts and first HTMX requests run (their violations would come now)."""
    page.wait_for_load_state("networkidle")


@pytest.mark.slow
def test_main_pages_send_the_headers_and_break_no_policy(
    page: ShotPage, org: Org, password: str, csp_violations: CspViolations
) -> None:
    cards = make_records(org)
    sign_in(page, "admin", password)
    pages = {
        "home": "/",
        "contacts": "/customers/contacts/",
        "companies": "/customers/companies/",
        "contact-card": cards["contact"],
        "company-card": cards["company"],
        "deal-card": cards["deal"],
        "board": cards["board"],
        "deals": "/sales/deals/",
        "leads": "/leads/",
        "lead-card": cards["lead"],
        "tasks": "/tasks/",
        "task-card": cards["task"],
        "calendar": "/tasks/calendar/",
        "calendar-week": "/tasks/calendar/?view=week",
        "notifications": "/notifications/",
        "users": "/accounts/users/",
        "security-log": "/accounts/security/",
        "api-tokens": "/accounts/tokens/",
        "pipelines": "/sales/settings/pipelines/",
        "duplicates": "/customers/duplicates/",
        "api-docs": "/api/v1/docs",
    }
    more = [
        "accounts:team_list",
        "customers:custom_field_list",
        "customers:reassign",
        "sales:lost_reason_list",
        "sales:seller_details",
        "sales:document_template_list",
        "sales:deal_create",
        "leads:webform_list",
        "leads:webform_create",
        "leads:partner_code_list",
        "leads:inbound_list",
        "leads:routing_rule_list",
        "leads:lead_board",
        "leads:lead_create",
        "planner:task_create",
        "planner:absence_list",
        "planner:feed_settings",
        "planner:team_digests",
    ]
    pages.update({name: reverse(name) for name in more})
    pages["pipeline"] = reverse("sales:pipeline_detail", args=[cards["pipeline"]])
    pages["user"] = reverse("accounts:user_edit", args=[org.manager.pk])
    for label, url in pages.items():
        response = page.goto(url)
        assert_headers(response, url)
        settle(page)
        if label in {"board", "calendar", "deal-card", "contact-card", "api-docs", "pipeline"}:
            page.shots(label)
        assert not csp_violations, f"{url}: {csp_violations}"

    # The stage colours, set through the CSSOM from data-stage-color, reach the board.
    page.goto(cards["board"])
    column = page.locator(".board-column[data-stage-color='#fd7e14']")
    colour = column.evaluate("e => getComputedStyle(e).getPropertyValue('--stage-color')")
    assert colour.strip() == "#fd7e14"
    # The API docs page draws the operations (its script ran under the policy).
    page.goto("/api/v1/docs")
    page.locator(".opblock").first.wait_for()

    # The HTMX widgets (search suggestions, the bell's menu) load without violations.
    page.goto("/customers/contacts/")
    page.fill("input[name=q]", "Клиент")
    page.locator("#search-suggestions a").first.wait_for()
    page.click("a[title='Уведомления'], a[title='Notifications']")
    page.locator("#notification-menu .dropdown-item").first.wait_for()
    settle(page)


def test_the_watch_sees_a_violation(page: ShotPage, csp_violations: CspViolations) -> None:
    """The fixture is no blind eye: a style attribute added to the page is reported."""
    page.goto("/accounts/login/")
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')")
    for _ in range(50):
        if csp_violations:
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(300)  # the browser's own message follows the event
    assert any("style-src" in violation for violation in csp_violations)
    csp_violations.clear()


def test_confirm_and_auto_submit_work_without_inline_handlers(
    page: ShotPage, org: Org, password: str
) -> None:
    sign_in(page, "admin", password)

    # data-confirm on a form: dismissing keeps the user, accepting deactivates.
    page.goto(f"/accounts/users/{org.colleague.pk}/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("form[data-confirm] button[type=submit]")
    page.wait_for_timeout(300)
    assert User.objects.get(pk=org.colleague.pk).is_active
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("form[data-confirm] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert not User.objects.get(pk=org.colleague.pk).is_active

    # data-select-on-focus selects the feed address for copying.
    page.goto("/tasks/calendar/feed/")
    field = page.locator("[data-select-on-focus]")
    if field.count():
        field.focus()
        selected = field.evaluate("e => e.selectionEnd - e.selectionStart")
        assert selected == len(field.input_value())


def test_calendar_scope_submits_on_change(page: ShotPage, org: Org, password: str) -> None:
    sign_in(page, "head", password)
    page.goto("/tasks/calendar/")
    page.locator("select[name=scope][data-autosubmit]").select_option("team")
    page.wait_for_url(re.compile(r"scope=team"))


def test_expired_session_sends_an_htmx_request_to_sign_in(
    page: ShotPage, org: Org, password: str
) -> None:
    sign_in(page, "manager", password)
    page.goto("/customers/contacts/")
    # The bell asks for its count on load: let that request finish first, or it (not the
    # search below) is the one that meets the expired session.
    page.wait_for_load_state("networkidle")
    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    session = SessionStore(session_key=cookie["value"])
    session[SEEN_AT] = session[SEEN_AT] - 10 * 24 * 3600
    session.save()

    page.locator(".global-search input[name=q]").fill("Анна")  # an HTMX request

    page.wait_for_url(re.compile(r"/accounts/login/\?next=/customers/contacts/"))
    expect(page.locator(".alert")).to_contain_text(re.compile("Сеанс|session", re.IGNORECASE))
    page.shots("signed-out")


def test_hosted_web_form_passes_its_policy(page: ShotPage, org: Org) -> None:
    """The public form page (its own <style> with the nonce) and its answer page."""
    make_records(org)
    form = WebForm.objects.create(
        key="e2e-csp",
        name="Заявка на кухню",
        fields=[
            {"name": "name", "label": "Имя", "type": "text", "required": True},
            {"name": "phone", "label": "Телефон", "type": "tel", "required": True},
        ],
        min_fill_seconds=0,
    )

    response = page.goto(f"/f/{form.key}")

    assert_headers(response, f"/f/{form.key}")
    width = page.locator("body").evaluate("e => getComputedStyle(e).maxWidth")
    assert width == "512px"  # 32rem: the nonce'd <style> applied
    page.fill("input[name=name]", "Анна")
    page.fill("input[name=phone]", "+7 912 345-67-89")
    page.click("button[type=submit]")
    page.locator("[role=status]").wait_for()
    settle(page)
    page.shots("web-form-answer")
