"""The KPI metrics a plan can target: each has a label, whether it is money (then counted
per currency, never summed across currencies) and an aggregate over a period and a set of
owners — one SQL ``GROUP BY`` owner (and currency) through the viewer's scopes, so a plan's
fact counts only records the viewer may see."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Count, F, Q, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from crm.accounts.models import User

if TYPE_CHECKING:
    from crm.analytics.filters import ReportFilters
    from crm.analytics.periods import Period

Facts = dict[tuple[int, str], Decimal]
"""A metric's values by (owner id, currency); counts use the currency ``""``."""

Aggregate = Callable[[Any, "ReportFilters", "Period", Collection[int]], Facts]


@dataclass(frozen=True)
class Metric:
    """A KPI metric: ``key`` stored in plans, ``label`` shown, ``money`` when per currency."""

    key: str
    label: str | Promise
    money: bool
    aggregate: Aggregate


def _facts(rows: Any, currency: str | None = None) -> Facts:
    return {
        (int(row["person"]), currency if currency is not None else row["currency"]): Decimal(
            row["value"] or 0
        )
        for row in rows
        if row["person"] is not None
    }


def _won(viewer: User, filters: ReportFilters, period: Period, owners: Collection[int]) -> Any:
    from crm.sales.choices import DealStatus
    from crm.sales.models import Deal

    deals = filters.deals(viewer, Deal.objects.visible_to(viewer))
    return deals.filter(
        owner_id__in=sorted(owners),
        status=DealStatus.WON,
        closed_at__gte=period.start_at,
        closed_at__lt=period.end_at,
    ).order_by()


def revenue_won(
    viewer: User, filters: ReportFilters, period: Period, owners: Collection[int]
) -> Facts:
    """The amounts of the deals won (closed) in the period, per owner and currency."""
    rows = _won(viewer, filters, period, owners).values("currency", person=F("owner_id"))
    return _facts(rows.annotate(value=Sum("amount")))


def deals_won(
    viewer: User, filters: ReportFilters, period: Period, owners: Collection[int]
) -> Facts:
    """How many deals each owner won in the period."""
    rows = _won(viewer, filters, period, owners).values(person=F("owner_id"))
    return _facts(rows.annotate(value=Count("pk")), "")


def payments_received(
    viewer: User, filters: ReportFilters, period: Period, owners: Collection[int]
) -> Facts:
    """Payments received in the period on the deals of each owner, per the deal's currency."""
    from crm.sales.choices import PaymentStatus
    from crm.sales.models import Deal, Payment

    deals = filters.deals(viewer, Deal.objects.visible_to(viewer)).filter(
        owner_id__in=sorted(owners)
    )
    rows = (
        Payment.objects.filter(
            deal__in=deals.values("pk"),
            status=PaymentStatus.RECEIVED,
            paid_on__gte=period.start,
            paid_on__lte=period.end,
        )
        .order_by()
        .values(person=F("deal__owner_id"), currency=F("deal__currency"))
    )
    return _facts(rows.annotate(value=Sum("amount")))


def leads_answered_in_time(
    viewer: User, filters: ReportFilters, period: Period, owners: Collection[int]
) -> Facts:
    """Leads each owner first answered in the period, no later than their deadline (a lead
    without a deadline counts when answered)."""
    from crm.leads.models import Lead

    leads = Lead.objects.visible_to(viewer).filter(
        owner_id__in=sorted(owners),
        responded_at__gte=period.start_at,
        responded_at__lt=period.end_at,
    )
    if filters.source:
        leads = leads.filter(channel=filters.source)
    in_time = leads.filter(Q(respond_by__isnull=True) | Q(responded_at__lte=F("respond_by")))
    rows = in_time.order_by().values(person=F("owner_id"))
    return _facts(rows.annotate(value=Count("pk")), "")


def calls_made(
    viewer: User, filters: ReportFilters, period: Period, owners: Collection[int]
) -> Facts:
    """Outgoing calls each owner made in the period (logged by hand or from telephony), on
    records the viewer may see: the activity report's "outgoing calls"."""
    from crm.analytics.selectors.activity import CALL_MADE, authored_entries

    facts: Facts = {}
    for entries in authored_entries(viewer, owners, period):
        rows = entries.filter(CALL_MADE).values(person=F("author_id")).annotate(value=Count("pk"))
        for key, value in _facts(rows, "").items():
            facts[key] = facts.get(key, Decimal(0)) + value
    return facts


METRICS: dict[str, Metric] = {
    metric.key: metric
    for metric in (
        Metric("revenue_won", _("Revenue: deals won"), True, revenue_won),
        Metric("deals_won", _("Deals won"), False, deals_won),
        Metric("payments_received", _("Revenue: payments received"), True, payments_received),
        Metric("leads_in_time", _("Leads answered in time"), False, leads_answered_in_time),
        Metric("calls_made", _("Calls made"), False, calls_made),
    )
}
METRIC_CHOICES = [(key, metric.label) for key, metric in METRICS.items()]
