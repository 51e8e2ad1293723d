"""Payment services: expected and received payments, marking received, changing,
cancelling, the payment state the stage rules use, and refusals that change nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.activities.models import TimelineEntry
from crm.core.errors import NotFound, PermissionDenied, ValidationFailed
from crm.sales.models import Deal, Payment
from crm.sales.services import payments as services
from crm.sales.tests.factories import make_deal

pytestmark = pytest.mark.django_db

D = Decimal


def changes_of(deal: Deal) -> list[dict]:
    entries = TimelineEntry.objects.filter(subject_id=deal.pk, kind="field_change").order_by("id")
    return [change for entry in entries for change in entry.data["changes"]]


def add(actor, deal, **data):
    data.setdefault("kind", "prepayment")
    data.setdefault("amount", "5000")
    return services.payment_add(actor=actor, deal=deal, **data)


def test_adds_an_expected_payment(org):
    deal = make_deal(org.manager, amount=D("10000"))
    payment = add(org.manager, deal, due_date="2030-01-15", comment="  по счёту  ")
    assert payment.status == "expected" and payment.amount == D("5000.00")
    assert payment.due_date == dt.date(2030, 1, 15) and payment.paid_on is None
    assert payment.comment == "по счёту" and payment.created_by == org.manager
    change = changes_of(deal)[0]
    assert change["field"] == "payments" and change["old"] == "" and "5" in change["new"]


def test_a_received_payment_is_dated_today_unless_told(org):
    deal = make_deal(org.manager)
    payment = add(org.manager, deal, status="received", method="card")
    assert payment.paid_on == timezone.localdate() and payment.method == "card"
    older = add(org.manager, deal, status="received", paid_on="2025-03-01", kind="partial")
    assert older.paid_on == dt.date(2025, 3, 1)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "1e309"}, "amount"),
        ({"amount": 1e309}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "100000000000000"}, "amount"),
        ({"amount": ""}, "amount"),
        ({"amount": None}, "amount"),
        ({"kind": "bribe"}, "kind"),
        ({"kind": ""}, "kind"),
        ({"status": "cancelled"}, "status"),
        ({"status": "lost"}, "status"),
        ({"due_date": "31.12.2030"}, "due_date"),
        ({"method": "barter"}, "method"),
        ({"comment": "x" * 501}, "comment"),
        ({"paid_on": "2025-01-01"}, "paid_on"),  # an expected payment has no day of receipt
        ({"status": "received", "paid_on": "2999-01-01"}, "paid_on"),
        ({"status": "received", "paid_on": "yesterday"}, "paid_on"),
    ],
)
def test_refuses_bad_payments_naming_the_field_and_writes_nothing(org, data, field):
    deal = make_deal(org.manager)
    with pytest.raises(ValidationFailed) as error:
        add(org.manager, deal, **data)
    assert field in error.value.field_errors
    assert not Payment.objects.exists()
    assert not TimelineEntry.objects.filter(subject_id=deal.pk).exists()


def test_mark_received_and_its_refusals(org):
    deal = make_deal(org.manager)
    payment = add(org.manager, deal, method="bank_transfer")
    with pytest.raises(ValidationFailed) as error:
        services.payment_mark_received(actor=org.manager, payment=payment, paid_on="2999-01-01")
    assert "paid_on" in error.value.field_errors
    received = services.payment_mark_received(
        actor=org.manager, payment=payment, paid_on="2025-05-05"
    )
    assert received.status == "received" and received.paid_on == dt.date(2025, 5, 5)
    assert received.method == "bank_transfer"
    assert "received" in changes_of(deal)[-1]["new"]
    with pytest.raises(ValidationFailed) as error:
        services.payment_mark_received(actor=org.manager, payment=payment)
    assert "status" in error.value.field_errors
    services.payment_cancel(actor=org.manager, payment=payment)
    with pytest.raises(ValidationFailed):
        services.payment_mark_received(actor=org.manager, payment=payment)


def test_update_changes_given_fields_and_records_them(org):
    deal = make_deal(org.manager)
    payment = add(org.manager, deal, due_date="2030-01-01")
    updated = services.payment_update(
        actor=org.manager, payment=payment, amount="6000", due_date=None
    )
    assert updated.amount == D("6000.00") and updated.due_date is None
    change = changes_of(deal)[-1]
    assert "5\u00a0000.00" in change["old"] and "6\u00a0000.00" in change["new"]
    count = len(changes_of(deal))
    services.payment_update(actor=org.manager, payment=payment, amount="6000.00")
    assert len(changes_of(deal)) == count  # nothing changed, nothing written
    services.payment_update(actor=org.manager, payment=payment, comment="новый")
    assert len(changes_of(deal)) == count + 1
    with pytest.raises(ValidationFailed) as error:
        services.payment_update(actor=org.manager, payment=payment, amount="-1", kind="x")
    assert {"amount", "kind"} <= set(error.value.field_errors)
    with pytest.raises(ValidationFailed) as error:
        services.payment_update(actor=org.manager, payment=payment, paid_on="2025-01-01")
    assert "paid_on" in error.value.field_errors
    assert Payment.objects.get(pk=payment.pk).amount == D("6000.00")


def test_cancel_keeps_the_payment_and_is_idempotent(org):
    deal = make_deal(org.manager)
    payment = add(org.manager, deal, status="received")
    assert services.payment_cancel(actor=org.manager, payment=payment).status == "cancelled"
    count = len(changes_of(deal))
    services.payment_cancel(actor=org.manager, payment=payment)
    assert len(changes_of(deal)) == count
    with pytest.raises(ValidationFailed) as error:
        services.payment_update(actor=org.manager, payment=payment, amount="1")
    assert "status" in error.value.field_errors


def test_a_providers_amount_cannot_change(org):
    deal = make_deal(org.manager)
    payment = Payment.objects.create(
        deal=deal,
        kind="final",
        status="received",
        amount=D("100"),
        provider="yookassa",
        external_id="p-1",
    )
    with pytest.raises(ValidationFailed) as error:
        services.payment_update(actor=org.manager, payment=payment, amount="99")
    assert "amount" in error.value.field_errors
    assert services.payment_update(actor=org.manager, payment=payment, comment="ok").comment == "ok"


def test_payment_state(org):
    deal = make_deal(org.manager, amount=D("10000"))
    state = services.deal_payment_state(deal)
    assert (state.received, state.expected, state.due) == (D(0), D(0), D("10000"))
    assert not state.has_prepayment and not state.paid_in_full and state.percent_paid == 0
    add(org.manager, deal, amount="3000", status="received")
    add(org.manager, deal, kind="final", amount="7000")
    add(org.manager, deal, kind="partial", amount="500", status="received")
    cancelled = add(org.manager, deal, kind="partial", amount="9999")
    services.payment_cancel(actor=org.manager, payment=cancelled)
    state = services.deal_payment_state(deal)
    assert state.received == D("3500.00") and state.expected == D("7000.00")
    assert state.due == D("6500.00") and state.overpaid == D(0) and state.unscheduled == D(0)
    assert state.has_prepayment and not state.paid_in_full and state.percent_paid == 35
    assert services.deal_has_prepayment(deal) and not services.deal_is_paid(deal)


def test_paid_in_full_and_overpaid(org):
    deal = make_deal(org.manager, amount=D("1000"))
    add(org.manager, deal, kind="final", amount="1200", status="received")
    state = services.deal_payment_state(deal)
    assert state.paid_in_full and state.due == D(0) and state.overpaid == D("200.00")
    assert state.percent_paid == 100
    # a client who paid everything at once has paid in advance too
    assert services.deal_is_paid(deal) and services.deal_has_prepayment(deal)


def test_a_deal_without_an_amount_is_never_paid(org):
    deal = make_deal(org.manager)
    add(org.manager, deal, kind="partial", amount="100", status="received")
    state = services.deal_payment_state(deal)
    assert not state.paid_in_full and state.due == D(0) and state.overpaid == D(0)
    assert not services.deal_is_paid(deal) and not services.deal_has_prepayment(deal)
    add(org.manager, deal, kind="prepayment", amount="100", status="expected")
    assert not services.deal_has_prepayment(deal)  # expected, not received


def test_each_change_marks_the_deal_active(org):
    long_ago = timezone.now() - dt.timedelta(days=30)
    deal = make_deal(org.manager, last_activity_at=long_ago)
    add(org.manager, deal)
    assert Deal.objects.get(pk=deal.pk).last_activity_at > long_ago


@pytest.mark.parametrize(
    ("who", "outcome"),
    [
        ("admin", None),
        ("head", None),
        ("manager", None),
        ("colleague", NotFound),
        ("outsider", NotFound),
        ("viewer", PermissionDenied),
    ],
)
def test_who_may_change_the_payments_of_a_managers_deal(org, who, outcome):
    deal = make_deal(org.manager, amount=D("100"))
    actor = getattr(org, who)
    if outcome is None:
        payment = add(actor, deal)
        services.payment_update(actor=actor, payment=payment, amount="10")
        services.payment_mark_received(actor=actor, payment=payment)
        services.payment_cancel(actor=actor, payment=payment)
        return
    with pytest.raises(outcome):
        add(actor, deal)
    payment = add(org.manager, deal)
    for call in (
        lambda: services.payment_update(actor=actor, payment=payment, amount="10"),
        lambda: services.payment_mark_received(actor=actor, payment=payment),
        lambda: services.payment_cancel(actor=actor, payment=payment),
    ):
        with pytest.raises(outcome):
            call()
    assert Payment.objects.get(pk=payment.pk).status == "expected"


def test_missing_kind_and_amount_are_named(org):
    deal = make_deal(org.manager)
    with pytest.raises(ValidationFailed) as error:
        services.payment_add(actor=org.manager, deal=deal)
    assert {"kind", "amount"} <= set(error.value.field_errors)
    assert not Payment.objects.exists()
