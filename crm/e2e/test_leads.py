"""Leads in a real browser.

1. The administrator builds a web form in the editor (adds a choice field, removes one),
   routes its leads to a manager with a rule made in the rule editor, checks it with the
   tester; the form's snippet is pasted into a static page served by a separate HTTP
   server (another origin); a visitor fills it in and sends it (the snippet's script posts
   it cross-origin with CORS) and sees the thank-you text; the manager sees the bell's
   counter, the lead in the list and its card.
2. The lead settings pages on a phone: reorder, the tester, the editor's rows, partner
   codes, and processing a failed request again.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from crm.accounts.models import Team
from crm.e2e.conftest import sign_in, with_shots
from crm.leads.models import Inbound, Lead, PartnerCode, RoutingRule, WebForm
from crm.leads.services.webforms import snippet, webform_save
from crm.sales.models import Pipeline, Stage

if TYPE_CHECKING:
    from playwright.sync_api import Browser
    from pytest_django.live_server_helper import LiveServer

    from crm.e2e.conftest import CspViolations, Org, ShotPage

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

THANKS = "Спасибо, мы перезвоним за 15 минут!"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def static_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain HTTP server on 127.0.0.1 serving ``tmp_path``: the company's site, on an
    origin other than the CRM's."""
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


def shot(page: ShotPage, label: str) -> None:
    """A full-page screenshot from the top (the sticky navbar would cover a scrolled one)."""
    page.evaluate("window.scrollTo(0, 0)")
    page.shots(label)


def make_pipeline(name: str) -> Pipeline:
    """A pipeline of its own: browser tests flush the tables, default pipelines included."""
    pipeline = Pipeline.objects.create(name=name)
    for position, (stage, kind) in enumerate(
        [("Новая", "open"), ("Продано", "won"), ("Отказ", "lost")]
    ):
        Stage.objects.create(pipeline=pipeline, name=stage, kind=kind, position=position)
    return pipeline


def default_rule(pipeline: Pipeline) -> RoutingRule:
    RoutingRule.objects.all().delete()
    return RoutingRule.objects.create(
        name="Все остальные",
        position=99,
        is_default=True,
        pipeline=pipeline,
        strategy="client_manager",
    )


def test_snippet_on_a_static_site_becomes_the_managers_lead(
    page: ShotPage,
    browser: Browser,
    live_server: LiveServer,
    org: Org,
    password: str,
    static_site: tuple[str, Path],
    csp_violations: CspViolations,
) -> None:
    origin, site_root = static_site
    retail = make_pipeline("Розница E2E")
    default_rule(retail)
    sign_in(page, "admin", password)

    # The administrator builds the form: the editor starts with name, phone, e-mail,
    # message; they drop the e-mail row, add a choice and move it above the message.
    page.goto("/leads/settings/forms/new/")
    page.fill("input[name=name]", "Заявка на кухню")
    rows = page.locator("[data-field-row]")
    assert rows.count() == 4
    rows.nth(2).locator("[data-field-remove]").click()
    page.click("[data-field-add]")
    new_row = rows.nth(3)
    assert new_row.locator("[data-field-options]").is_hidden()
    new_row.locator("input[name=field_name]").fill("budget")
    new_row.locator("input[name=field_label]").fill("Бюджет")
    new_row.locator("select[name=field_type]").select_option("select")
    new_row.locator("textarea[name=field_options]").fill("до 200 000\nбольше 200 000")
    new_row.locator("input[name=field_required]").check()
    new_row.locator("[data-field-move=up]").click()
    page.fill("textarea[name=allowed_origins]", origin)
    page.fill("textarea[name=thank_you_text]", THANKS)
    page.fill("input[name=min_fill_seconds]", "1")
    shot(page, "form-editor")
    page.click("#webform-editor button[type=submit]")
    page.wait_for_url(re.compile(r"/leads/settings/forms/\d+/$"))
    form = WebForm.objects.get()
    assert [field["name"] for field in form.fields] == ["name", "phone", "budget", "message"]
    assert [field["required"] for field in form.fields] == [True, True, True, False]
    assert form.allowed_origins == [origin] and form.min_fill_seconds == 1
    code = page.locator("#snippet-code").inner_text()
    assert code.startswith('<form class="crm-form"') and f"/f/{form.key}" in code
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("[data-copy]")
    page.locator("[data-copied]").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == code
    shot(page, "form-snippet")

    # A rule for this form's leads: to the manager, made in the rule editor.
    page.goto("/leads/settings/rules/new/")
    page.fill("input[name=name]", "Кухни с сайта")
    page.check("input[name=channels][value=web_form]")
    page.check(f"input[name=web_forms][value='{form.pk}']")
    page.select_option("select[name=pipeline]", str(retail.pk))
    page.select_option("select[name=team]", str(Team.objects.get(name="Москва").pk))
    page.select_option("select[name=strategy]", "fixed_user")
    page.select_option("select[name=fixed_user]", str(org.manager.pk))
    page.fill("input[name=response_minutes]", "30")
    shot(page, "rule-editor")
    page.click("#rule-form button[type=submit]")
    page.wait_for_url(re.compile(r"/leads/settings/rules/"))
    rule = RoutingRule.objects.get(name="Кухни с сайта")
    assert rule.fixed_user == org.manager and rule.conditions["forms"] == [form.pk]
    page.locator(f"#rule-{rule.pk}").wait_for()

    # The tester says this form's lead goes to the manager.
    page.select_option("#test_client_type", "private")
    page.select_option("#test_channel", "web_form")
    page.select_option("#test_form", str(form.pk))
    page.click("#rule-tester button[type=submit]")
    result = page.locator("#rule-test-result [data-rule-test-result]")
    result.wait_for()
    assert "Кухни с сайта" in result.inner_text()
    assert str(org.manager) in result.locator("[data-assignee]").inner_text()
    shot(page, "rules-with-tester")

    # The company's site: a static page with the snippet, on another origin.
    (site_root / "index.html").write_text(
        "<!doctype html><html lang='ru'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Кухни на заказ</title></head><body><h1>Кухни на заказ</h1>"
        + snippet(form, base_url=live_server.url)
        + "</body></html>",
        encoding="utf-8",
    )
    visitor = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    site = with_shots(visitor.new_page(), "test_snippet_site")
    cross_origin = []
    site.on(
        "response",
        lambda response: (
            cross_origin.append(response) if f"/f/{form.key}" in response.url else None
        ),
    )
    site.goto(f"{origin}/index.html?utm_source=e2e&utm_campaign=kitchens")
    site.fill("form.crm-form input[name=name]", "Анна <Петрова>")
    site.fill("form.crm-form input[name=phone]", "+7 912 345-67-89")
    site.select_option("form.crm-form select[name=budget]", "больше 200 000")
    site.wait_for_timeout(1300)  # the form's minimum fill time is 1 s
    shot(site, "site-filled")
    site.click("form.crm-form button[type=submit]")
    site.locator("form.crm-form", has_text=THANKS).wait_for()
    shot(site, "site-thanks")
    assert site.url.startswith(origin)  # sent by the script, not by navigating away
    posted = [response for response in cross_origin if response.request.method == "POST"]
    assert posted and posted[0].status == 200
    assert posted[0].headers.get("access-control-allow-origin") == origin
    visitor.close()

    lead = Lead.objects.get()
    assert lead.owner == org.manager and lead.pipeline == retail and lead.rule == rule
    assert lead.name == "Анна <Петрова>" and lead.phone == "+79123456789"
    assert lead.data == {"budget": "больше 200 000"}
    assert lead.utm == {"source": "e2e", "campaign": "kitchens"}
    assert lead.page_url.startswith(origin)
    inbound = Inbound.objects.get()
    assert inbound.status == "processed" and inbound.lead == lead

    # The administrator's log shows the request and its lead; the form list counts it.
    page.goto("/leads/inbound/")
    page.locator(f"#inbound-{inbound.pk} a[href='/leads/{lead.pk}/']").wait_for()
    shot(page, "inbound-log")
    page.goto("/leads/settings/forms/")
    assert page.locator("table tbody tr td").nth(2).inner_text().strip().endswith("1")
    shot(page, "forms-list")

    # The manager sees it: the bell, the list, the card.
    manager = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="ru-RU", base_url=live_server.url
    )
    csp_violations.watch(manager)  # the CRM's pages (the company's site has its own policy)
    manager_page = with_shots(manager.new_page(), "test_snippet_manager")
    sign_in(manager_page, "manager", password)
    manager_page.goto("/leads/")
    manager_page.locator("#notification-badge .badge", has_text="1").wait_for()
    link = manager_page.get_by_role("link", name=re.compile("Анна <Петрова>"))
    link.wait_for()
    shot(manager_page, "manager-lead-list")
    link.click()
    manager_page.wait_for_url(f"**/leads/{lead.pk}/")
    card = manager_page.locator("main")
    card.get_by_text("больше 200 000").wait_for()
    assert "+79123456789" in card.inner_text() and "Розница E2E" in card.inner_text()
    shot(manager_page, "manager-lead-card")
    manager.close()


def test_lead_settings_on_a_phone(phone_page: ShotPage, org: Org, password: str) -> None:
    page = phone_page
    retail, wholesale = make_pipeline("Розница"), make_pipeline("Опт")
    default_rule(retail)
    team = Team.objects.get(name="Москва")
    first = RoutingRule.objects.create(
        name="Частные клиенты — в розницу",
        position=0,
        conditions={"client_types": ["private"], "utm_source": ["yandex", "google"]},
        pipeline=retail,
        team=team,
        strategy="round_robin",
        response_minutes=30,
    )
    second = RoutingRule.objects.create(
        name="Компании и госзаказчики — в опт",
        position=1,
        conditions={"client_types": ["business", "government"], "fields": {"budget": "больше"}},
        pipeline=wholesale,
        team=team,
        strategy="least_loaded",
        response_minutes=120,
        reassign_on_escalation=True,
    )
    form = webform_save(
        actor=org.admin,
        name="Обратный звонок",
        fields=[
            {"name": "name", "label": "Имя", "required": True},
            {"name": "phone", "label": "Телефон", "type": "tel", "required": True},
            {"name": "topic", "label": "Тема", "type": "select", "options": ["Кухня", "Шкаф"]},
        ],
        allowed_origins=["https://kuhni.example.ru"],
    )
    PartnerCode.objects.create(code="ivanov", name="Агентство Иванова")
    failed = Inbound.objects.create(
        channel="api",
        payload={"name": "Борис", "phone": "+79120000055"},
        status="failed",
        attempts=5,
        error="OperationalError: database is locked",
    )
    sign_in(page, "admin", password)

    page.goto("/leads/settings/rules/")
    page.locator(f"#rule-{second.pk}").wait_for()
    shot(page, "rules")
    page.locator(f"#rule-{second.pk} button[value=up]").click()
    page.wait_for_load_state()
    names = page.locator("#rule-order [data-sortable] > li [data-rule-name]").all_inner_texts()
    assert names[:2] == [second.name, first.name]
    page.locator("#rule-tester").scroll_into_view_if_needed()
    page.select_option("#test_client_type", "business")
    page.click("#rule-tester button[type=submit]")
    page.locator("#rule-test-result [data-rule-test-result]").wait_for()
    assert "Все остальные" in page.locator("#rule-test-result").inner_text()
    shot(page, "tester")

    page.goto(f"/leads/settings/rules/{first.pk}/")
    shot(page, "rule-editor")

    page.goto("/leads/settings/forms/")
    shot(page, "forms")
    page.goto(f"/leads/settings/forms/{form.pk}/")
    options = page.locator("[data-field-row]").nth(2).locator("[data-field-options]")
    assert options.is_visible()
    assert page.locator("[data-field-row]").nth(0).locator("[data-field-options]").is_hidden()
    shot(page, "form-editor")
    page.locator("[data-field-row]").nth(2).locator("input[name=field_name]").fill("phone")
    page.click("#webform-editor button[type=submit]")
    page.locator("[data-field-row] [data-row-error=name]").wait_for()
    shot(page, "form-editor-refused")
    form.refresh_from_db()
    assert [field["name"] for field in form.fields] == ["name", "phone", "topic"]

    page.goto("/leads/settings/partners/")
    shot(page, "partners")

    page.goto("/leads/inbound/")
    shot(page, "inbound")
    page.locator(f"#inbound-{failed.pk} button[type=submit]").click()
    page.wait_for_load_state()
    page.locator(f"#inbound-{failed.pk} .badge.text-bg-success").wait_for()
    shot(page, "inbound-processed")
    failed.refresh_from_db()
    assert failed.status == "processed" and failed.lead is not None


def test_an_unchecked_phone_on_the_lead_list_and_card_on_a_phone(
    phone_page: ShotPage, org: Org, password: str
) -> None:
    """A foreign number the checker refuses is kept; the manager sees it marked unchecked."""
    from crm.leads.services import intake

    page = phone_page
    rule = default_rule(make_pipeline("Розница"))
    rule.strategy, rule.fixed_user = "fixed_user", org.manager
    rule.save()
    org.manager.language = "ru"
    org.manager.save(update_fields=["language"])
    inbound, _created = intake.inbound_store(
        channel="web_form", payload={"name": "Jane Doe", "phone": "+1 (555) 010-0 ext 7"}
    )
    lead = intake.inbound_process(inbound.pk)
    assert lead is not None and lead.owner == org.manager
    sign_in(page, "manager", password)
    page.goto("/leads/")
    row = page.locator("tr", has_text="Jane Doe")
    assert row.locator(".badge", has_text="не проверен").is_visible()
    page.shots("list")
    page.goto(f"/leads/{lead.pk}/")
    badge = page.get_by_test_id("phone-unchecked")
    assert badge.is_visible() and badge.inner_text() == "не проверен"
    assert page.get_by_text("+1 (555) 010-0 ext 7").first.is_visible()
    page.shots("card")
