"""The sales report: revenue two ways, labelled apart — deals won (their amount, by
``closed_at``) and payments received (by ``paid_on``) — by day, week or month, by manager,
by lead source and by client type; win rate, average deal size and median sales cycle; the
period before for comparison. Money stays per currency: no figure adds roubles to dollars.

By product: the lines of the deals won in the period, their totals summed per product in
the deal's currency; lines without a product and the amounts of won deals without lines
make the "no product" row. Since a deal's amount may be set by hand, the rows need not add
up to the revenue won.

Every figure reads the viewer's deals (``Deal.objects.visible_to``) through the report
filters; payments count when their deal does. All grouping is SQL ``GROUP BY``; Python only
arranges the groups.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, DateField, Exists, F, OuterRef, Sum
from django.db.models.functions import Coalesce, Trunc
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.analytics.filters import ReportFilters
from crm.analytics.periods import Period
from crm.core.errors import ValidationFailed
from crm.core.percentiles import percentiles, seconds_between
from crm.customers.choices import ClientType
from crm.leads.choices import Channel
from crm.sales.choices import DealStatus, PaymentStatus
from crm.sales.models import Deal, DealLine, Payment

Money = dict[str, Decimal]
BUCKETS = ("day", "week", "month")


@dataclass
class SalesRow:
    """One group: deals won (count and amounts) and payments received (amounts)."""

    key: Hashable
    label: str
    won_count: int = 0
    won: Money = field(default_factory=dict)
    received: Money = field(default_factory=dict)


@dataclass
class ProductRow:
    """One product's share of the deals won: how many deals had it, their line totals."""

    product_id: int | None
    label: str
    deals: int = 0
    won: Money = field(default_factory=dict)


@dataclass
class SalesSummary:
    """The period's totals."""

    won_count: int = 0
    lost_count: int = 0
    won: Money = field(default_factory=dict)
    received: Money = field(default_factory=dict)
    average: Money = field(default_factory=dict)
    median_cycle_days: float | None = None

    @property
    def win_rate(self) -> float | None:
        closed = self.won_count + self.lost_count
        return self.won_count / closed if closed else None


@dataclass
class SalesReport:
    period: Period
    bucket: str
    summary: SalesSummary
    before: SalesSummary
    timeline: list[SalesRow]
    by_manager: list[SalesRow]
    by_source: list[SalesRow]
    by_client_type: list[SalesRow]
    currencies: list[str]
    by_product: list[ProductRow] = field(default_factory=list)


def bucket_parse(value: Any, period: Period) -> str:
    """The grouping in time: ``day``, ``week`` or ``month`` as asked, or by the period's
    length (days up to a month, weeks up to a quarter, months beyond)."""
    if value in (None, ""):
        return "day" if period.days <= 31 else "week" if period.days <= 92 else "month"
    if value not in BUCKETS:
        raise ValidationFailed(field_errors={"bucket": [_("Choose day, week or month.")]})
    return str(value)


def _bucket_starts(period: Period, bucket: str) -> list[dt.date]:
    day = period.start
    if bucket == "week":
        day -= dt.timedelta(days=day.weekday())
    elif bucket == "month":
        day = day.replace(day=1)
    starts = []
    while day <= period.end:
        starts.append(day)
        if bucket == "day":
            day += dt.timedelta(days=1)
        elif bucket == "week":
            day += dt.timedelta(days=7)
        else:
            day = (day + dt.timedelta(days=32)).replace(day=1)
    return starts


def _add(money: Money, currency: str, amount: Decimal | None) -> None:
    money[currency] = money.get(currency, Decimal(0)) + (amount or Decimal(0))


def _scoped(viewer: User, filters: ReportFilters) -> Any:
    deals = filters.deals(viewer, Deal.objects.visible_to(viewer))
    return deals.annotate(client_kind=Coalesce("company__kind", "contact__client_type"))


def _won(deals: Any, period: Period) -> Any:
    return deals.filter(
        status=DealStatus.WON, closed_at__gte=period.start_at, closed_at__lt=period.end_at
    ).order_by()


def _received(deals: Any, period: Period) -> Any:
    return Payment.objects.filter(
        deal__in=deals.values("pk"),
        status=PaymentStatus.RECEIVED,
        paid_on__gte=period.start,
        paid_on__lte=period.end,
    ).order_by()


def _summary(deals: Any, period: Period) -> SalesSummary:
    summary = SalesSummary()
    won = _won(deals, period)
    for row in won.values("currency").annotate(count=Count("pk"), amount=Sum("amount")):
        summary.won_count += row["count"]
        _add(summary.won, row["currency"], row["amount"])
        summary.average[row["currency"]] = (row["amount"] or Decimal(0)) / row["count"]
    summary.lost_count = deals.filter(
        status=DealStatus.LOST, closed_at__gte=period.start_at, closed_at__lt=period.end_at
    ).count()
    for row in (
        _received(deals, period).values(currency=F("deal__currency")).annotate(amount=Sum("amount"))
    ):
        _add(summary.received, row["currency"], row["amount"])
    cycles = won.annotate(cycle=seconds_between("created_at", "closed_at"))
    median = percentiles(cycles, value="cycle", fractions=(0.5,)).get(None)
    summary.median_cycle_days = median[0.5] / 86400 if median else None
    return summary


def _group(deals: Any, period: Period, won_key: Any, paid_key: Any) -> dict[Hashable, SalesRow]:
    rows: dict[Hashable, SalesRow] = {}
    for row in (
        _won(deals, period)
        .values("currency", group=won_key)
        .annotate(count=Count("pk"), amount=Sum("amount"))
    ):
        target = rows.setdefault(row["group"], SalesRow(row["group"], ""))
        target.won_count += row["count"]
        _add(target.won, row["currency"], row["amount"])
    for row in (
        _received(deals, period)
        .values(currency=F("deal__currency"), group=paid_key)
        .annotate(amount=Sum("amount"))
    ):
        target = rows.setdefault(row["group"], SalesRow(row["group"], ""))
        _add(target.received, row["currency"], row["amount"])
    return rows


def _by_product(deals: Any, period: Period) -> list[ProductRow]:
    """Two ``GROUP BY``s: the won deals' lines by (product, currency), and the won deals
    without lines by currency."""
    won = _won(deals, period)
    rows: dict[int | None, ProductRow] = {}
    for line in (
        DealLine.objects.filter(deal__in=won.values("pk"))
        .order_by()
        .values("product_id", "product__name", currency=F("deal__currency"))
        .annotate(count=Count("deal", distinct=True), amount=Sum("total"))
    ):
        label = line["product__name"] or str(_("No product"))
        target = rows.setdefault(line["product_id"], ProductRow(line["product_id"], label))
        target.deals += line["count"]
        _add(target.won, line["currency"], line["amount"])
    bare = won.filter(~Exists(DealLine.objects.filter(deal=OuterRef("pk"))))
    for group in bare.values("currency").annotate(count=Count("pk"), amount=Sum("amount")):
        target = rows.setdefault(None, ProductRow(None, str(_("No product"))))
        target.deals += group["count"]
        _add(target.won, group["currency"], group["amount"])
    return sorted(rows.values(), key=lambda row: (row.product_id is None, -row.deals, row.label))


def _labelled(rows: dict[Hashable, SalesRow], labels: dict[Any, str]) -> list[SalesRow]:
    for key, row in rows.items():
        row.label = labels.get(key, str(key) if key not in (None, "") else str(_("Not set")))
    return sorted(rows.values(), key=lambda row: (-row.won_count, row.label))


def _currencies(rows: Iterable[SalesRow]) -> list[str]:
    return sorted({currency for row in rows for currency in (*row.won, *row.received)})


def sales_report(
    *, viewer: User, period: Period, filters: ReportFilters, bucket: str
) -> SalesReport:
    """The sales report of ``period`` for ``viewer`` (see the module's docstring); a fixed
    number of queries whatever the number of deals, managers or buckets."""
    deals = _scoped(viewer, filters)
    in_time = _group(
        deals,
        period,
        Trunc("closed_at", bucket, output_field=DateField(), tzinfo=period.zone),
        Trunc("paid_on", bucket, output_field=DateField()),
    )
    timeline = []
    for start in _bucket_starts(period, bucket):
        row = in_time.get(start) or SalesRow(start, "")
        row.key, row.label = start, start.isoformat()
        timeline.append(row)

    by_manager = _group(deals, period, F("owner_id"), F("deal__owner_id"))
    names = {user.pk: str(user) for user in User.objects.filter(pk__in=list(by_manager))}
    by_source = _group(deals, period, F("source"), F("deal__source"))
    by_client_type = _group(
        deals,
        period,
        F("client_kind"),
        Coalesce("deal__company__kind", "deal__contact__client_type"),
    )
    return SalesReport(
        period=period,
        bucket=bucket,
        summary=_summary(deals, period),
        before=_summary(deals, period.previous()),
        timeline=timeline,
        by_manager=_labelled(by_manager, names),
        by_source=_labelled(by_source, {key: str(label) for key, label in Channel.choices}),
        by_client_type=_labelled(
            by_client_type, {key: str(label) for key, label in ClientType.choices}
        ),
        currencies=_currencies(timeline),
        by_product=_by_product(deals, period),
    )


def sales_chart(report: SalesReport) -> dict[str, Any]:
    """The figures of the page's chart: per currency, won and received per bucket."""
    series = []
    for currency in report.currencies:
        for name, attribute in ((_("Deals won"), "won"), (_("Payments received"), "received")):
            series.append(
                {
                    "name": f"{name}, {currency}",
                    "values": [
                        float(getattr(row, attribute).get(currency, 0)) for row in report.timeline
                    ],
                }
            )
    return {"labels": [row.label for row in report.timeline], "series": series}
