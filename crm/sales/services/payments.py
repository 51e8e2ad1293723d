"""Payments of a deal: expected and received money, marking received, cancelling, the
payment state the stage rules ask about, and payments reported by a provider's webhook.

A payment is ``expected`` (planned, maybe with a due date), ``received`` (with the day it
arrived) or ``cancelled`` (kept for the record, counted nowhere). The deal's *due* is its
amount less what was received, never below zero; money received beyond the amount is an
*overpayment*, shown on its own. Every change is a field-change entry on the deal's
timeline and marks the deal active.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.activities.choices import EntryKind
from crm.activities.services import timeline_record, timeline_record_changes
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.permissions import ScopedUser
from crm.customers.services.cleaning import Errors, clean_choice, clean_date, clean_text
from crm.sales.choices import Currency, PaymentKind, PaymentMethod, PaymentStatus
from crm.sales.models import ZERO, Deal, Payment
from crm.sales.services.lines import (
    clean_positive,
    deal_lock_writable,
    deal_mark_active,
    money_display,
)
from crm.sales.services.payment_providers import ProviderNotification

log = logging.getLogger("crm.sales.payments")

COMMENT_MAX = 500
PROVIDER_MAX = 50
EXTERNAL_ID_MAX = 100
INT_MAX = 2**63 - 1


class _Unset:
    """Marks an argument that was not passed (``None`` clears a date)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


# --- the state of a deal's payments -----------------------------------------------------------


@dataclass(frozen=True)
class PaymentState:
    """What a deal's payments add up to.

    ``expected``: planned payments not yet received; ``due``: amount − received, never
    negative; ``overpaid``: received − amount when more came than the amount;
    ``unscheduled``: the part of ``due`` no expected payment covers; ``percent_paid``:
    0–100 for a progress bar.
    """

    amount: Decimal
    received: Decimal
    expected: Decimal
    due: Decimal
    overpaid: Decimal
    unscheduled: Decimal
    has_prepayment: bool
    paid_in_full: bool
    percent_paid: int


def payment_state_compute(
    *, amount: Decimal | None, payments: Iterable[tuple[str, str, Decimal]]
) -> PaymentState:
    """The state from the deal's amount and its payments as ``(kind, status, amount)``.

    ``has_prepayment`` is true when a received prepayment exists or the deal is paid in
    full (a client who paid everything up front has certainly paid in advance);
    ``paid_in_full`` when received ≥ amount > 0.
    """
    amount = amount or ZERO
    received = expected = ZERO
    prepayment_received = False
    for kind, status, value in payments:
        if status == PaymentStatus.RECEIVED:
            received += value
            prepayment_received = prepayment_received or kind == PaymentKind.PREPAYMENT
        elif status == PaymentStatus.EXPECTED:
            expected += value
    due = max(amount - received, ZERO)
    paid_in_full = amount > 0 and received >= amount
    if amount > 0:
        percent = int(min(received, amount) * 100 / amount)
    else:
        percent = 100 if received > 0 else 0
    return PaymentState(
        amount=amount,
        received=received,
        expected=expected,
        due=due,
        overpaid=max(received - amount, ZERO) if amount > 0 else ZERO,
        unscheduled=max(due - expected, ZERO),
        has_prepayment=prepayment_received or paid_in_full,
        paid_in_full=paid_in_full,
        percent_paid=percent,
    )


def deal_payment_state(deal: Deal) -> PaymentState:
    """The payment state of ``deal`` (its ``amount`` as on the instance), in one query."""
    totals = Payment.objects.filter(deal_id=deal.pk).aggregate(
        received=Sum("amount", filter=Q(status=PaymentStatus.RECEIVED)),
        expected=Sum("amount", filter=Q(status=PaymentStatus.EXPECTED)),
        prepayments=Count(
            "id", filter=Q(status=PaymentStatus.RECEIVED, kind=PaymentKind.PREPAYMENT)
        ),
    )
    rows: list[tuple[str, str, Decimal]] = [
        (PaymentKind.PARTIAL, PaymentStatus.RECEIVED, totals["received"] or ZERO),
        (PaymentKind.PARTIAL, PaymentStatus.EXPECTED, totals["expected"] or ZERO),
    ]
    if totals["prepayments"]:
        rows.append((PaymentKind.PREPAYMENT, PaymentStatus.RECEIVED, ZERO))
    return payment_state_compute(amount=deal.amount, payments=rows)


def deal_has_prepayment(deal: Deal) -> bool:
    """Whether a prepayment was received (or the deal is paid in full): the stage rule
    "prepayment"."""
    return deal_payment_state(deal).has_prepayment


def deal_is_paid(deal: Deal) -> bool:
    """Whether received payments cover the deal's amount (amount > 0): the stage rule
    "paid"."""
    return deal_payment_state(deal).paid_in_full


# --- validation and history -------------------------------------------------------------------


def _clean_kind(errors: Errors, value: Any) -> str:
    return clean_choice(errors, "kind", value, PaymentKind.values, required=True)


def _clean_method(errors: Errors, value: Any) -> str:
    return clean_choice(errors, "method", value, PaymentMethod.values)


def _clean_paid_on(errors: Errors, value: Any) -> dt.date:
    paid_on = clean_date(errors, "paid_on", value) or timezone.localdate()
    if paid_on > timezone.localdate():
        errors.add("paid_on", _("Money cannot arrive in the future."))
    return paid_on


def _moment_date(errors: Errors, name: str, value: Any) -> dt.date | None:
    """The local day of an ISO date or date-time (a provider's ``paid_at``)."""
    if value in (None, ""):
        return None
    moment = None
    if isinstance(value, str) and len(value) <= 40:
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    if moment is None:
        errors.add(name, _("Enter a date and time in ISO 8601."))
        return None
    day = timezone.localdate(moment) if timezone.is_aware(moment) else moment.date()
    return clean_date(errors, name, day)


def payment_summary(payment: Payment, currency: str) -> str:
    """A payment as text for the timeline:
    ``Prepayment 5 000.00 RUB, received 2026-03-01, Card, “by invoice 12”``."""
    parts = [f"{payment.get_kind_display()} {money_display(payment.amount, currency)}"]
    if payment.status == PaymentStatus.RECEIVED and payment.paid_on:
        parts.append(f"{_('received')} {payment.paid_on.isoformat()}")
    elif payment.status == PaymentStatus.CANCELLED:
        parts.append(_("cancelled"))
    elif payment.due_date:
        parts.append(f"{_('expected on')} {payment.due_date.isoformat()}")
    else:
        parts.append(_("expected"))
    if payment.method:
        parts.append(str(payment.get_method_display()))
    if payment.comment:
        parts.append(f"“{payment.comment}”")
    return ", ".join(parts)


def _record(actor: ScopedUser | None, deal: Deal, old: str, new: str, **data: Any) -> None:
    deal_mark_active(deal)
    changes = [{"field": "payments", "label": _("Payments"), "old": old, "new": new}]
    if data:
        timeline_record(
            subject=deal,
            kind=EntryKind.FIELD_CHANGE,
            author=actor,
            data={"changes": changes, **data},
        )
    else:
        timeline_record_changes(subject=deal, author=actor, changes=changes)


def _record_provider_change(
    deal: Deal, before: str, payment: Payment, values: dict[str, Any], raw_body: str
) -> None:
    """``_record`` of a change a payment provider's notification made (no author; the
    provider and its raw notification are kept on the entry)."""
    after = payment_summary(payment, deal.currency)
    _record(None, deal, before, after, provider=values["provider"], payload=raw_body)


def _locked(actor: ScopedUser, payment: Payment) -> tuple[Deal, Payment]:
    """The payment's deal (locked, checked writable) and the payment as stored."""
    deal = deal_lock_writable(actor=actor, pk=payment.deal_id)
    current = Payment.objects.select_for_update().filter(pk=payment.pk, deal=deal).first()
    if current is None:
        raise NotFound(_("Payment not found."))
    return deal, current


# --- writes by people -------------------------------------------------------------------------


@transaction.atomic
def payment_add(
    *,
    actor: ScopedUser,
    deal: Deal,
    kind: str | None = None,
    amount: Any = None,
    status: str = PaymentStatus.EXPECTED,
    due_date: Any = None,
    paid_on: Any = None,
    method: str = "",
    comment: str = "",
) -> Payment:
    """Add an expected or a received payment to ``deal``; returns it (``payment.deal`` is
    the updated deal).

    ``kind`` and ``amount`` are required (missing ones are named in ``ValidationFailed``,
    like bad ones); ``amount`` > 0 with two places; a received payment gets ``paid_on`` (today when not
    given, never in the future); an expected one has no ``paid_on``. Refused input raises
    ``ValidationFailed`` naming each field and writes nothing.
    """
    deal = deal_lock_writable(actor=actor, pk=deal.pk)
    errors = Errors()
    values: dict[str, Any] = {
        "kind": _clean_kind(errors, kind),
        "amount": clean_positive(errors, "amount", amount),
        "status": clean_choice(
            errors,
            "status",
            status,
            [PaymentStatus.EXPECTED, PaymentStatus.RECEIVED],
            required=True,
        ),
        "due_date": clean_date(errors, "due_date", due_date),
        "method": _clean_method(errors, method),
        "comment": clean_text(errors, "comment", comment, max_length=COMMENT_MAX),
    }
    if values["status"] == PaymentStatus.RECEIVED:
        values["paid_on"] = _clean_paid_on(errors, paid_on)
    elif paid_on not in (None, ""):
        errors.add("paid_on", _("Only a received payment has a day of receipt."))
    errors.raise_if_any()
    payment = Payment.objects.create(deal=deal, created_by_id=actor.pk, **values)
    _record(actor, deal, "", payment_summary(payment, deal.currency))
    payment.deal = deal
    return payment


@transaction.atomic
def payment_mark_received(
    *, actor: ScopedUser, payment: Payment, paid_on: Any = None, method: str | None = None
) -> Payment:
    """Mark an expected payment received on ``paid_on`` (today when not given); ``method``
    replaces the stored one when given. A received or cancelled payment is refused."""
    deal, current = _locked(actor, payment)
    errors = Errors()
    if current.status != PaymentStatus.EXPECTED:
        errors.add(
            "status",
            _("The payment is already received.")
            if current.status == PaymentStatus.RECEIVED
            else _("A cancelled payment cannot be received."),
        )
    day = _clean_paid_on(errors, paid_on)
    chosen_method = current.method if method in (None, "") else _clean_method(errors, method)
    errors.raise_if_any()
    before = payment_summary(current, deal.currency)
    current.status, current.paid_on, current.method = PaymentStatus.RECEIVED, day, chosen_method
    current.save(update_fields=["status", "paid_on", "method", "updated_at"])
    _record(actor, deal, before, payment_summary(current, deal.currency))
    current.deal = deal
    return current


@transaction.atomic
def payment_update(
    *,
    actor: ScopedUser,
    payment: Payment,
    kind: str | None = None,
    amount: Any = None,
    due_date: Any = UNSET,
    paid_on: Any = UNSET,
    method: str | None = None,
    comment: str | None = None,
) -> Payment:
    """Change the given fields of an expected or received payment (``None`` keeps a field;
    ``due_date=None`` clears the due date). The status changes only through
    ``payment_mark_received`` and ``payment_cancel``; the amount of a payment a provider
    reported is the provider's and cannot change. A call that changes nothing writes
    nothing."""
    deal, current = _locked(actor, payment)
    errors = Errors()
    if current.status == PaymentStatus.CANCELLED:
        errors.add("status", _("A cancelled payment cannot be changed."))
        errors.raise_if_any()
    values: dict[str, Any] = {}
    if kind is not None:
        values["kind"] = _clean_kind(errors, kind)
    if amount is not None:
        values["amount"] = clean_positive(errors, "amount", amount)
        if current.external_id and values["amount"] not in (None, current.amount):
            errors.add("amount", _("The payment provider reported this amount; it cannot change."))
    if due_date is not UNSET:
        values["due_date"] = clean_date(errors, "due_date", due_date)
    if paid_on is not UNSET:
        if current.status == PaymentStatus.RECEIVED:
            values["paid_on"] = _clean_paid_on(errors, paid_on)
        elif paid_on not in (None, ""):
            errors.add("paid_on", _("Only a received payment has a day of receipt."))
    if method is not None:
        values["method"] = _clean_method(errors, method)
    if comment is not None:
        values["comment"] = clean_text(errors, "comment", comment, max_length=COMMENT_MAX)
    errors.raise_if_any()
    changed = [field for field, value in values.items() if getattr(current, field) != value]
    if changed:
        before = payment_summary(current, deal.currency)
        for field in changed:
            setattr(current, field, values[field])
        current.save(update_fields=[*changed, "updated_at"])
        _record(actor, deal, before, payment_summary(current, deal.currency))
    current.deal = deal
    return current


@transaction.atomic
def payment_cancel(*, actor: ScopedUser, payment: Payment) -> Payment:
    """Cancel a payment (kept for the record, counted nowhere); cancelling a cancelled
    payment changes nothing."""
    deal, current = _locked(actor, payment)
    if current.status != PaymentStatus.CANCELLED:
        before = payment_summary(current, deal.currency)
        current.status = PaymentStatus.CANCELLED
        current.save(update_fields=["status", "updated_at"])
        _record(actor, deal, before, payment_summary(current, deal.currency))
    current.deal = deal
    return current


# --- payments reported by a provider ----------------------------------------------------------


@dataclass(frozen=True)
class ProviderResult:
    """What a provider's notification did: the payment and whether anything changed."""

    payment: Payment
    changed: bool


def _clean_notification(notification: ProviderNotification) -> dict[str, Any]:
    """Check a notification's values; ``ValidationFailed`` names the generic fields."""
    errors = Errors()
    provider = clean_text(
        errors, "provider", notification.provider, max_length=PROVIDER_MAX, required=True
    )
    payment_id = notification.payment_id
    if isinstance(payment_id, int) and not isinstance(payment_id, bool):
        payment_id = str(payment_id)
    external_id = clean_text(
        errors, "payment_id", payment_id, max_length=EXTERNAL_ID_MAX, required=True
    )
    deal_id = _deal_id(errors, notification.deal_id)
    amount = clean_positive(errors, "amount", notification.amount)
    currency = clean_choice(
        errors, "currency", notification.currency, Currency.values, required=True
    )
    status = clean_choice(
        errors, "status", notification.status, ["succeeded", "canceled"], required=True
    )
    paid_on = _moment_date(errors, "paid_at", notification.paid_at)
    kind = ""
    if notification.kind not in (None, ""):
        kind = _clean_kind(errors, notification.kind)
    errors.raise_if_any()
    return {
        "provider": provider,
        "external_id": external_id,
        "deal_id": deal_id,
        "amount": amount,
        "currency": currency,
        "status": status,
        "paid_on": paid_on or timezone.localdate(),
        "method": notification.method
        if notification.method in PaymentMethod.values
        else PaymentMethod.ONLINE,
        "kind": kind,
    }


def _deal_id(errors: Errors, value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 20:
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= INT_MAX:
        return value
    errors.add("deal_id", _("Enter the deal's number."))
    return 0


def _kind_for(deal: Deal, amount: Decimal) -> str:
    """Prepayment for the first money short of the amount, final for money that completes
    it, partial in between."""
    received = (
        Payment.objects.filter(deal=deal, status=PaymentStatus.RECEIVED).aggregate(
            total=Sum("amount")
        )["total"]
        or ZERO
    )
    if deal.amount and received + amount >= deal.amount:
        return PaymentKind.FINAL
    return PaymentKind.PREPAYMENT if received == 0 else PaymentKind.PARTIAL


def payment_record_from_provider(
    *, notification: ProviderNotification, raw_body: str = ""
) -> ProviderResult:
    """Record what a payment provider reported; idempotent per provider and payment id.

    The first "succeeded" for a payment marks an expected payment of the same amount on the
    deal received (so a planned prepayment paid online is not counted twice) or adds a
    received one; "canceled" cancels it (or records a cancelled one). A repeated
    notification changes nothing and returns the same payment. The provider is the
    authority on its payment's status, so a later notification with another status wins.

    Raises ``ValidationFailed`` (bad values, a currency other than the deal's), ``NotFound``
    (no such deal) and ``Conflict`` (the payment id is recorded on another deal). The raw
    body goes on the timeline entry's ``data["payload"]``. The caller authenticated the
    notification; there is no actor (entries have no author).
    """
    values = _clean_notification(notification)
    with transaction.atomic():
        deal = Deal.objects.select_for_update().filter(pk=values["deal_id"]).first()
        if deal is None:
            raise NotFound(_("Deal not found."), field_errors={"deal_id": [_("No such deal.")]})
        if values["currency"] != deal.currency:
            raise ValidationFailed(
                _("Please correct the marked fields."),
                field_errors={
                    "currency": [
                        _("The deal is in %(deal)s, the payment in %(payment)s.")
                        % {"deal": deal.currency, "payment": values["currency"]}
                    ]
                },
            )
        existing = (
            Payment.objects.select_for_update()
            .filter(provider=values["provider"], external_id=values["external_id"])
            .first()
        )
        if existing is None:
            try:
                with transaction.atomic():
                    return _provider_new(deal, values, raw_body)
            except IntegrityError:
                # Another worker recorded the same payment id a moment ago (on another deal,
                # since this deal's row is locked): answer as for a retry.
                existing = Payment.objects.filter(
                    provider=values["provider"], external_id=values["external_id"]
                ).first()
                if existing is None:
                    raise
        if existing.deal_id != deal.pk:
            raise Conflict(
                _("This payment is recorded on another deal."),
                field_errors={"deal_id": [_("This payment is recorded on another deal.")]},
            )
        return _provider_existing(deal, existing, values, raw_body)


def _provider_new(deal: Deal, values: dict[str, Any], raw_body: str) -> ProviderResult:
    common = {"provider": values["provider"], "external_id": values["external_id"]}
    if values["status"] == "succeeded":
        planned = (
            Payment.objects.select_for_update()
            .filter(
                deal=deal, status=PaymentStatus.EXPECTED, external_id="", amount=values["amount"]
            )
            .order_by("due_date", "id")
            .first()
        )
        if planned is not None:
            before = payment_summary(planned, deal.currency)
            planned.status, planned.paid_on = PaymentStatus.RECEIVED, values["paid_on"]
            planned.method = values["method"]
            planned.provider, planned.external_id = common["provider"], common["external_id"]
            planned.save()
            _record_provider_change(deal, before, planned, values, raw_body)
            return ProviderResult(planned, changed=True)
        payment = Payment.objects.create(
            deal=deal,
            kind=values["kind"] or _kind_for(deal, values["amount"]),
            status=PaymentStatus.RECEIVED,
            amount=values["amount"],
            paid_on=values["paid_on"],
            method=values["method"],
            **common,
        )
    else:
        payment = Payment.objects.create(
            deal=deal,
            kind=values["kind"] or PaymentKind.PARTIAL,
            status=PaymentStatus.CANCELLED,
            amount=values["amount"],
            method=values["method"],
            **common,
        )
    _record_provider_change(deal, "", payment, values, raw_body)
    return ProviderResult(payment, changed=True)


def _provider_existing(
    deal: Deal, payment: Payment, values: dict[str, Any], raw_body: str
) -> ProviderResult:
    wanted = PaymentStatus.RECEIVED if values["status"] == "succeeded" else PaymentStatus.CANCELLED
    if payment.status == wanted:
        return ProviderResult(payment, changed=False)
    before = payment_summary(payment, deal.currency)
    payment.status = wanted
    if wanted == PaymentStatus.RECEIVED:
        payment.paid_on = values["paid_on"]
    payment.save(update_fields=["status", "paid_on", "updated_at"])
    log.info(
        "provider_payment_status provider=%s id=%s status=%s",
        values["provider"],
        values["external_id"],
        wanted,
    )
    _record_provider_change(deal, before, payment, values, raw_body)
    return ProviderResult(payment, changed=True)
