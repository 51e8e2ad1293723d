"""Payment providers' notifications turned into one generic shape.

The webhook (``POST /sales/webhooks/payments/``) accepts the generic shape::

    {"provider", "payment_id", "deal_id", "amount", "currency",
     "status": "succeeded" | "canceled", "paid_at", "method", "kind"?}

and each provider's own shape through one function here. The functions only move values
into place; ``services.payments.payment_record_from_provider`` checks them. ``paths`` says
where each generic field sits in the provider's payload, so an error names the field the
sender knows.

YooKassa signs nothing: its notifications are accepted either relayed with the CRM's
``X-CRM-Signature`` or posted directly to a URL carrying ``?token=<secret>`` (see the view).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from crm.core.errors import ValidationFailed
from crm.sales.choices import PaymentMethod


@dataclass(frozen=True)
class ProviderNotification:
    """A provider's report about one payment, values unchecked."""

    provider: Any
    payment_id: Any
    deal_id: Any
    amount: Any
    currency: Any
    status: Any
    paid_at: Any = None
    method: Any = None
    kind: Any = None
    paths: dict[str, str] = field(default_factory=dict)


def generic_notification(payload: dict[str, Any]) -> ProviderNotification:
    """The CRM's own shape (relays and providers configured to post it)."""
    return ProviderNotification(
        provider=payload.get("provider"),
        payment_id=payload.get("payment_id"),
        deal_id=payload.get("deal_id"),
        amount=payload.get("amount"),
        currency=payload.get("currency"),
        status=payload.get("status"),
        paid_at=payload.get("paid_at"),
        method=payload.get("method"),
        kind=payload.get("kind"),
    )


YOOKASSA_EVENTS = {"payment.succeeded": "succeeded", "payment.canceled": "canceled"}
YOOKASSA_METHODS = {
    "bank_card": PaymentMethod.CARD,
    "sbp": PaymentMethod.SBP,
    "b2b_sberbank": PaymentMethod.BANK_TRANSFER,
    "cash": PaymentMethod.CASH,
}
YOOKASSA_PATHS = {
    "payment_id": "object.id",
    "deal_id": "object.metadata.deal_id",
    "amount": "object.amount.value",
    "currency": "object.amount.currency",
    "status": "event",
    "paid_at": "object.captured_at",
}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def yookassa_notification(payload: dict[str, Any]) -> ProviderNotification | None:
    """A YooKassa HTTP notification (``{"type": "notification", "event", "object"}``).

    ``payment.succeeded`` and ``payment.canceled`` are recorded; other events (a payment
    waiting for capture, refunds) answer ``None``: nothing to record, and the provider must
    not retry. The deal comes from ``object.metadata.deal_id``, which the CRM's payment
    link sets when creating the payment.
    """
    event = payload.get("event")
    if event not in YOOKASSA_EVENTS:
        if isinstance(event, str) and event:
            return None
        raise ValidationFailed(
            _("Please correct the marked fields."),
            field_errors={"event": [_("This field is required.")]},
        )
    payment = payload.get("object")
    if not isinstance(payment, dict):
        raise ValidationFailed(
            _("Please correct the marked fields."),
            field_errors={"object": [_("This field is required.")]},
        )
    amount = _dict(payment.get("amount"))
    method = _dict(payment.get("payment_method")).get("type")
    if not isinstance(method, str):  # absent, or not a string: nothing to map
        method = ""
    return ProviderNotification(
        provider="yookassa",
        payment_id=payment.get("id"),
        deal_id=_dict(payment.get("metadata")).get("deal_id"),
        amount=amount.get("value"),
        currency=amount.get("currency"),
        status=YOOKASSA_EVENTS[event],
        paid_at=payment.get("captured_at") or payment.get("created_at"),
        method=YOOKASSA_METHODS.get(method, PaymentMethod.ONLINE),
        paths=YOOKASSA_PATHS,
    )


def is_yookassa(payload: dict[str, Any]) -> bool:
    return payload.get("type") == "notification" and "event" in payload


def notification_parse(payload: Any) -> ProviderNotification | None:
    """The notification in a decoded JSON body, whichever provider's shape it has;
    ``None`` for an event that records nothing."""
    if not isinstance(payload, dict):
        raise ValidationFailed(
            _("Please correct the marked fields."),
            field_errors={"body": [_("Send a JSON object.")]},
        )
    if is_yookassa(payload):
        return yookassa_notification(payload)
    return generic_notification(payload)


def errors_in_provider_terms(
    notification: ProviderNotification | None, errors: dict[str, list[str]]
) -> dict[str, list[str]]:
    """Rename generic field names in ``errors`` to where the provider put them."""
    if notification is None or not notification.paths:
        return errors
    return {notification.paths.get(name, name): messages for name, messages in errors.items()}
