"""The REST API of correspondence: templates CRUD, preview, sending (202) and the state of a
sent e-mail, with the pages' permissions; hostile input answers 4xx naming the field."""

from __future__ import annotations

import pytest
from django.core import mail

from crm.api.tests.conftest import ApiClient, token_for
from crm.core.tests.baselines import one_then_fifty
from crm.correspondence.models import EmailTemplate, OutgoingEmail
from crm.correspondence.tests.builders import template

pytestmark = pytest.mark.django_db

EMAIL = {
    "record_kind": "deal",
    "to": ["anna@client.ru"],
    "subject": "Сделка «{{ deal.title }}»",
    "body": "Здравствуйте, {{ client.first_name }}!",
}


def api(user) -> ApiClient:
    return ApiClient(token_for(user) if user is not None else None)


def test_send_answers_202_and_the_state_follows(org, deal, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(org.manager).post("/emails", {**EMAIL, "record_id": deal.pk})
    assert response.status_code == 202, response.content
    body = response.json()
    email = OutgoingEmail.objects.get()
    assert body["id"] == email.pk and body["message_id"] == email.message_id
    assert body["subject"] == "Сделка «Вентиляция склада»" and body["status"] == "queued"
    state = api(org.manager).get(f"/emails/{email.pk}").json()
    assert state["status"] == "sent" and state["attempts"] == 1 and len(mail.outbox) == 1
    # Whoever sees the deal sees the e-mail; others get 404.
    assert api(org.head).get(f"/emails/{email.pk}").status_code == 200
    assert api(org.viewer).get(f"/emails/{email.pk}").status_code == 200
    assert api(org.outsider).get(f"/emails/{email.pk}").status_code == 404
    assert api(None).get(f"/emails/{email.pk}").status_code == 401


@pytest.mark.parametrize(
    "who, status",
    [
        (None, 401),
        ("viewer", 403),
        ("outsider", 404),
        ("colleague", 404),
        ("manager", 202),
        ("head", 202),
        ("admin", 202),
    ],
)
def test_who_may_send_from_a_deal(org, deal, who, status, django_capture_on_commit_callbacks):
    user = getattr(org, who) if who else None
    with django_capture_on_commit_callbacks(execute=True):
        response = api(user).post("/emails", {**EMAIL, "record_id": deal.pk})
    assert response.status_code == status, response.content
    assert OutgoingEmail.objects.count() == (1 if status == 202 else 0)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"subject": "Тема\r\nBcc: spy@evil.ru"}, "subject"),
        ({"to": ["anna@client.ru\r\nBcc: spy@evil.ru"]}, "to"),
        ({"cc": ["a@b.ru\nX: y"]}, "cc"),
        ({"bcc": ["x@y.ru\r"]}, "bcc"),
        ({"to": []}, "to"),
        ({"to": "anna@client.ru"}, "to"),
        ({"subject": "x" * 2000}, "subject"),
        ({"body": "{% if %}"}, "body"),
        ({"body": "{{ client.nickname }}"}, "body"),
        ({"sender": "own"}, "sender"),
        ({"record_kind": "task"}, None),
        ({"record_id": 2**70}, "record_id"),
        ({"attachment_ids": [-1]}, "attachment_ids[0]"),
        ({"unknown": 1}, "unknown"),
        ({"subject": "a\x00b"}, "subject"),
    ],
)
def test_hostile_input_answers_4xx_naming_the_field(org, deal, change, field):
    response = api(org.manager).post("/emails", {**EMAIL, "record_id": deal.pk, **change})
    assert 400 <= response.status_code < 500, response.content
    if field is not None:
        assert field in response.json()["errors"], response.json()
    else:
        assert response.status_code == 404
    assert not OutgoingEmail.objects.exists() and not mail.outbox


def test_preview_lists_the_placeholders_the_record_cannot_fill(org, deal):
    chosen = template(body="{{ client.first_name }}, {{ deal.invoice_number }} {{ deal.nope }}")
    response = api(org.manager).post(
        "/emails/preview", {"record_kind": "deal", "record_id": deal.pk, "template_id": chosen.pk}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["body"].startswith("Анна, ")
    assert body["missing"] == ["deal.invoice_number", "deal.nope"]
    broken = api(org.manager).post(
        "/emails/preview",
        {"record_kind": "deal", "record_id": deal.pk, "subject": "S", "body": "a\n{% if x %}"},
    )
    assert broken.status_code == 422 and "2" in broken.json()["errors"]["body"][0]
    hidden = api(org.outsider).post(
        "/emails/preview", {"record_kind": "deal", "record_id": deal.pk, "template_id": chosen.pk}
    )
    assert hidden.status_code == 404


def test_templates_crud_with_the_pages_permissions(org):
    data = {"name": "Общий", "language": "ru", "subject": "Тема", "body": "Текст"}
    assert api(org.manager).post("/email-templates", {**data, "shared": True}).status_code == 403
    shared = api(org.admin).post("/email-templates", {**data, "shared": True})
    assert shared.status_code == 201 and shared.json()["shared"] is True
    own = api(org.manager).post("/email-templates", {**data, "name": "Моё"}).json()
    assert own["shared"] is False
    names = [item["name"] for item in api(org.manager).get("/email-templates").json()]
    assert names == ["Общий", "Моё"]
    assert [t["name"] for t in api(org.colleague).get("/email-templates").json()] == ["Общий"]
    assert api(org.colleague).get(f"/email-templates/{own['id']}").status_code == 404
    assert (
        api(org.colleague).patch(f"/email-templates/{own['id']}", {"name": "x"}).status_code == 404
    )
    shared_id = shared.json()["id"]
    assert api(org.manager).patch(f"/email-templates/{shared_id}", {"name": "x"}).status_code == 403
    bad = api(org.manager).patch(f"/email-templates/{own['id']}", {"body": "a\nb\n{{ x|date }}"})
    assert bad.status_code == 422 and bad.json()["errors"]["body"][0].startswith(
        ("Line 3", "Строка 3")
    )
    renamed = api(org.manager).patch(f"/email-templates/{own['id']}", {"name": "Моё 2"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Моё 2"
    client = api(org.manager).client
    headers = {"Authorization": f"Bearer {token_for(org.manager)}"}
    assert client.delete(f"/api/v1/email-templates/{own['id']}", headers=headers).status_code == 204
    assert list(EmailTemplate.objects.values_list("name", flat=True)) == ["Общий"]


def test_the_template_list_costs_the_same_for_one_and_fifty(org, django_assert_num_queries):
    client = api(org.manager)
    one_then_fifty(
        lambda index: template(
            name=f"Шаблон {index:02d}", owner=org.manager if index % 2 else None
        ),
        2,  # the token, the templates
        lambda: client.get("/email-templates"),
        django_assert_num_queries,
    )
