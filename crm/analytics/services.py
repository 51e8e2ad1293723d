"""Writes of the analytics app's own configuration: plans and bonus rules.

Both are versioned by month (see ``crm.analytics.models``): a write names the month from
which the values hold, which may be the viewer's current month or a later one — never a
month already begun before it, so a closed month keeps the version that applied to it.
Setting the same target again for the same month replaces that month's version."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from crm.accounts.models import Team, User
from crm.analytics.metrics import METRICS
from crm.analytics.models import BonusRule, Plan
from crm.analytics.periods import user_time_zone
from crm.analytics.permissions import PLANS
from crm.analytics.selectors import dashboard as dashboard_selectors
from crm.core.errors import ValidationFailed
from crm.core.permissions import Role
from crm.sales.choices import Currency

MAX_AMOUNT = Decimal("99999999999999")


def current_month(viewer: User) -> dt.date:
    """The first day of the viewer's current month, in their time zone."""
    today = dashboard_selectors.clock().astimezone(user_time_zone(viewer)).date()
    return today.replace(day=1)


def month_parse(value: Any, name: str = "month") -> dt.date:
    """``YYYY-MM`` (or a date, taken as its month) as the first day of the month; raises
    ``ValidationFailed`` naming ``name``."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    raw = str(value or "").strip()
    try:
        year, month = raw.split("-")[:2] if raw.count("-") in (1, 2) else ("", "")
        return dt.date(int(year), int(month), 1)
    except ValueError:
        raise ValidationFailed(field_errors={name: [_("Enter a month as YYYY-MM.")]}) from None


def _amount(value: Any, name: str, errors: dict[str, list[str]], *, top: Decimal) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        errors[name] = [_("Enter a number.")]
        return Decimal(0)
    if not amount.is_finite() or amount < 0 or amount > top:
        errors[name] = [_("Enter a number from 0 to %(top)s.") % {"top": top}]
        return Decimal(0)
    return amount.quantize(Decimal("0.01"))


def _open_month(actor: User, month: dt.date, errors: dict[str, list[str]]) -> None:
    if month < current_month(actor):
        errors["month"] = [_("A month already begun keeps its plan; choose this month or later.")]


def _currency(value: Any, errors: dict[str, list[str]], *, required: bool) -> str:
    currency = str(value or "").strip().upper()
    if not currency and not required:
        return ""
    if currency not in Currency.values:
        errors["currency"] = [_("Choose a currency.")]
    return currency


@transaction.atomic
def plan_set(
    *,
    actor: User,
    metric: str,
    month: dt.date,
    target: Any,
    manager: User | None = None,
    team: Team | None = None,
    currency: str = "",
) -> Plan:
    """Sets the monthly target of ``metric`` for ``manager`` or ``team`` (exactly one) from
    ``month`` on: a new version, or the replaced version of that same month.

    Raises ``ValidationFailed`` naming the field (unknown metric, a money metric without a
    currency or a count with one, a negative or huge target, a month already begun, neither
    or both of manager and team) and ``PermissionDenied`` when ``actor`` may not set plans
    for that manager or team (``PLANS``).
    """
    errors: dict[str, list[str]] = {}
    definition = METRICS.get(metric)
    if definition is None:
        errors["metric"] = [_("Unknown metric.")]
    if (manager is None) == (team is None):
        errors["manager"] = [_("Choose either a manager or a team.")]
    elif manager is not None and manager.role not in (Role.MANAGER, Role.HEAD):
        errors["manager"] = [_("Plans are set for managers and heads of sales.")]
    money = definition is not None and definition.money
    chosen = _currency(currency, errors, required=money)
    if chosen and definition is not None and not money:
        errors["currency"] = [_("This metric is a count; leave the currency empty.")]
    amount = _amount(target, "target", errors, top=MAX_AMOUNT)
    _open_month(actor, month, errors)
    if errors:
        raise ValidationFailed(field_errors=errors)
    PLANS.check(actor, "change", manager or team)
    plan, _created = Plan.objects.update_or_create(
        metric=metric,
        manager=manager,
        team=team,
        currency=chosen,
        effective_from=month,
        defaults={"target": amount, "set_by": actor},
    )
    return plan


@transaction.atomic
def bonus_rule_set(
    *,
    actor: User,
    team: Team,
    month: dt.date,
    currency: str,
    percent: Any,
    threshold: Any,
    cap: Any = None,
) -> BonusRule:
    """Sets ``team``'s bonus rule from ``month`` on (a new version, or the replaced version
    of that same month): ``percent`` of revenue won in ``currency`` above ``threshold``,
    scaled by the revenue plan done, at most ``cap`` (none when empty).

    Raises ``ValidationFailed`` naming the field and ``PermissionDenied`` when ``actor`` may
    not set that team's rules."""
    errors: dict[str, list[str]] = {}
    chosen = _currency(currency, errors, required=True)
    share = _amount(percent, "percent", errors, top=Decimal(100))
    floor = _amount(threshold, "threshold", errors, top=MAX_AMOUNT)
    ceiling = None if cap in (None, "") else _amount(cap, "cap", errors, top=MAX_AMOUNT)
    _open_month(actor, month, errors)
    if errors:
        raise ValidationFailed(field_errors=errors)
    PLANS.check(actor, "change", team)
    rule, _created = BonusRule.objects.update_or_create(
        team=team,
        effective_from=month,
        defaults={
            "currency": chosen,
            "percent": share,
            "threshold": floor,
            "cap": ceiling,
            "set_by": actor,
        },
    )
    return rule
