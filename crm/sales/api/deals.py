"""Deals, their stage history, line items and payments. A deal the caller may not see,
and its lines and payments, answers 404; a change the caller may not make answers 403."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from crm.accounts.models import User
from crm.accounts.zones import user_zone
from crm.core.api import READ_ERRORS, WRITE_ERRORS, DatabaseId, request_user
from crm.core.errors import NotFound, ValidationFailed
from crm.core.pagination import keyset_page
from crm.sales import selectors, selectors_money
from crm.sales.api.schemas import (
    DealCreateIn,
    DealFieldsIn,
    DealListParams,
    DealOut,
    DealPageOut,
    LineIn,
    LineOut,
    LinesOut,
    LineUpdateIn,
    LoseIn,
    MoveIn,
    PaymentIn,
    PaymentOut,
    PaymentsOut,
    PaymentUpdateIn,
    ReceiveIn,
    SharedOut,
    ShareIn,
    StageVisitOut,
)
from crm.sales.models import Deal
from crm.sales.services import deals as deal_services
from crm.sales.services import lines as line_services
from crm.sales.services import payments as payment_services

deals_router = Router(tags=["Deals"])


# --- helpers ----------------------------------------------------------------------------------


def _deal_card(user: User, pk: int) -> Deal:
    """The deal with everything its card shows, or ``NotFound`` with a message (the
    selector raises it without one, which would answer an empty ``detail``)."""
    try:
        return selectors.deal_card(user=user, pk=pk)
    except NotFound as error:
        raise NotFound(error.message or _("Not found.")) from None


def _deal_out(actor: User, deal: Deal) -> Deal:
    """The deal as its card loads it; a stage action may just have handed it to someone the
    caller cannot see, and then the service's own instance is the answer."""
    try:
        return _deal_card(actor, deal.pk)
    except NotFound:
        return deal


def _prefixed(error: ValidationFailed, prefix: str, names: set[str]) -> ValidationFailed:
    """The same refusal with the fields the client sent inside ``prefix`` named as sent
    (``updates.amount``); the other fields (``stage_id``) keep their names."""
    fields = {
        (f"{prefix}.{name}" if name.split(".")[0].split("[")[0] in names else name): messages
        for name, messages in error.field_errors.items()
    }
    return ValidationFailed(error.message, field_errors=fields)


def _deal_changed(request: HttpRequest, deal_id: int, change: Any, **arguments: Any) -> Any:
    """The deal as the caller sees it after ``change`` (a deal service taking the actor,
    the deal's id and ``arguments``)."""
    actor = request_user(request)
    return _deal_out(actor, change(actor=actor, pk=deal_id, **arguments))


# --- deals ------------------------------------------------------------------------------------


def _deal_page(user: User, params: Any) -> Any:
    filters = selectors.DealFilters.from_params(
        params.filter_params(), zone=lambda: user_zone(user)
    )
    rows = (
        selectors.deal_queryset(user=user, filters=filters)
        .select_related(
            "pipeline", "stage", "owner", "created_by", "contact", "company", "lost_reason"
        )
        .prefetch_related("tags", "shared_with")
    )
    return keyset_page(rows, order=["-created_at", "-id"], cursor=params.cursor, limit=params.limit)


@deals_router.get("", response={200: DealPageOut, **READ_ERRORS}, summary="List deals")
def deal_list(request: HttpRequest, params: Query[DealListParams]) -> Any:
    """Deals the caller may see, newest first, one page after ``cursor``; the filters are
    those of the deal list page."""
    return _deal_page(request_user(request), params)


@deals_router.post("", response={201: DealOut, **WRITE_ERRORS}, summary="Create a deal")
def deal_create(request: HttpRequest, payload: DealCreateIn) -> Any:
    """Create a deal in the given pipeline and stage, or in the first stage of the pipeline
    for the client's type. The stage's required fields apply (422 names each missing one)."""
    actor = request_user(request)
    deal = deal_services.deal_create(actor=actor, data=payload.service_data())
    return Status(201, _deal_out(actor, deal))


@deals_router.get("/{deal_id}", response={200: DealOut, **READ_ERRORS}, summary="One deal")
def deal_detail(request: HttpRequest, deal_id: DatabaseId) -> Any:
    return _deal_card(request_user(request), deal_id)


@deals_router.patch("/{deal_id}", response={200: DealOut, **WRITE_ERRORS}, summary="Change a deal")
def deal_update(request: HttpRequest, deal_id: DatabaseId, payload: DealFieldsIn) -> Any:
    """Change the fields sent (``tags`` replaces the list). The stage changes only through
    ``/move``, ``/win``, ``/lose`` and ``/reopen``; the current stage's required fields keep
    holding (422)."""
    return _deal_changed(request, deal_id, deal_services.deal_update, data=payload.service_data())


@deals_router.post(
    "/{deal_id}/move", response={200: DealOut, **WRITE_ERRORS}, summary="Move a deal to a stage"
)
def deal_move(request: HttpRequest, deal_id: DatabaseId, payload: MoveIn) -> Any:
    """Move to another stage of the deal's pipeline, applying ``updates`` first in the same
    transaction. A stage whose required fields the deal lacks refuses the move (422 naming
    each field); a lost stage needs ``lost_reason_id``. A refused move changes nothing."""
    updates = payload.updates.service_data() if payload.updates is not None else None
    try:
        return _deal_changed(
            request,
            deal_id,
            deal_services.deal_move,
            stage_id=payload.stage_id,
            lost_reason_id=payload.lost_reason_id,
            lost_comment=payload.lost_comment,
            updates=updates,
        )
    except ValidationFailed as error:
        raise _prefixed(error, "updates", set(updates or {})) from None


@deals_router.post(
    "/{deal_id}/win", response={200: DealOut, **WRITE_ERRORS}, summary="Mark a deal won"
)
def deal_win(request: HttpRequest, deal_id: DatabaseId) -> Any:
    """Move to the pipeline's won stage (its required fields apply)."""
    return _deal_changed(request, deal_id, deal_services.deal_win)


@deals_router.post(
    "/{deal_id}/lose", response={200: DealOut, **WRITE_ERRORS}, summary="Mark a deal lost"
)
def deal_lose(request: HttpRequest, deal_id: DatabaseId, payload: LoseIn) -> Any:
    """Move to the pipeline's lost stage; ``lost_reason_id`` is required while reasons
    exist (``GET /lost-reasons``)."""
    return _deal_changed(
        request,
        deal_id,
        deal_services.deal_lose,
        lost_reason_id=payload.lost_reason_id,
        lost_comment=payload.lost_comment,
    )


@deals_router.post(
    "/{deal_id}/reopen", response={200: DealOut, **WRITE_ERRORS}, summary="Reopen a closed deal"
)
def deal_reopen(request: HttpRequest, deal_id: DatabaseId) -> Any:
    """Back to the last open stage the deal was in (or the pipeline's first)."""
    return _deal_changed(request, deal_id, deal_services.deal_reopen)


@deals_router.post(
    "/{deal_id}/share",
    response={200: SharedOut, **WRITE_ERRORS},
    summary="Set who else sees a deal",
)
def deal_share(request: HttpRequest, deal_id: DatabaseId, payload: ShareIn) -> Any:
    actor = request_user(request)
    deal = deal_services.deal_share(actor=actor, pk=deal_id, user_ids=payload.user_ids)
    return {"shared_with": list(deal.shared_with.all())}


@deals_router.get(
    "/{deal_id}/history",
    response={200: list[StageVisitOut], **READ_ERRORS},
    summary="The stages a deal went through",
)
def deal_history(request: HttpRequest, deal_id: DatabaseId) -> Any:
    """Each stay in a stage, oldest first: when the deal entered and left it, and who moved
    it there."""
    return list(_deal_card(request_user(request), deal_id).visits.all())


# --- line items -------------------------------------------------------------------------------


@deals_router.get(
    "/{deal_id}/lines", response={200: LinesOut, **READ_ERRORS}, summary="A deal's line items"
)
def line_list(request: HttpRequest, deal_id: DatabaseId) -> Any:
    """The lines in order with the total and the VAT by rate (prices include VAT)."""
    user = request_user(request)
    deal = deal_services.deal_get(actor=user, pk=deal_id)
    money = selectors_money.deal_money(deal, user=user)
    return {
        "currency": money.currency,
        "items": money.lines,
        "lines_total": money.lines_total,
        "vat_total": money.vat_total,
        "vat_groups": money.vat_groups,
    }


@deals_router.post(
    "/{deal_id}/lines", response={201: LineOut, **WRITE_ERRORS}, summary="Add a line item"
)
def line_create(request: HttpRequest, deal_id: DatabaseId, payload: LineIn) -> Any:
    """Without ``product_id``, ``name`` and ``price`` are required. When the deal's amount
    follows the lines, it is recalculated in the same transaction."""
    actor = request_user(request)
    deal = deal_services.deal_get(actor=actor, pk=deal_id)
    values = payload.model_dump(exclude_unset=True)
    if "product_id" in values:
        values["product"] = values.pop("product_id")
    return Status(201, line_services.deal_line_add(actor=actor, deal=deal, **values))


@deals_router.patch(
    "/{deal_id}/lines/{line_id}",
    response={200: LineOut, **WRITE_ERRORS},
    summary="Change a line item",
)
def line_update(
    request: HttpRequest, deal_id: DatabaseId, line_id: DatabaseId, payload: LineUpdateIn
) -> Any:
    """Change the fields sent (``null`` keeps a field)."""
    actor = request_user(request)
    deal = deal_services.deal_get(actor=actor, pk=deal_id)
    line = selectors_money.deal_line_get(deal=deal, pk=line_id)
    return line_services.deal_line_update(
        actor=actor, line=line, **payload.model_dump(exclude_unset=True)
    )


@deals_router.delete(
    "/{deal_id}/lines/{line_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove a line item",
)
def line_delete(request: HttpRequest, deal_id: DatabaseId, line_id: DatabaseId) -> Any:
    actor = request_user(request)
    deal = deal_services.deal_get(actor=actor, pk=deal_id)
    line = selectors_money.deal_line_get(deal=deal, pk=line_id)
    line_services.deal_line_remove(actor=actor, line=line)
    return Status(204, None)


# --- payments ---------------------------------------------------------------------------------


@deals_router.get(
    "/{deal_id}/payments",
    response={200: PaymentsOut, **READ_ERRORS},
    summary="A deal's payments and what they add up to",
)
def payment_list(request: HttpRequest, deal_id: DatabaseId) -> Any:
    user = request_user(request)
    deal = deal_services.deal_get(actor=user, pk=deal_id)
    money = selectors_money.deal_money(deal, user=user)
    return {"currency": money.currency, "items": money.payments, "state": money.state}


@deals_router.post(
    "/{deal_id}/payments",
    response={201: PaymentOut, **WRITE_ERRORS},
    summary="Add an expected or a received payment",
)
def payment_create(request: HttpRequest, deal_id: DatabaseId, payload: PaymentIn) -> Any:
    """``kind`` and ``amount`` (> 0) are required; a received payment is dated ``paid_on``
    (default today, never in the future)."""
    actor = request_user(request)
    deal = deal_services.deal_get(actor=actor, pk=deal_id)
    # The service takes ``kind`` and ``amount`` always; the others keep its defaults when
    # not sent.
    values = {"kind": None, "amount": None, **payload.model_dump(exclude_unset=True)}
    return Status(201, payment_services.payment_add(actor=actor, deal=deal, **values))


def _payment(request: HttpRequest, deal_id: int, payment_id: int) -> tuple[Any, Any]:
    actor = request_user(request)
    deal = deal_services.deal_get(actor=actor, pk=deal_id)
    return actor, selectors_money.deal_payment_get(deal=deal, pk=payment_id)


@deals_router.patch(
    "/{deal_id}/payments/{payment_id}",
    response={200: PaymentOut, **WRITE_ERRORS},
    summary="Change a payment",
)
def payment_update(
    request: HttpRequest, deal_id: DatabaseId, payment_id: DatabaseId, payload: PaymentUpdateIn
) -> Any:
    """Change the fields sent (``null`` keeps a field, except ``due_date``, which it
    clears). The status changes through ``/receive`` and ``/cancel``."""
    actor, payment = _payment(request, deal_id, payment_id)
    return payment_services.payment_update(
        actor=actor, payment=payment, **payload.model_dump(exclude_unset=True)
    )


@deals_router.post(
    "/{deal_id}/payments/{payment_id}/receive",
    response={200: PaymentOut, **WRITE_ERRORS},
    summary="Mark a payment received",
)
def payment_receive(
    request: HttpRequest, deal_id: DatabaseId, payment_id: DatabaseId, payload: ReceiveIn
) -> Any:
    actor, payment = _payment(request, deal_id, payment_id)
    return payment_services.payment_mark_received(
        actor=actor, payment=payment, paid_on=payload.paid_on, method=payload.method
    )


@deals_router.post(
    "/{deal_id}/payments/{payment_id}/cancel",
    response={200: PaymentOut, **WRITE_ERRORS},
    summary="Cancel a payment",
)
def payment_cancel(request: HttpRequest, deal_id: DatabaseId, payment_id: DatabaseId) -> Any:
    """A cancelled payment is kept for the record and counted nowhere."""
    actor, payment = _payment(request, deal_id, payment_id)
    return payment_services.payment_cancel(actor=actor, payment=payment)
