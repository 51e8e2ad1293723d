"""Hostile input on the API's JSON parser and on the payment webhook: JSON nested far too
deep and NUL in a value answer 4xx naming what is wrong, never 500.

PostgreSQL is where NUL fails (text and jsonb refuse ``\\u0000``): run these on both.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.test import Client
from django.urls import reverse

from crm.activities.models import TimelineEntry
from crm.customers.models import Contact
from crm.customers.tests.factories import make_contact
from crm.sales.models import Payment
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db

DEEP = b"[" * 30_000 + b"]" * 30_000
DEEP_IN_A_FIELD = b'{"last_name": ' + DEEP + b"}"


@pytest.mark.parametrize("body", [DEEP, DEEP_IN_A_FIELD], ids=["deep-array", "deep-in-a-field"])
def test_api_json_nested_too_deep_answers_400_naming_the_body(org, api_as, body):
    response = api_as(org.manager).post("/contacts", body)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["body"]
    assert not Contact.objects.exists()


def test_api_nul_in_a_body_field_answers_422_naming_it(org, api_as):
    response = api_as(org.manager).post(
        "/contacts", {"last_name": "Пет\u0000ров", "phones": [{"value": "+79123456789"}]}
    )

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["last_name"]
    assert not Contact.objects.exists()


def test_api_nul_in_a_nested_body_field_answers_422_naming_it(org, api_as):
    response = api_as(org.manager).post(
        "/contacts", {"last_name": "Петров", "phones": [{"value": "+7912\u00003456789"}]}
    )

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["phones[0].value"]


def test_api_nul_in_a_query_parameter_answers_422_naming_it(org, api_as):
    make_contact(org.manager, last_name="Петров")

    response = api_as(org.manager).get("/contacts", q="Пет\x00")

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["q"]


def test_api_nul_in_a_patch_answers_422_and_changes_nothing(org, api_as):
    contact = make_contact(org.manager, last_name="Петров")

    response = api_as(org.manager).patch(f"/contacts/{contact.pk}", {"middle_name": "\u0000"})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["middle_name"]
    contact.refresh_from_db()
    assert contact.middle_name == ""


def test_api_nul_in_a_timeline_entry_answers_422(org, api_as):
    contact = make_contact(org.manager, last_name="Петров")

    response = api_as(org.manager).post(
        f"/contacts/{contact.pk}/timeline", {"kind": "note", "body": "a\u0000b"}
    )

    assert response.status_code == 422
    assert "body" in response.json()["errors"]
    assert not TimelineEntry.objects.filter(kind="note").exists()


# --- the payment webhook ----------------------------------------------------------------------

SECRET = "whsec-test-0123456789"


def webhook(body: bytes):
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return Client().post(
        reverse("sales:payment_webhook"),
        body,
        content_type="application/json",
        headers={"X-CRM-Signature": signature},
    )


@pytest.fixture
def secret(settings):
    settings.CRM_PAYMENT_WEBHOOK_SECRET = SECRET


def test_payment_webhook_json_nested_too_deep_answers_400(secret):
    response = webhook(DEEP)

    assert response.status_code == 400
    assert not Payment.objects.exists()


def test_payment_webhook_nul_in_values_records_the_payment_without_it(secret, org):
    deal = make_deal(org.manager)
    body = {
        "provider": "cloud\u0000pay",
        "payment_id": "pay-\u00001",
        "deal_id": deal.pk,
        "amount": "2500.00",
        "currency": "RUB",
        "status": "succeeded",
        "paid_at": "2025-04-01T10:00:00+03:00",
        "method": "card\u0000",
        "note": "\u0000",
    }

    response = webhook(json.dumps(body).encode())

    assert response.status_code == 200, response.content
    payment = Payment.objects.get()
    assert (payment.provider, payment.external_id) == ("cloudpay", "pay-1")


def test_payment_webhook_nul_in_the_deal_id_answers_422_naming_it(secret, org):
    make_deal(org.manager)
    body = {
        "provider": "cloudpay",
        "payment_id": "pay-1",
        "deal_id": "1\u0000",
        "amount": "2500.00",
        "currency": "RUB",
        "status": "succeeded",
    }

    response = webhook(json.dumps(body).encode())

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["deal_id"]
