"""``Idempotency-Key`` on the API's POSTs: a retry answers the first answer without doing
the work again, another request with the key answers 409, a malformed key 400; the answer
is stored in the same transaction as the work; two requests at once with one key do the
work once."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from conftest import run_together
from crm.api.idempotency import idempotency_prune
from crm.api.models import IdempotentRequest
from crm.api.tests.conftest import token_for
from crm.customers import services as customer_services
from crm.customers.models import Contact

pytestmark = pytest.mark.django_db

CONTACT = {"last_name": "Петров", "first_name": "Иван", "phones": [{"value": "+79123456789"}]}


def post(token: str, body, *, key: str | None, path: str = "/api/v1/contacts", client=None):
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return (client or Client()).post(
        path, json.dumps(body), content_type="application/json", headers=headers
    )


def test_a_retry_with_the_same_key_answers_the_first_answer_and_creates_once(org):
    token = token_for(org.manager)

    first = post(token, CONTACT, key="create-petrov-1")
    again = post(token, CONTACT, key="create-petrov-1")

    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Contact.objects.count() == 1


def test_without_the_header_each_post_is_its_own(org):
    token = token_for(org.manager)
    body = {**CONTACT, "allow_duplicate": True}

    post(token, body, key=None)
    post(token, body, key=None)

    assert Contact.objects.count() == 2


def test_the_same_key_with_another_body_answers_409_naming_the_header(org):
    token = token_for(org.manager)
    post(token, CONTACT, key="k-1")

    response = post(token, {**CONTACT, "first_name": "Пётр"}, key="k-1")

    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["Idempotency-Key"]
    assert Contact.objects.count() == 1


def test_the_same_key_on_another_path_answers_409(org, api_as):
    token = token_for(org.manager)
    contact = Contact.objects.get(pk=post(token, CONTACT, key="k-2").json()["id"])

    response = post(
        token,
        {"kind": "note", "body": "x"},
        key="k-2",
        path=f"/api/v1/contacts/{contact.pk}/timeline",
    )

    assert response.status_code == 409


def test_keys_belong_to_their_user(org):
    manager, colleague = token_for(org.manager), token_for(org.colleague)

    first = post(manager, CONTACT, key="shared")
    second = post(colleague, {**CONTACT, "allow_duplicate": True}, key="shared")

    assert (first.status_code, second.status_code) == (201, 201)
    assert Contact.objects.count() == 2


@pytest.mark.parametrize("key", ["", " ", " padded", "x" * 256, "ключ", "tab\there"], ids=repr)
def test_a_malformed_key_answers_400_naming_the_header(org, key):
    response = post(token_for(org.manager), CONTACT, key=key)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["Idempotency-Key"]
    assert not Contact.objects.exists()


def test_the_longest_key_is_accepted(org):
    response = post(token_for(org.manager), CONTACT, key="k" * 255)

    assert response.status_code == 201


def test_an_anonymous_request_with_a_key_answers_401_and_stores_nothing(org):
    response = Client().post(
        "/api/v1/contacts",
        json.dumps(CONTACT),
        content_type="application/json",
        headers={"Idempotency-Key": "anon"},
    )

    assert response.status_code == 401
    assert not IdempotentRequest.objects.exists()


def test_a_refusal_is_stored_and_answered_again(org):
    token = token_for(org.manager)
    bad = {"last_name": "", "phones": []}

    first = post(token, bad, key="bad-1")
    again = post(token, bad, key="bad-1")

    assert first.status_code == again.status_code == 422
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"


def test_the_header_is_ignored_on_other_methods(org):
    token = token_for(org.manager)
    contact_id = post(token, CONTACT, key=None).json()["id"]
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "patch-1"}

    for name in ("Сергеевич", "Петрович"):
        response = Client().patch(
            f"/api/v1/contacts/{contact_id}",
            json.dumps({"middle_name": name}),
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 200

    assert Contact.objects.get().middle_name == "Петрович"
    assert not IdempotentRequest.objects.exists()


def test_a_signed_in_browser_is_keyed_by_its_user(org):
    client = Client()
    client.force_login(org.manager)

    for _ in range(2):
        response = client.post(
            "/api/v1/contacts",
            json.dumps(CONTACT),
            content_type="application/json",
            headers={"Idempotency-Key": "browser-1"},
        )
        assert response.status_code == 201

    assert Contact.objects.count() == 1


def test_a_server_error_keeps_neither_the_work_nor_the_key(org, monkeypatch):
    token = token_for(org.manager)
    real = customer_services.contact_create

    def create_then_fail(**kwargs):
        real(**kwargs)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(customer_services, "contact_create", create_then_fail)
    client = Client(raise_request_exception=False)

    response = post(token, CONTACT, key="boom", client=client)

    assert response.status_code == 500
    assert not Contact.objects.exists()
    assert not IdempotentRequest.objects.exists()
    monkeypatch.setattr(customer_services, "contact_create", real)
    assert post(token, CONTACT, key="boom").status_code == 201


def test_the_answer_is_stored_in_the_same_transaction_as_the_work(org, monkeypatch):
    """If storing the answer fails, the work is not committed either: a committed write
    always has its stored answer for the retry."""
    token = token_for(org.manager)
    real_save = IdempotentRequest.save

    def save_fails_when_answering(self, *args, **kwargs):
        if kwargs.get("update_fields"):
            raise RuntimeError("killed before the answer was stored")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(IdempotentRequest, "save", save_fails_when_answering)

    response = post(token, CONTACT, key="atomic", client=Client(raise_request_exception=False))

    assert response.status_code == 500
    assert not Contact.objects.exists()
    assert not IdempotentRequest.objects.exists()


def test_an_expired_key_does_the_work_again_and_is_pruned(org, settings):
    settings.CRM_API_IDEMPOTENCY_HOURS = 24
    token = token_for(org.manager)
    body = {**CONTACT, "allow_duplicate": True}
    post(token, body, key="old")
    IdempotentRequest.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))

    response = post(token, body, key="old")

    assert response.status_code == 201
    assert not response.has_header("Idempotent-Replayed")
    assert Contact.objects.count() == 2
    IdempotentRequest.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))
    assert idempotency_prune() == 1
    assert not IdempotentRequest.objects.exists()


def test_the_schema_documents_the_header_and_409_on_every_post(org, api_as):
    schema = api_as(org.manager).get("/openapi.json").json()

    posts = [ops["post"] for ops in schema["paths"].values() if "post" in ops]
    assert len(posts) > 20
    for operation in posts:
        names = [(p["in"], p["name"]) for p in operation.get("parameters", [])]
        assert ("header", "Idempotency-Key") in names, operation["operationId"]
        assert {"400", "409"} <= set(operation["responses"]), operation["operationId"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor == "sqlite" and not settings.DATABASES["default"]["TEST"].get("NAME"),
    reason="the in-memory SQLite test database fails a second writer at once instead of "
    "waiting as the product's WAL file does: set CRM_TEST_SQLITE_NAME to run it on SQLite",
)
def test_parallel_requests_with_one_key_do_the_work_once(org):
    token = token_for(org.manager)
    answers: list[tuple[int, bytes]] = []
    lock = threading.Lock()

    def send():
        response = post(token, CONTACT, key="parallel")
        with lock:
            answers.append((response.status_code, response.content))

    run_together(send, [()] * 8)

    assert Contact.objects.count() == 1
    assert len(answers) == 8
    assert {status for status, _body in answers} == {201}
    assert len({body for _status, body in answers}) == 1
    assert IdempotentRequest.objects.count() == 1


@pytest.mark.parametrize(
    "path, body, model",
    [
        ("/api/v1/deals", {"title": "Шкаф", "amount": "1500.50"}, "sales.Deal"),
        ("/api/v1/tasks", {"title": "Купить бумагу"}, "planner.Task"),
        ("/api/v1/companies", {"legal_name": "Ромашка", "inn": "7707083893"}, "customers.Company"),
    ],
)
def test_every_router_honours_the_key(org, path, body, model):
    from django.apps import apps

    token = token_for(org.manager)
    before = apps.get_model(model).objects.count()

    first = post(token, body, key=f"once-{path}", path=path)
    again = post(token, body, key=f"once-{path}", path=path)

    assert first.status_code == 201, first.json()
    assert (again.status_code, again.json()) == (201, first.json())
    assert apps.get_model(model).objects.count() == before + 1
