"""The payment webhook: signature and token, the generic and the YooKassa shapes,
idempotent retries, and every refusal answered with a 4xx (never a 500)."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from crm.activities.models import TimelineEntry
from crm.sales.models import Deal, Payment
from crm.sales.services.payments import payment_add
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db

SECRET = "whsec-test-0123456789"
URL = reverse("sales:payment_webhook")


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.CRM_PAYMENT_WEBHOOK_SECRET = SECRET


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(body, *, signature: str | None = "auto", query: str = "", client: Client | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {}
    if signature == "auto":
        headers["X-CRM-Signature"] = sign(raw)
    elif signature is not None:
        headers["X-CRM-Signature"] = signature
    client = client or Client(enforce_csrf_checks=True)
    return client.post(URL + query, raw, content_type="application/json", headers=headers)


def generic(deal: Deal, **fields):
    return {
        "provider": "cloudpay",
        "payment_id": "pay-1",
        "deal_id": deal.pk,
        "amount": "2500.00",
        "currency": "RUB",
        "status": "succeeded",
        "paid_at": "2025-04-01T10:00:00+03:00",
        "method": "card",
        **fields,
    }


def yookassa(
    deal_id,
    *,
    event="payment.succeeded",
    payment_id="22d6d597-000f-5000-9000-145f6df21d6f",
    value="2500.00",
    currency="RUB",
):
    return {
        "type": "notification",
        "event": event,
        "object": {
            "id": payment_id,
            "status": event.split(".")[-1],
            "amount": {"value": value, "currency": currency},
            "captured_at": "2025-04-01T07:00:00.139Z",
            "payment_method": {"type": "sbp", "id": "x"},
            "metadata": {"deal_id": str(deal_id)},
        },
    }


def test_records_a_signed_payment(org):
    deal = make_deal(org.manager, amount=Decimal("10000"))
    response = post(generic(deal))
    assert response.status_code == 200
    payment = Payment.objects.get()
    assert response.json() == {"payment_id": payment.pk, "status": "received", "changed": True}
    assert (payment.provider, payment.external_id) == ("cloudpay", "pay-1")
    assert payment.amount == Decimal("2500.00") and payment.status == "received"
    assert payment.paid_on.isoformat() == "2025-04-01" and payment.method == "card"
    assert payment.kind == "prepayment"  # the first money short of the amount
    entry = TimelineEntry.objects.get(subject_id=deal.pk, kind="field_change")
    assert entry.author is None and entry.data["provider"] == "cloudpay"
    assert json.loads(entry.data["payload"])["payment_id"] == "pay-1"


def test_a_retry_answers_the_same_payment_and_records_nothing_more(org):
    deal = make_deal(org.manager)
    first = post(generic(deal)).json()
    again = post(generic(deal))
    assert again.status_code == 200
    assert again.json() == {
        "payment_id": first["payment_id"],
        "status": "received",
        "changed": False,
    }
    assert Payment.objects.count() == 1
    assert TimelineEntry.objects.filter(subject_id=deal.pk).count() == 1


def test_a_cancellation_after_success_cancels_the_payment(org):
    deal = make_deal(org.manager)
    paid = post(generic(deal)).json()
    cancelled = post(generic(deal, status="canceled")).json()
    assert cancelled == {"payment_id": paid["payment_id"], "status": "cancelled", "changed": True}
    assert Payment.objects.get().status == "cancelled"


def test_a_cancellation_of_an_unknown_payment_is_kept_for_the_record(org):
    deal = make_deal(org.manager)
    response = post(generic(deal, status="canceled"))
    assert response.status_code == 200 and Payment.objects.get().status == "cancelled"


def test_a_planned_payment_of_the_same_amount_is_marked_received(org):
    deal = make_deal(org.manager, amount=Decimal("5000"))
    planned = payment_add(actor=org.manager, deal=deal, kind="prepayment", amount="2500")
    response = post(generic(deal))
    assert response.json()["payment_id"] == planned.pk
    stored = Payment.objects.get()
    assert stored.status == "received" and stored.external_id == "pay-1"


def test_money_completing_the_amount_is_the_final_payment(org):
    deal = make_deal(org.manager, amount=Decimal("2500"))
    post(generic(deal))
    assert Payment.objects.get().kind == "final"


def test_the_payment_id_may_be_a_number_and_the_deal_id_a_string(org):
    deal = make_deal(org.manager)
    assert post(generic(deal, payment_id=12345, deal_id=str(deal.pk))).status_code == 200
    assert Payment.objects.get().external_id == "12345"


def test_a_token_in_the_url_authenticates_providers_that_cannot_sign(org):
    deal = make_deal(org.manager)
    assert post(generic(deal), signature=None, query=f"?token={SECRET}").status_code == 200
    assert (
        post(generic(deal, payment_id="p2"), signature=None, query="?token=wrong").status_code
        == 401
    )
    # a signature, when sent, must be right even with a good token
    response = post(generic(deal, payment_id="p3"), signature="sha256=00", query=f"?token={SECRET}")
    assert response.status_code == 401
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha256=",
        "sha256=deadbeef",
        "md5=abc",
        "sha256=" + "0" * 64,
        "sha256=ЖЖЖ",
        "garbage",
    ],
)
def test_bad_or_missing_signatures_are_401(org, signature):
    deal = make_deal(org.manager)
    response = post(generic(deal), signature=signature)
    assert response.status_code == 401
    assert not Payment.objects.exists()


def test_a_signature_with_another_secret_is_401(org):
    deal = make_deal(org.manager)
    body = json.dumps(generic(deal)).encode()
    assert post(body, signature=sign(body, "other")).status_code == 401


def test_a_signature_of_another_body_is_401(org):
    deal = make_deal(org.manager)
    body = json.dumps(generic(deal)).encode()
    tampered = json.dumps(generic(deal, amount="1.00")).encode()
    assert post(tampered, signature=sign(body)).status_code == 401


def test_the_signature_prefix_and_hex_case_do_not_matter(org):
    deal = make_deal(org.manager)
    body = json.dumps(generic(deal)).encode()
    assert post(body, signature="SHA256=" + sign(body)[7:].upper()).status_code == 200


def test_without_a_secret_the_endpoint_is_not_configured(org, settings):
    settings.CRM_PAYMENT_WEBHOOK_SECRET = ""
    deal = make_deal(org.manager)
    response = post(generic(deal), signature=sign(json.dumps(generic(deal)).encode(), ""))
    assert response.status_code == 503
    assert not Payment.objects.exists()


def test_only_post(db):
    assert Client().get(URL).status_code == 405


def test_an_oversized_body_is_413(org):
    deal = make_deal(org.manager)
    body = json.dumps({**generic(deal), "padding": "x" * 70_000}).encode()
    assert post(body).status_code == 413
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"\xff\xfe",
        b"[" * 5000 + b"]" * 5000,
        b'{"a": 1',
    ],
)
def test_malformed_json_is_400(org, body):
    assert post(body).status_code == 400


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42", b"null"])
def test_a_body_that_is_not_an_object_is_422(org, body):
    response = post(body)
    assert response.status_code == 422 and "body" in response.json()["errors"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "abc"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "1e309"}, "amount"),
        ({"amount": "99999999999999999999"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": None}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": [1]}, "amount"),
        ({"currency": "XXX"}, "currency"),
        ({"currency": None}, "currency"),
        ({"status": "pending"}, "status"),
        ({"status": None}, "status"),
        ({"deal_id": "abc"}, "deal_id"),
        ({"deal_id": -1}, "deal_id"),
        ({"deal_id": 10**30}, "deal_id"),
        ({"deal_id": None}, "deal_id"),
        ({"deal_id": True}, "deal_id"),
        ({"payment_id": ""}, "payment_id"),
        ({"payment_id": None}, "payment_id"),
        ({"payment_id": "x" * 101}, "payment_id"),
        ({"payment_id": {"a": 1}}, "payment_id"),
        ({"provider": ""}, "provider"),
        ({"provider": "x" * 51}, "provider"),
        ({"paid_at": "yesterday"}, "paid_at"),
        ({"paid_at": 17}, "paid_at"),
        ({"kind": "bribe"}, "kind"),
    ],
)
def test_bad_fields_are_422_naming_the_field(org, change, field):
    deal = make_deal(org.manager)
    response = post(generic(deal, **change))
    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert not Payment.objects.exists()


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e309", b"1e999999"])
def test_json_number_oddities_are_422(org, literal):
    deal = make_deal(org.manager)
    body = json.dumps(generic(deal, amount="@")).encode().replace(b'"@"', literal)
    response = post(body)
    assert response.status_code == 422 and "amount" in response.json()["errors"]


def test_a_json_number_amount_is_exact(org):
    deal = make_deal(org.manager)
    body = json.dumps(generic(deal, amount="@")).encode().replace(b'"@"', b"0.1")
    assert post(body).status_code == 200
    assert Payment.objects.get().amount == Decimal("0.10")


def test_missing_fields_are_all_named(org):
    response = post({"provider": "cloudpay"})
    assert response.status_code == 422
    assert {"payment_id", "deal_id", "amount", "currency", "status"} <= set(
        response.json()["errors"]
    )


def test_an_unknown_deal_is_404(org):
    deal = make_deal(org.manager)
    response = post(generic(deal, deal_id=deal.pk + 1000))
    assert response.status_code == 404
    assert not Payment.objects.exists()


def test_a_currency_other_than_the_deals_is_422(org):
    deal = make_deal(org.manager, currency="EUR")
    response = post(generic(deal, currency="RUB"))
    assert response.status_code == 422 and "currency" in response.json()["errors"]
    assert not Payment.objects.exists()


def test_the_same_payment_id_on_another_deal_is_a_conflict(org):
    deal, other = make_deal(org.manager), make_deal(org.manager)
    post(generic(deal))
    response = post(generic(other))
    assert response.status_code == 409 and "deal_id" in response.json()["errors"]
    assert Payment.objects.get().deal == deal


def test_no_session_or_csrf_token_is_needed(org):
    deal = make_deal(org.manager)
    client = Client(enforce_csrf_checks=True)
    assert post(generic(deal), client=client).status_code == 200


# --- YooKassa ---------------------------------------------------------------------------------


def test_a_yookassa_notification_is_recorded(org):
    deal = make_deal(org.manager, amount=Decimal("10000"))
    response = post(yookassa(deal.pk))
    assert response.status_code == 200
    payment = Payment.objects.get()
    assert payment.provider == "yookassa" and payment.external_id.startswith("22d6d597")
    assert payment.method == "sbp" and payment.amount == Decimal("2500.00")
    assert payment.paid_on.isoformat() == "2025-04-01"
    assert post(yookassa(deal.pk)).json()["changed"] is False
    assert Payment.objects.count() == 1


def test_a_yookassa_notification_with_a_token(org):
    deal = make_deal(org.manager)
    assert post(yookassa(deal.pk), signature=None, query=f"?token={SECRET}").status_code == 200
    assert post(yookassa(deal.pk), signature=None).status_code == 401


def test_a_yookassa_cancellation(org):
    deal = make_deal(org.manager)
    post(yookassa(deal.pk))
    response = post(yookassa(deal.pk, event="payment.canceled"))
    assert response.json()["status"] == "cancelled"


def test_other_yookassa_events_are_acknowledged_and_ignored(org):
    deal = make_deal(org.manager)
    for event in ("payment.waiting_for_capture", "refund.succeeded"):
        response = post(yookassa(deal.pk, event=event))
        assert response.status_code == 200 and response.json() == {"ignored": True}
    assert not Payment.objects.exists()


def test_yookassa_errors_name_the_field_where_yookassa_put_it(org):
    deal = make_deal(org.manager, currency="USD")
    response = post(yookassa(deal.pk, value="abc", currency="RUB"))
    assert response.status_code == 422
    assert "object.amount.value" in response.json()["errors"]
    response = post(yookassa(deal.pk))
    assert response.status_code == 422 and "object.amount.currency" in response.json()["errors"]
    response = post(yookassa("x"))
    assert "object.metadata.deal_id" in response.json()["errors"]


@pytest.mark.parametrize(
    "body",
    [
        {"type": "notification"},
        {"type": "notification", "event": "payment.succeeded"},
        {"type": "notification", "event": "payment.succeeded", "object": []},
        {
            "type": "notification",
            "event": "payment.succeeded",
            "object": {"amount": "x", "metadata": 5},
        },
    ],
)
def test_broken_yookassa_shapes_are_422(org, body):
    response = post(body)
    assert response.status_code == 422
    assert response.json()["errors"]
