"""The payments panel of a deal card and the payment providers' webhook.

The deal card includes ``sales/_payments_panel.html`` with ``deal`` and ``money``
(``selectors_money.deal_money``); the views here answer its HTMX requests with the
refreshed panel and, without JavaScript, redirect back to the card or render a plain page.

The webhook (``POST /sales/webhooks/payments/``) has no session and no CSRF token; it is
authenticated by ``X-CRM-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` keyed with
``settings.CRM_PAYMENT_WEBHOOK_SECRET`` or, for providers that cannot sign (YooKassa), by
``?token=<the same secret>``; both are compared in constant time. A signature header, when
present, must be right even if a token is also given.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.accounts.http import SignedInRequest
from crm.core import errors
from crm.core.forms import domain_errors, form_post
from crm.core.http import client_address
from crm.sales import selectors_money as selectors
from crm.sales.forms_money import PaymentForm, PaymentReceiveForm
from crm.sales.models import Deal, Payment
from crm.sales.services import payments as services
from crm.sales.services.deals import deal_get, deal_get_writable
from crm.sales.services.payment_providers import errors_in_provider_terms, notification_parse
from crm.sales.views.panels import DealRowsPanel
from crm.sales.views.products import deal_card_url, money_changed_header

security_log = logging.getLogger("crm.security")

WEBHOOK_BODY_MAX = 64 * 1024
SIGNATURE_HEADER = "X-CRM-Signature"
SIGNATURE_PREFIX = "sha256="


# --- the payments panel -----------------------------------------------------------------------


def render_payments(
    request: SignedInRequest,
    deal: Deal,
    *,
    status: int = 200,
    payment_form: PaymentForm | None = None,
    edit_form: PaymentForm | None = None,
    editing_payment_id: int | None = None,
    receive_form: PaymentReceiveForm | None = None,
    receiving_payment_id: int | None = None,
) -> HttpResponse:
    """The payments panel (HTMX) or a plain page with it."""
    context = {
        "deal": deal,
        "money": selectors.deal_money(deal, user=request.user),
        "payment_form": payment_form,
        "payment_edit_form": edit_form,
        "editing_payment_id": editing_payment_id,
        "receive_form": receive_form,
        "receiving_payment_id": receiving_payment_id,
        "card_url": deal_card_url(deal),
    }
    if not request.htmx:
        return render(request, "sales/products/deal_payments_page.html", context, status=status)
    return HttpResponse(
        render_to_string("sales/_payments_panel.html", context, request=request), status=status
    )


def _after_change(request: SignedInRequest, deal: Deal) -> HttpResponse:
    if not request.htmx:
        return redirect(deal_card_url(deal))
    return money_changed_header(render_payments(request, deal), deal)


def _payment_initial(payment: Payment) -> dict[str, Any]:
    return {
        "kind": payment.kind,
        "amount": payment.amount,
        "due_date": payment.due_date.isoformat() if payment.due_date else "",
        "paid_on": payment.paid_on.isoformat() if payment.paid_on else "",
        "method": payment.method,
        "comment": payment.comment,
    }


def _id(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 19 else None


@login_required
@require_GET
@domain_errors
def deal_payments(request: SignedInRequest, deal_pk: int) -> HttpResponse:
    """The payments panel; ``?edit=<payment>`` and ``?receive=<payment>`` open a payment's
    edit or "mark received" form."""
    deal = deal_get(actor=request.user, pk=deal_pk)
    editing = _id(request.GET.get("edit", ""))
    receiving = _id(request.GET.get("receive", ""))
    edit_form = receive_form = None
    if editing is not None:
        payment = selectors.deal_payment_get(deal=deal, pk=editing)
        edit_form = PAYMENTS.edit_form(payment)
    if receiving is not None:
        selectors.deal_payment_get(deal=deal, pk=receiving)
        receive_form = PaymentReceiveForm()
    return render_payments(
        request,
        deal,
        edit_form=edit_form,
        editing_payment_id=editing,
        receive_form=receive_form,
        receiving_payment_id=receiving,
    )


def _payment_edit_form(payment: Payment, data: Any) -> PaymentForm:
    """A posted edit keeps the payment's status unless it is sent."""
    form = PaymentForm(data, initial={"status": payment.status})
    form.fields["status"].required = False
    return form


PAYMENTS: DealRowsPanel[Payment, PaymentForm] = DealRowsPanel(
    render=render_payments,
    after_change=_after_change,
    get_row=lambda deal, pk: selectors.deal_payment_get(deal=deal, pk=pk),
    form_class=PaymentForm,
    initial=_payment_initial,
    add=services.payment_add,
    update=services.payment_update,
    row_name="payment",
    add_form_name="payment_form",
    editing_name="editing_payment_id",
    bound_edit_form=_payment_edit_form,
)


@login_required
@require_POST
@domain_errors
def deal_payment_add(request: SignedInRequest, deal_pk: int) -> HttpResponse:
    return PAYMENTS.add_view(request, deal_pk)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def deal_payment_edit(request: SignedInRequest, deal_pk: int, pk: int) -> HttpResponse:
    """GET opens the payment for editing in the panel; POST saves it."""
    return PAYMENTS.edit_view(request, deal_pk, pk)


@login_required
@require_POST
@domain_errors
def deal_payment_receive(request: SignedInRequest, deal_pk: int, pk: int) -> HttpResponse:
    """Mark an expected payment received (on ``paid_on``, today when empty)."""
    deal = deal_get_writable(actor=request.user, pk=deal_pk)
    payment = selectors.deal_payment_get(deal=deal, pk=pk)
    form = PaymentReceiveForm(request.POST)
    return form_post(
        form,
        lambda: services.payment_mark_received(
            actor=request.user, payment=payment, **form.service_arguments()
        ),
        success=lambda received: _after_change(request, received.deal),
        failure=lambda: render_payments(
            request, deal, status=422, receive_form=form, receiving_payment_id=payment.pk
        ),
    )


@login_required
@require_POST
@domain_errors
def deal_payment_cancel(request: SignedInRequest, deal_pk: int, pk: int) -> HttpResponse:
    deal = deal_get_writable(actor=request.user, pk=deal_pk)
    payment = selectors.deal_payment_get(deal=deal, pk=pk)
    payment = services.payment_cancel(actor=request.user, payment=payment)
    return _after_change(request, payment.deal)


# --- the webhook ------------------------------------------------------------------------------


def _answer(
    status: int, detail: str, field_errors: dict[str, list[str]] | None = None
) -> JsonResponse:
    return JsonResponse({"detail": detail, "errors": field_errors or {}}, status=status)


def _signature_valid(given: str, body: bytes, secret: str) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    value = given.strip()
    if value.lower().startswith(SIGNATURE_PREFIX):
        value = value[len(SIGNATURE_PREFIX) :]
    return hmac.compare_digest(expected.encode(), value.lower().encode("utf-8", "replace"))


def _authenticated(request: HttpRequest, body: bytes, secret: str) -> bool:
    signature = request.headers.get(SIGNATURE_HEADER)
    if signature is not None:
        return _signature_valid(signature, body, secret)
    token = request.GET.get("token")
    if token:
        return hmac.compare_digest(secret.encode(), token.encode("utf-8", "replace"))
    return False


def _reject_constant(name: str) -> Decimal:
    """JSON's NaN and Infinity become a Decimal the service refuses as "not a number"."""
    return Decimal("NaN")


@csrf_exempt
@require_POST
def payment_webhook(request: HttpRequest) -> JsonResponse:
    """Record a payment a provider reports; see the module docstring for authentication.

    Answers: 200 ``{"payment_id", "status", "changed"}`` (a retry answers the same payment
    with ``changed: false``), 200 ``{"ignored": true}`` for events that record nothing,
    400 malformed JSON, 401 bad or missing signature, 404 unknown deal, 409 the payment id
    is recorded on another deal, 413 a body over 64 KB, 422 a bad or missing field
    (``errors`` names it), 503 when no secret is configured.
    """
    secret = settings.CRM_PAYMENT_WEBHOOK_SECRET
    if not secret:
        return _answer(503, _("The payment webhook is not configured."))
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > WEBHOOK_BODY_MAX:
        return _answer(413, _("The body is too large."))
    body = request.body
    if len(body) > WEBHOOK_BODY_MAX:
        return _answer(413, _("The body is too large."))
    if not _authenticated(request, body, secret):
        security_log.warning(
            "payment_webhook_unauthenticated address=%s", client_address(request) or ""
        )
        return _answer(401, _("Bad or missing signature."))
    try:
        text = body.decode("utf-8")
        payload = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _answer(400, _("The body is not valid JSON."))
    notification = None
    try:
        notification = notification_parse(payload)
        if notification is None:
            return JsonResponse({"ignored": True})
        result = services.payment_record_from_provider(notification=notification, raw_body=text)
    except errors.DomainError as error:
        return _answer(
            error.status_code,
            error.message or str(error),
            errors_in_provider_terms(notification, error.field_errors),
        )
    return JsonResponse(
        {
            "payment_id": result.payment.pk,
            "status": result.payment.status,
            "changed": result.changed,
        }
    )


urlpatterns: list[URLPattern] = [
    path("deals/<int:deal_pk>/payments/", deal_payments, name="deal_payments"),
    path("deals/<int:deal_pk>/payments/add/", deal_payment_add, name="deal_payment_add"),
    path(
        "deals/<int:deal_pk>/payments/<int:pk>/edit/", deal_payment_edit, name="deal_payment_edit"
    ),
    path(
        "deals/<int:deal_pk>/payments/<int:pk>/receive/",
        deal_payment_receive,
        name="deal_payment_receive",
    ),
    path(
        "deals/<int:deal_pk>/payments/<int:pk>/cancel/",
        deal_payment_cancel,
        name="deal_payment_cancel",
    ),
    path("webhooks/payments/", payment_webhook, name="payment_webhook"),
]
