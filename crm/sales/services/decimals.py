"""Parsing money and quantities from forms, JSON and webhooks into ``Decimal``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from crm.customers.services.cleaning import Errors

MAX_AMOUNT = Decimal("99999999999999.99")


def clean_decimal(
    errors: Errors,
    name: str,
    value: Any,
    *,
    places: int = 2,
    minimum: Decimal | None = Decimal(0),
    maximum: Decimal = MAX_AMOUNT,
    required: bool = False,
) -> Decimal | None:
    """A finite decimal with at most ``places`` decimals within bounds, else an error.

    Accepts numbers and strings with a decimal comma or point and spaces between thousands
    ("1 234,50"); refuses booleans, NaN, infinities and exponents beyond the bounds.
    """
    if value is None or value == "":
        if required:
            errors.add(name, _("This field is required."))
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        errors.add(name, _("Enter a number."))
        return None
    text = str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if len(text) > 40:
        errors.add(name, _("Enter a number."))
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        errors.add(name, _("Enter a number."))
        return None
    if not number.is_finite():
        errors.add(name, _("Enter a number."))
        return None
    if minimum is not None and number < minimum:
        errors.add(name, _("Must not be less than %(min)s.") % {"min": minimum})
        return None
    if number > maximum:
        errors.add(name, _("Must not exceed %(max)s.") % {"max": maximum})
        return None
    exponent = number.as_tuple().exponent  # an int: the number is finite
    if not isinstance(exponent, int) or -exponent > places:
        errors.add(name, _("At most %(n)d digits after the point.") % {"n": places})
        return None
    return number.quantize(Decimal(1).scaleb(-places))
