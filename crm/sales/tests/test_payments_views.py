"""The payments panel of a deal card: the permission matrix, HTMX and plain answers, inline
errors, marking received, editing and cancelling."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import client_for
from crm.sales.models import Payment
from crm.sales.services.payments import payment_add
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
PAYMENT = {"kind": "prepayment", "amount": "3000", "status": "expected", "due_date": "2030-02-01"}
MATRIX = [
    ("admin", 200),
    ("head", 200),
    ("manager", 200),
    ("colleague", 404),
    ("outsider", 404),
    ("viewer", 403),
]


def url(name, deal, *args):
    return reverse(f"sales:{name}", args=[deal.pk, *args])


def expected(org, deal, amount="3000"):
    return payment_add(actor=org.manager, deal=deal, kind="prepayment", amount=amount)


@pytest.mark.parametrize(("who", "status"), MATRIX)
def test_who_may_add_a_payment(org, who, status):
    deal = make_deal(org.manager, amount=Decimal("10000"))
    response = client_for(getattr(org, who)).post(
        url("deal_payment_add", deal), PAYMENT, headers=HTMX
    )
    assert response.status_code == status
    assert Payment.objects.count() == (1 if status == 200 else 0)


@pytest.mark.parametrize(("who", "status"), MATRIX)
def test_who_may_mark_received_edit_and_cancel(org, who, status):
    deal = make_deal(org.manager, amount=Decimal("10000"))
    payment = expected(org, deal)
    client = client_for(getattr(org, who))
    edited = client.post(
        url("deal_payment_edit", deal, payment.pk), {**PAYMENT, "amount": "4000"}, headers=HTMX
    )
    assert edited.status_code == status
    received = client.post(
        url("deal_payment_receive", deal, payment.pk),
        {"paid_on": "", "method": "card"},
        headers=HTMX,
    )
    assert received.status_code == status
    stored = Payment.objects.get()
    if status == 200:
        assert stored.amount == Decimal("4000.00") and stored.status == "received"
        assert stored.paid_on == timezone.localdate() and stored.method == "card"
    else:
        assert stored.amount == Decimal("3000.00") and stored.status == "expected"
    cancelled = client.post(url("deal_payment_cancel", deal, payment.pk), headers=HTMX)
    assert cancelled.status_code == status
    assert (Payment.objects.get().status == "cancelled") is (status == 200)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("admin", 200),
        ("head", 200),
        ("manager", 200),
        ("colleague", 404),
        ("outsider", 404),
        ("viewer", 200),
    ],
)
def test_who_may_see_the_panel(org, who, status):
    deal = make_deal(org.manager, amount=Decimal("10000"))
    expected(org, deal)
    response = client_for(getattr(org, who)).get(url("deal_payments", deal), headers=HTMX)
    assert response.status_code == status
    if status == 200:
        page = response.content.decode()
        assert f'id="deal-payments-{deal.pk}"' in page
        assert ("deal-payment-add" in page) is (who != "viewer")


def test_anonymous_visitors_are_sent_to_sign_in(org):
    deal = make_deal(org.manager)
    assert client_for(None).post(url("deal_payment_add", deal), PAYMENT).status_code == 302
    assert not Payment.objects.exists()


def test_the_panel_shows_paid_due_and_an_overpayment(org):
    deal = make_deal(org.manager, amount=Decimal("1000"))
    client = client_for(org.manager)
    client.post(
        url("deal_payment_add", deal),
        {**PAYMENT, "amount": "400", "status": "received", "due_date": ""},
        headers=HTMX,
    )
    response = client.get(url("deal_payments", deal), headers=HTMX)
    state = response.context["money"].state
    assert (state.received, state.due, state.percent_paid) == (
        Decimal("400.00"),
        Decimal("600.00"),
        40,
    )
    page = response.content.decode()
    assert 'data-due="600.00"' in page and 'aria-valuenow="40"' in page
    client.post(
        url("deal_payment_add", deal),
        {**PAYMENT, "kind": "final", "amount": "700", "status": "received", "due_date": ""},
        headers=HTMX,
    )
    response = client.get(url("deal_payments", deal), headers=HTMX)
    state = response.context["money"].state
    assert state.due == Decimal(0) and state.overpaid == Decimal("100.00") and state.paid_in_full
    assert "bg-danger" in response.content.decode()  # the bar shows the overpayment


def test_a_plain_post_redirects_to_the_deal(org):
    deal = make_deal(org.manager)
    response = client_for(org.manager).post(url("deal_payment_add", deal), PAYMENT)
    assert response.status_code == 302
    assert response["Location"] == reverse("sales:deal_detail", args=[deal.pk])


def test_htmx_change_announces_the_new_totals(org):
    deal = make_deal(org.manager, amount=Decimal("10"))
    response = client_for(org.manager).post(url("deal_payment_add", deal), PAYMENT, headers=HTMX)
    assert "dealMoneyChanged" in response["HX-Trigger"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"amount": "abc"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "-10"}, "amount"),
        ({"amount": "1e309"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "99999999999999999999"}, "amount"),
        ({"amount": ""}, "amount"),
        ({"due_date": "когда-нибудь"}, "due_date"),
        ({"status": "received", "paid_on": "2999-01-01"}, "paid_on"),
        ({"comment": "x" * 501}, "comment"),
    ],
)
def test_bad_input_shows_inline_with_422(org, data, field):
    deal = make_deal(org.manager)
    for headers in (HTMX, {}):
        response = client_for(org.manager).post(
            url("deal_payment_add", deal), {**PAYMENT, **data}, headers=headers
        )
        assert response.status_code == 422
        errors = response.context["payment_form"].errors[field]
        assert errors and str(errors[0]) in response.content.decode()
    assert not Payment.objects.exists()


def test_receive_form_opens_and_refuses_a_future_day(org):
    deal = make_deal(org.manager)
    payment = expected(org, deal)
    client = client_for(org.manager)
    opened = client.get(url("deal_payments", deal), {"receive": payment.pk}, headers=HTMX)
    assert opened.status_code == 200 and opened.context["receiving_payment_id"] == payment.pk
    future = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    refused = client.post(
        url("deal_payment_receive", deal, payment.pk), {"paid_on": future}, headers=HTMX
    )
    assert refused.status_code == 422 and refused.context["receive_form"].errors["paid_on"]
    assert Payment.objects.get().status == "expected"
    client.post(
        url("deal_payment_receive", deal, payment.pk), {"paid_on": "2025-06-01"}, headers=HTMX
    )
    again = client.post(url("deal_payment_receive", deal, payment.pk), {}, headers=HTMX)
    assert again.status_code == 422
    assert Payment.objects.get().paid_on == dt.date(2025, 6, 1)


def test_edit_opens_the_payment_and_keeps_a_received_day(org):
    deal = make_deal(org.manager)
    payment = payment_add(
        actor=org.manager,
        deal=deal,
        kind="final",
        amount="100",
        status="received",
        paid_on="2025-01-10",
    )
    client = client_for(org.manager)
    opened = client.get(url("deal_payment_edit", deal, payment.pk), headers=HTMX)
    assert opened.status_code == 200 and 'value="2025-01-10"' in opened.content.decode()
    client.post(
        url("deal_payment_edit", deal, payment.pk),
        {"kind": "final", "amount": "150", "paid_on": "", "comment": "x"},
        headers=HTMX,
    )
    stored = Payment.objects.get()
    assert stored.amount == Decimal("150.00") and stored.paid_on == dt.date(2025, 1, 10)


def test_a_payment_of_another_deal_is_404(org):
    deal, other = make_deal(org.manager), make_deal(org.manager)
    payment = expected(org, other)
    client = client_for(org.manager)
    assert (
        client.post(url("deal_payment_cancel", deal, payment.pk), headers=HTMX).status_code == 404
    )
    assert client.get(url("deal_payments", deal), {"edit": payment.pk}).status_code == 404
    assert Payment.objects.get().status == "expected"


def test_the_plain_pages_work_without_javascript(org):
    deal = make_deal(org.manager)
    payment = expected(org, deal)
    client = client_for(org.manager)
    for params in ({}, {"edit": payment.pk}, {"receive": payment.pk}):
        response = client.get(url("deal_payments", deal), params)
        assert response.status_code == 200
        assert "<html" in response.content.decode()
