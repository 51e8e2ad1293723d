"""The public web form endpoint: CORS, bots, size, rate limit, field whitelist, and the
lead that lands."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.test import Client

from conftest import run_together
from crm.core.errors import ValidationFailed
from crm.leads.models import Inbound, Lead
from crm.leads.services.webforms import rate_limited, snippet, started_token, webform_save

pytestmark = pytest.mark.django_db

FIELDS = [
    {"name": "name", "label": "Имя", "type": "text", "required": True},
    {"name": "phone", "label": "Телефон", "type": "tel", "required": True},
    {"name": "message", "label": "Сообщение", "type": "textarea"},
    {"name": "budget", "label": "Бюджет", "type": "select", "options": ["до 100 000", "больше"]},
]


@pytest.fixture
def form(org):
    return webform_save(
        actor=org.admin,
        name="Заявка с сайта",
        fields=FIELDS,
        allowed_origins=["https://shop.example.ru"],
        thank_you_text="Спасибо!",
        min_fill_seconds=3,
    )


def post(
    form,
    data,
    *,
    origin="https://shop.example.ru",
    accept="application/json",
    address="203.0.113.5",
    **extra,
):
    data.setdefault("_ts", str(int((time.time() - 10) * 1000)))
    client = Client(enforce_csrf_checks=True)
    headers = {"HTTP_ORIGIN": origin, "HTTP_ACCEPT": accept, "REMOTE_ADDR": address, **extra}
    if not origin:
        headers.pop("HTTP_ORIGIN")
    return client.post(f"/f/{form.key}", data, **headers)


def test_a_submission_from_an_allowed_site_becomes_a_lead(form, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            form,
            {
                "name": "Анна",
                "phone": "+7 912 345-67-89",
                "message": "<b>кухня</b>",
                "budget": "больше",
                "utm_source": "yandex",
                "role": "admin",
            },
        )
    assert response.status_code == 200 and response.json()["ok"] is True
    assert response["Access-Control-Allow-Origin"] == "https://shop.example.ru"
    lead = Lead.objects.get()
    assert (
        lead.phone == "+79123456789"
        and lead.message == "<b>кухня</b>"
        and lead.data == {"budget": "больше"}
    )
    assert lead.utm == {"source": "yandex"} and lead.form == form and lead.channel == "web_form"
    assert "role" not in Inbound.objects.get().payload  # fields the form does not list are ignored


def test_cors_preflight_and_foreign_origins(form):
    client = Client()
    ok = client.options(f"/f/{form.key}", HTTP_ORIGIN="https://shop.example.ru")
    assert ok.status_code == 204 and ok["Access-Control-Allow-Origin"] == "https://shop.example.ru"
    assert client.options(f"/f/{form.key}", HTTP_ORIGIN="https://evil.example").status_code == 403
    refused = post(form, {"name": "x", "phone": "+79123456789"}, origin="https://evil.example")
    assert refused.status_code == 403 and not Inbound.objects.exists()


def test_required_and_bad_fields_are_named_and_nothing_is_stored(form):
    response = post(form, {"name": "", "phone": "12", "budget": "миллион"})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"name", "phone", "budget"}
    assert not Inbound.objects.exists()


def test_bots_get_a_success_and_make_no_lead(form):
    honeypot = post(form, {"name": "Bot", "phone": "+79123456789", "_hp": "http://spam"})
    fast = post(form, {"name": "Bot", "phone": "+79123456789", "_ts": str(int(time.time() * 1000))})
    assert honeypot.status_code == 200 and fast.status_code == 200
    assert not Lead.objects.exists()
    assert list(Inbound.objects.values_list("status", flat=True)) == ["rejected", "rejected"]


def test_without_javascript_the_hosted_page_works_and_says_thanks(
    form, django_capture_on_commit_callbacks
):
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/f/{form.key}")
    assert page.status_code == 200 and "Телефон" in page.content.decode()
    token = started_token()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/f/{form.key}",
            {"name": "Пётр", "phone": "89123456780", "_ts": token},
            HTTP_ACCEPT="text/html",
        )
    # Signed just now: too fast for a person.
    assert response.status_code == 200 and not Lead.objects.exists()


def test_oversized_and_malformed_bodies(form):
    big = post(form, {"name": "x" * 70000, "phone": "+79123456789"})
    assert big.status_code == 413
    client = Client()
    bad_json = client.post(
        f"/f/{form.key}",
        b"{not json",
        content_type="application/json",
        HTTP_ORIGIN="https://shop.example.ru",
    )
    assert bad_json.status_code == 400
    assert not Inbound.objects.exists()


def test_rate_limit_per_address(form, settings):
    settings.LEADS_FORM_RATE_LIMIT = 3
    codes = [post(form, {"name": "А", "phone": f"+7912345670{i}"}).status_code for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert (
        post(form, {"name": "Б", "phone": "+79123456711"}, address="203.0.113.9").status_code == 200
    )


def test_unknown_or_inactive_form_is_404(form):
    form.is_active = False
    form.save()
    assert post(form, {"name": "А", "phone": "+79123456789"}).status_code == 404
    assert Client().post("/f/nope", {}).status_code == 404


def test_form_definition_rules(org):
    with pytest.raises(ValidationFailed) as error:
        webform_save(
            actor=org.admin, name="", fields=[{"name": "Имя"}], allowed_origins=["shop.ru"]
        )
    assert {"name", "fields[0].name", "allowed_origins"} <= set(error.value.field_errors)
    with pytest.raises(ValidationFailed) as error:
        webform_save(actor=org.admin, name="Без телефона", fields=[{"name": "name"}])
    assert "fields" in error.value.field_errors


def test_snippet_posts_to_the_form_and_escapes_labels(org):
    form = webform_save(
        actor=org.admin,
        name="X",
        fields=[{"name": "phone", "label": "<script>", "type": "tel", "required": True}],
    )
    html = snippet(form, base_url="https://crm.example.ru/")
    assert f'action="https://crm.example.ru/f/{form.key}"' in html
    assert "&lt;script&gt;" in html and 'name="_hp"' in html


def test_rate_limit_is_per_visitor_behind_the_proxy(form, settings):
    # given: nginx on 127.0.0.1 forwards every visitor; one of them has used up the limit
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    settings.LEADS_FORM_RATE_LIMIT = 2
    proxy = {"address": "127.0.0.1"}
    busy = [
        post(form, {"name": "А", "phone": f"+7912345670{i}"}, **proxy, HTTP_X_FORWARDED_FOR=ip)
        for i, ip in enumerate(["203.0.113.5"] * 3)
    ]
    # when
    other = post(
        form, {"name": "Б", "phone": "+79123456711"}, **proxy, HTTP_X_FORWARDED_FOR="198.51.100.7"
    )
    # then
    assert [response.status_code for response in busy] == [200, 200, 429]
    assert other.status_code == 200
    assert Inbound.objects.filter(meta__ip="198.51.100.7").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite" and not connection.settings_dict["TEST"].get("NAME"),
    reason="concurrent writers need PostgreSQL or SQLite on a file (CRM_TEST_SQLITE_NAME)",
)
def test_rate_limit_holds_under_parallel_submissions(settings):
    # given: a limit of 5 and 20 submissions from one visitor arriving at the same moment
    settings.LEADS_FORM_RATE_LIMIT = 5
    verdicts: list[bool] = []
    lock = threading.Lock()

    def submit() -> None:
        limited = rate_limited("203.0.113.5")
        with lock:
            verdicts.append(limited)

    # when
    run_together(submit, [() for _ in range(20)])
    # then: exactly the limit passed, whichever threads they were
    assert verdicts.count(False) == 5
    assert verdicts.count(True) == 15
