"""Template helpers of the reports: money per currency in the active language's format and
durations in words."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from crm.sales.selectors_board import CURRENCY_SIGNS

register = template.Library()


def money_text(amount: Decimal | None, currency: str) -> str:
    """``1 234 567,89 ₽`` in Russian, ``1,234,567.89 ₽`` in English: kopecks always."""
    number = number_format(amount or Decimal(0), 2, use_l10n=True, force_grouping=True)
    return f"{number}\u00a0{CURRENCY_SIGNS.get(currency, currency)}"


@register.filter
def money_list(amounts: dict[str, Decimal] | None) -> list[str]:
    """Sums per currency, each formatted; never added across currencies."""
    return [money_text(amount, currency) for currency, amount in sorted((amounts or {}).items())]


@register.filter
def duration(seconds: Any) -> str:
    """A wait in the largest fitting units: ``2 d 3 h``, ``3 h 5 min``, ``12 min``."""
    if seconds is None or seconds == "":
        return "—"
    total = int(seconds.total_seconds() if hasattr(seconds, "total_seconds") else seconds)
    minutes, _seconds = divmod(max(total, 0), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


@register.filter
def percent(share: float | None) -> str:
    """A share as a whole percent in the active language (``—`` when undefined)."""
    if share is None:
        return "—"
    return f"{number_format(round(share * 100, 1), 1, use_l10n=True)}\u00a0%"


@register.filter
def index(items: Any, position: int) -> Any:
    """The item at ``position`` of a list (or key of a mapping), or None past its end."""
    try:
        return items[position]
    except (IndexError, KeyError, TypeError):
        return None


@register.filter
def progress(share: float | None) -> str:
    """A share done as the value of a ``<progress max="100">``: percent, at most 100, with
    a dot whatever the language."""
    if share is None:
        return "0"
    return f"{min(max(share * 100, 0.0), 100.0):.1f}"


@register.filter
def figure(amount: Decimal | None, currency: str) -> str:
    """A plan's figure: money in ``currency`` (see ``money_text``), a count without one;
    ``—`` when there is none."""
    if amount is None:
        return "—"
    if currency:
        return money_text(amount, currency)
    if amount == amount.to_integral_value():
        return str(number_format(amount, 0, use_l10n=True, force_grouping=True))
    rounded = amount.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return str(number_format(rounded, 1, use_l10n=True, force_grouping=True))
