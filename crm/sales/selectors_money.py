"""Reads for the product catalogue and the money panels of a deal card (line items and
payments).

``deal_money`` loads everything the two panels show in two queries (lines, payments) and
computes the VAT groups and the payment state in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from crm.core.errors import NotFound
from crm.core.pagination import Page, keyset_page
from crm.core.permissions import ScopedUser
from crm.sales.choices import PaymentKind, PaymentMethod, Unit, VatRate
from crm.sales.models import ZERO, Deal, DealLine, Payment, Product
from crm.sales.permissions import DEAL
from crm.sales.services.payments import PaymentState, payment_state_compute
from crm.sales.services.products import product_can_edit

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

QUERY_MAX = 100


# --- the catalogue ----------------------------------------------------------------------------


def _text_filter(query: str) -> Q:
    """Name or SKU containing ``query``, ignoring case.

    SQLite folds only ASCII letters in ``LIKE``, so the usual spellings of a Cyrillic
    fragment (as typed, lower case, capitalised, upper case) are tried as well; PostgreSQL
    folds every alphabet and the extra terms cost nothing there.
    """
    variants = {query, query.lower(), query.upper(), query.capitalize(), query.title()}
    condition = Q()
    for variant in variants:
        condition |= Q(name__icontains=variant) | Q(sku__icontains=variant)
    return condition


def _products(query: str, *, archived: bool) -> QuerySet[Product]:
    products = Product.objects.filter(archived=archived)
    query = " ".join(query.split())[:QUERY_MAX]
    if query:
        products = products.filter(_text_filter(query))
    return products


def product_page(
    *,
    user: ScopedUser,
    query: str = "",
    archived: bool = False,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Product]:
    """A page of the catalogue by name, optionally narrowed by a fragment of the name or
    SKU; ``archived`` lists the archived products instead (editors only; others get the
    live ones). ``ValidationFailed`` on a forged cursor."""
    archived = archived and product_can_edit(user)
    return keyset_page(
        _products(query, archived=archived), order=["name", "id"], cursor=cursor, limit=limit
    )


def product_suggestions(*, user: ScopedUser, query: str, limit: int = 10) -> list[Product]:
    """Live products matching ``query`` for the picker of a deal's lines (empty query:
    the first by name)."""
    return list(_products(query, archived=False).order_by("name", "id")[:limit])


def product_get(*, user: ScopedUser, pk: int) -> Product:
    """One product (every signed-in user reads the catalogue); ``NotFound`` if missing."""
    product = Product.objects.filter(pk=pk).first()
    if product is None:
        raise NotFound(_("Product not found."))
    return product


# --- a deal's money ---------------------------------------------------------------------------


def deal_line_get(*, deal: Deal, pk: int) -> DealLine:
    """Line ``pk`` of ``deal`` (already checked visible); ``NotFound`` otherwise."""
    line = DealLine.objects.filter(pk=pk, deal_id=deal.pk).first()
    if line is None:
        raise NotFound(_("Line not found."))
    return line


def deal_payment_get(*, deal: Deal, pk: int) -> Payment:
    """Payment ``pk`` of ``deal`` (already checked visible); ``NotFound`` otherwise."""
    payment = Payment.objects.filter(pk=pk, deal_id=deal.pk).first()
    if payment is None:
        raise NotFound(_("Payment not found."))
    return payment


@dataclass(frozen=True)
class VatGroup:
    """Lines of one VAT rate: their total (VAT included) and the VAT in it."""

    rate: str
    label: str
    total: Decimal
    vat: Decimal


@dataclass(frozen=True)
class DealMoney:
    """What the lines and payments panels of a deal card show."""

    deal: Deal
    lines: list[DealLine]
    vat_groups: list[VatGroup]
    lines_total: Decimal
    vat_total: Decimal
    payments: list[Payment]
    state: PaymentState
    can_change: bool

    @property
    def currency(self) -> str:
        return self.deal.currency

    @property
    def amount_differs(self) -> bool:
        """The typed-in amount is not the lines' total (worth a hint on the card)."""
        return bool(
            self.lines
            and not self.deal.amount_from_lines
            and (self.deal.amount or ZERO) != self.lines_total
        )

    @property
    def has_vat(self) -> bool:
        return any(group.vat for group in self.vat_groups)

    # Choice lists for the panels' selects (the panels render their inputs by hand, so the
    # card needs no form objects to include them).
    @property
    def units(self) -> list[tuple[str, StrOrPromise]]:
        return list(Unit.choices)

    @property
    def vat_rates(self) -> list[tuple[str, StrOrPromise]]:
        return list(VatRate.choices)

    @property
    def payment_kinds(self) -> list[tuple[str, StrOrPromise]]:
        return list(PaymentKind.choices)

    @property
    def payment_methods(self) -> list[tuple[str, StrOrPromise]]:
        return list(PaymentMethod.choices)


def _vat_groups(lines: list[DealLine]) -> list[VatGroup]:
    totals: dict[str, list[Decimal]] = {}
    for line in lines:
        group = totals.setdefault(line.vat_rate, [ZERO, ZERO])
        group[0] += line.total
        group[1] += line.vat_amount
    labels = dict(VatRate.choices)
    order = {value: index for index, value in enumerate(VatRate.values)}
    return [
        VatGroup(
            rate,
            str(labels[VatRate.NONE])
            if rate == VatRate.NONE
            else _("VAT %(rate)s") % {"rate": labels.get(rate, rate)},
            total,
            vat,
        )
        for rate, (total, vat) in sorted(totals.items(), key=lambda item: order.get(item[0], 99))
    ]


def deal_money(deal: Deal, user: ScopedUser | None = None) -> DealMoney:
    """The lines, totals by VAT rate, payments and payment state of ``deal`` for ``user``
    (who may see it: the caller loaded it through ``visible_to``). Two queries.

    ``can_change`` (the panels' edit controls) needs ``user``; without one the panels are
    read-only."""
    lines = list(DealLine.objects.filter(deal_id=deal.pk).order_by("position", "id"))
    payments = list(
        Payment.objects.filter(deal_id=deal.pk).order_by(F("due_date").asc(nulls_last=True), "id")
    )
    items: list[DealLine | Payment] = [*lines, *payments]
    for item in items:
        item.deal = deal  # templates may follow the relation without a query
    state = payment_state_compute(
        amount=deal.amount, payments=[(p.kind, p.status, p.amount) for p in payments]
    )
    groups = _vat_groups(lines)
    return DealMoney(
        deal=deal,
        lines=lines,
        vat_groups=groups,
        lines_total=sum((line.total for line in lines), ZERO),
        vat_total=sum((group.vat for group in groups), ZERO),
        payments=payments,
        state=state,
        can_change=bool(user is not None and DEAL.may_change(user, deal)),
    )


def product_as_dict(product: Product) -> dict[str, Any]:
    """A product for the picker's JSON answer."""
    return {
        "id": product.pk,
        "name": product.name,
        "sku": product.sku,
        "price": str(product.price),
        "currency": product.currency,
        "unit": product.unit,
        "vat_rate": product.vat_rate,
    }
