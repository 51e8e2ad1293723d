"""Line items of a deal: the arithmetic (pure functions) and adding, changing, removing and
reordering lines.

Prices include VAT. A line's ``total`` is quantity × price less the discount, rounded half
up to kopecks; its ``vat_amount`` is the VAT inside that total, total × rate / (100 + rate),
rounded the same way. When the deal's ``amount_from_lines`` is set, every change sets
``deal.amount`` to the sum of the totals in the same transaction, with the deal's row
locked so two people editing lines at once cannot lose each other's total.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Sum
from django.utils.translation import gettext as _

from crm.activities.services import timeline_record_changes
from crm.core.errors import NotFound, ValidationFailed
from crm.core.permissions import ScopedUser
from crm.customers.services.cleaning import Errors, clean_choice, clean_text
from crm.sales.choices import Unit, VatRate
from crm.sales.models import ZERO, Deal, DealLine, Product
from crm.sales.services.deals import deal_check_writable, deal_get, deal_touch
from crm.sales.services.decimals import MAX_AMOUNT, clean_decimal

NAME_MAX = 200
QUANTITY_MAX = Decimal("99999999999.999")  # the column: 14 digits, 3 after the point
HUNDRED = Decimal(100)
CENT = Decimal("0.01")
LINES_MAX = 500
POSITION_MAX = 32767  # the column's limit; equal positions fall back to the id order


def money_round(value: Decimal) -> Decimal:
    """Round to kopecks, half up (as invoices and cash registers do)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_display(value: Decimal | None, currency: str = "") -> str:
    """``1 234.50 RUB``: money as text stored on timeline entries."""
    if value is None:
        return ""
    text = f"{value:,.2f}".replace(",", "\u00a0")
    return f"{text} {currency}".strip()


def clean_positive(errors: Errors, name: str, value: Any, **bounds: Any) -> Decimal | None:
    """``clean_decimal`` (required) that also refuses zero."""
    number = clean_decimal(errors, name, value, required=True, **bounds)
    if number is not None and number <= 0:
        errors.add(name, _("Must be greater than zero."))
        return None
    return number


def deal_lock_writable(*, actor: ScopedUser, pk: Any) -> Deal:
    """The deal ``pk``, its row locked until the transaction ends, if ``actor`` may change
    it: ``NotFound`` when they may not see it, ``PermissionDenied`` when they may not
    change it. Precondition: inside ``transaction.atomic``."""
    deal = deal_get(actor=actor, pk=pk, for_update=True)
    deal_check_writable(actor=actor, deal=deal)
    return deal


def deal_mark_active(deal: Deal) -> None:
    """Note activity on the (locked) deal and keep the instance in step."""
    deal_touch(deal=deal)
    deal.refresh_from_db(fields=["last_activity_at", "stale_notified_at", "stale_escalated_at"])


# --- arithmetic -------------------------------------------------------------------------------


def line_total(*, quantity: Decimal, price: Decimal, discount_percent: Decimal = ZERO) -> Decimal:
    """quantity × price × (1 − discount / 100), rounded half up to kopecks.

    Computed with enough precision that the only rounding is the final one.
    """
    with localcontext() as context:
        context.prec = 60
        exact = quantity * price * (HUNDRED - discount_percent) / HUNDRED
    return money_round(exact)


def line_vat_amount(*, total: Decimal, vat_rate: str) -> Decimal:
    """The VAT included in ``total`` at ``vat_rate`` (a ``VatRate`` value): total × rate /
    (100 + rate), rounded half up; zero for "no VAT" and 0%."""
    rate = VatRate.percent(vat_rate)
    if rate == 0:
        return ZERO
    with localcontext() as context:
        context.prec = 60
        exact = total * rate / (HUNDRED + rate)
    return money_round(exact)


def deal_amount_from_lines(deal: Deal) -> Decimal:
    """The sum of the deal's line totals (0.00 without lines)."""
    total = DealLine.objects.filter(deal_id=deal.pk).aggregate(total=Sum("total"))["total"]
    return money_round(total) if total is not None else ZERO


@transaction.atomic
def deal_recalculate_amount(*, deal: Deal) -> Deal:
    """Set ``deal.amount`` to the sum of its lines when its amount follows the lines (as
    stored); returns the deal as now stored. Writes no timeline entry: the caller that
    changed the lines or switched ``amount_from_lines`` on records its own change.

    Raises ``ValidationFailed`` (``total``) when the sum does not fit the amount column.
    """
    locked = Deal.objects.select_for_update().get(pk=deal.pk)
    _apply_amount(locked, [])
    return locked


def _apply_amount(deal: Deal, changes: list[dict[str, Any]]) -> None:
    """Recalculate the locked ``deal``'s amount (if it follows the lines), noting the change."""
    if not deal.amount_from_lines:
        return
    amount = deal_amount_from_lines(deal)
    if amount > MAX_AMOUNT:
        raise ValidationFailed(
            _("Please correct the marked fields."),
            field_errors={"total": [_("The deal's total would be too large.")]},
        )
    if amount != deal.amount:
        changes.append(
            {
                "field": "amount",
                "label": _("Amount"),
                "old": money_display(deal.amount, deal.currency),
                "new": money_display(amount, deal.currency),
            }
        )
        deal.amount = amount
        deal.save(update_fields=["amount", "updated_at"])


# --- validation -------------------------------------------------------------------------------


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Check a line's fields and compute its total and VAT; ``ValidationFailed`` names each
    bad field."""
    errors = Errors()
    name = clean_text(errors, "name", values.get("name"), max_length=NAME_MAX, required=True)
    quantity = clean_positive(
        errors, "quantity", values.get("quantity"), places=3, maximum=QUANTITY_MAX
    )
    price = clean_decimal(errors, "price", values.get("price"), required=True)
    discount = clean_decimal(
        errors, "discount_percent", values.get("discount_percent"), required=True, maximum=HUNDRED
    )
    unit = clean_choice(errors, "unit", values.get("unit"), Unit.values, required=True)
    vat_rate = clean_choice(
        errors, "vat_rate", values.get("vat_rate"), VatRate.values, required=True
    )
    total = ZERO
    if quantity is not None and price is not None and discount is not None:
        total = line_total(quantity=quantity, price=price, discount_percent=discount)
        if total > MAX_AMOUNT:
            errors.add("total", _("The line's total is too large."))
    errors.raise_if_any()
    return {
        "name": name,
        "quantity": quantity,
        "price": price,
        "discount_percent": discount,
        "unit": unit,
        "vat_rate": vat_rate,
        "total": total,
        "vat_amount": line_vat_amount(total=total, vat_rate=vat_rate),
    }


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def line_summary(line: DealLine, currency: str) -> str:
    """One line as text for the timeline: ``Name: 2 pcs × 100.00, −5% = 190.00 RUB``."""
    text = (
        f"{line.name}: {_number(line.quantity)} {line.get_unit_display()} × "
        f"{money_display(line.price)}"
    )
    if line.discount_percent:
        text += f", −{_number(line.discount_percent)}%"
    return f"{text} = {money_display(line.total, currency)}"


def _record(actor: ScopedUser, deal: Deal, changes: list[dict[str, Any]]) -> None:
    """Recalculate the amount, mark the deal active and put the changes on its timeline."""
    _apply_amount(deal, changes)
    deal_mark_active(deal)
    timeline_record_changes(subject=deal, author=actor, changes=changes)


# --- writes -----------------------------------------------------------------------------------


@transaction.atomic
def deal_line_add(
    *,
    actor: ScopedUser,
    deal: Deal,
    product: Product | int | str | None = None,  # an id may come as (malformed) text
    name: str | None = None,
    quantity: Any = 1,
    price: Any = None,
    discount_percent: Any = 0,
    vat_rate: str | None = None,
    unit: str | None = None,
) -> DealLine:
    """Add a line to ``deal``; returns it with ``line.deal`` holding the updated deal.

    A ``product`` (an instance or an id; archived ones are refused) fills the name, price,
    unit and VAT rate that are not given; its price is used only when it is in the deal's
    currency. Without a product, ``name`` and ``price`` are required. Refused input raises
    ``ValidationFailed`` naming each field and writes nothing. Side effects: the deal's
    amount (when it follows the lines), ``last_activity_at`` and a field-change entry.
    """
    deal = deal_lock_writable(actor=actor, pk=deal.pk)
    errors = Errors()
    chosen = _product(product, errors)
    values: dict[str, Any] = {
        "name": name,
        "quantity": quantity,
        "price": price,
        "discount_percent": discount_percent,
        "unit": unit or Unit.PIECE,
        "vat_rate": vat_rate or VatRate.TWENTY_TWO,
    }
    if chosen is not None:
        values["name"] = name if name not in (None, "") else chosen.name
        values["unit"] = unit or chosen.unit
        values["vat_rate"] = vat_rate or chosen.vat_rate
        if price in (None, ""):
            if chosen.currency == deal.currency:
                values["price"] = chosen.price
            else:
                errors.add(
                    "price",
                    _(
                        "The product is priced in %(product)s, the deal is in %(deal)s: enter the price."
                    )
                    % {"product": chosen.currency, "deal": deal.currency},
                )
    try:
        fields = _clean(values)
    except ValidationFailed as error:
        for field, messages in error.field_errors.items():
            if field not in errors.fields:
                for message in messages:
                    errors.add(field, message)
    errors.raise_if_any()
    stats = DealLine.objects.filter(deal=deal).aggregate(last=Max("position"), count=Count("id"))
    if stats["count"] >= LINES_MAX:
        errors.add("lines", _("A deal has at most %(n)d lines.") % {"n": LINES_MAX})
        errors.raise_if_any()
    position = 0 if stats["last"] is None else min(stats["last"] + 1, POSITION_MAX)
    line = DealLine.objects.create(deal=deal, product=chosen, position=position, **fields)
    changes = [
        {
            "field": "lines",
            "label": _("Products"),
            "old": "",
            "new": line_summary(line, deal.currency),
        }
    ]
    _record(actor, deal, changes)
    line.deal = deal
    return line


def _product(product: Product | int | str | None, errors: Errors) -> Product | None:
    if product in (None, ""):
        return None
    pk = product.pk if isinstance(product, Product) else product
    found = None
    if isinstance(pk, int) and not isinstance(pk, bool) and 0 < pk < 2**63:
        found = Product.objects.filter(pk=pk, archived=False).first()
    if found is None:
        errors.add("product", _("No such product in the catalogue."))
    return found


@transaction.atomic
def deal_line_update(
    *,
    actor: ScopedUser,
    line: DealLine,
    name: str | None = None,
    quantity: Any = None,
    price: Any = None,
    discount_percent: Any = None,
    vat_rate: str | None = None,
    unit: str | None = None,
) -> DealLine:
    """Change the given fields of a line (``None`` keeps a field); returns the line with
    ``line.deal`` holding the updated deal. Same rules and side effects as
    ``deal_line_add``; a call that changes nothing writes nothing."""
    deal = deal_lock_writable(actor=actor, pk=line.deal_id)
    current = DealLine.objects.filter(pk=line.pk, deal=deal).first()
    if current is None:
        raise NotFound(_("Line not found."))
    given = {
        "name": name,
        "quantity": quantity,
        "price": price,
        "discount_percent": discount_percent,
        "vat_rate": vat_rate,
        "unit": unit,
    }
    values = {
        field: getattr(current, field) if value is None else value for field, value in given.items()
    }
    fields = _clean(values)
    before = line_summary(current, deal.currency)
    changed = [field for field, value in fields.items() if getattr(current, field) != value]
    if changed:
        for field in changed:
            setattr(current, field, fields[field])
        current.save(update_fields=changed)
        after = line_summary(current, deal.currency)
        changes = [{"field": "lines", "label": _("Products"), "old": before, "new": after}]
        _record(actor, deal, changes)
    current.deal = deal
    return current


@transaction.atomic
def deal_line_remove(*, actor: ScopedUser, line: DealLine) -> Deal:
    """Remove a line; returns the updated deal (amount, activity, a timeline entry)."""
    deal = deal_lock_writable(actor=actor, pk=line.deal_id)
    current = DealLine.objects.filter(pk=line.pk, deal=deal).first()
    if current is None:
        raise NotFound(_("Line not found."))
    summary = line_summary(current, deal.currency)
    current.delete()
    _record(actor, deal, [{"field": "lines", "label": _("Products"), "old": summary, "new": ""}])
    return deal


@transaction.atomic
def deal_lines_reorder(*, actor: ScopedUser, deal: Deal, line_ids: list[int]) -> list[DealLine]:
    """Put the deal's lines in the order of ``line_ids``, which must list each of them once.

    Order is presentation, not content: no timeline entry.
    """
    deal = deal_lock_writable(actor=actor, pk=deal.pk)
    lines = {line.pk: line for line in DealLine.objects.filter(deal=deal)}
    if sorted(line_ids) != sorted(lines) or len(set(line_ids)) != len(line_ids):
        raise ValidationFailed(
            _("Please correct the marked fields."),
            field_errors={"line_ids": [_("List every line of the deal once.")]},
        )
    ordered = [lines[pk] for pk in line_ids]
    for position, line in enumerate(ordered):
        line.position = position
    DealLine.objects.bulk_update(ordered, ["position"])
    return ordered


def deal_lines(deal: Deal) -> list[DealLine]:
    """The deal's lines in their order (for callers that already checked visibility)."""
    return list(DealLine.objects.filter(deal_id=deal.pk).order_by("position", "id"))
