"""The sales report: revenue two ways, labelled apart — deals won (their amount, by
``closed_at``) and payments received (by ``paid_on``) — by day, week or month, by manager,
by lead source and by client type; win rate, average deal size and median sales cycle; the
period before for comparison. Money stays per currency: no figure adds roubles to dollars.

By product: the lines of the deals won in the period, their totals summed per product in
the deal's currency; lines without a product and the amounts of won deals without lines
make the "no product" row. Since a deal's amount may be set by hand, the rows need not add
up to the revenue won.

Every figure reads the viewer's deals (``Deal.objects.visible_to_resolved``, read once)
through the report filters; payments count when their deal does. All grouping is SQL
``GROUP BY``; Python only adds up the groups: the period's deals won are one ``GROUP BY``
(bucket, owner, source, client type, currency) and both periods' payments another, each
rolled up into the timeline, the three breakdowns and the totals, so the report is a fixed
handful of queries (none per bucket, manager or breakdown).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    Exists,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Trunc
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.analytics.filters import ReportFilters
from crm.analytics.periods import Period
from crm.core.errors import ValidationFailed
from crm.core.percentiles import percentiles, seconds_between
from crm.customers.choices import ClientType
from crm.customers.models import Company, Contact
from crm.leads.choices import Channel
from crm.sales.choices import DealStatus, PaymentStatus
from crm.sales.models import Deal, DealLine

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


def _client_kind(*, unless: Q | None = None) -> Case:
    """The deal's client type: its company's kind, or without a company its contact's type
    (what ``Coalesce("company__kind", "contact__client_type")`` gives), as subqueries that
    PostgreSQL runs only for the branch taken: one index probe a row instead of two joins,
    and none for the rows ``unless`` matches (null for them)."""
    company = Company.objects.filter(pk=OuterRef("company_id")).order_by().values("kind")
    contact = Contact.objects.filter(pk=OuterRef("contact_id")).order_by().values("client_type")
    skipped = [When(unless, then=Value(None))] if unless is not None else []
    return Case(
        *skipped,
        When(company__isnull=False, then=Subquery(company)),
        default=Subquery(contact),
        output_field=CharField(),
    )


def _won(deals: Any, period: Period) -> Any:
    return deals.filter(
        status=DealStatus.WON, closed_at__gte=period.start_at, closed_at__lt=period.end_at
    ).order_by()


def _in_period(moment: str, start: Any) -> Case:
    """1 for a row of the period, 0 for one of the period before (the two read together)."""
    return Case(When(**{f"{moment}__gte": start}, then=Value(1)), default=Value(0))


@dataclass
class _Groups:
    """The report's figures being rolled up from grouped rows: the two periods' totals and
    the period's rows by bucket, manager, source and client type."""

    summary: SalesSummary = field(default_factory=SalesSummary)
    before: SalesSummary = field(default_factory=SalesSummary)
    in_time: dict[Hashable, SalesRow] = field(default_factory=dict)
    by_manager: dict[Hashable, SalesRow] = field(default_factory=dict)
    by_source: dict[Hashable, SalesRow] = field(default_factory=dict)
    by_client_type: dict[Hashable, SalesRow] = field(default_factory=dict)

    def rows_of(self, group: dict[str, Any]) -> Iterable[SalesRow]:
        """The period's rows a group counts in: its bucket, manager, source, client type."""
        for rows, key in (
            (self.in_time, group["bucket"]),
            (self.by_manager, group["owner_id"]),
            (self.by_source, group["source"]),
            (self.by_client_type, group["client_kind"]),
        ):
            row = rows.get(key)
            if row is None:
                row = rows[key] = SalesRow(key, "")
            yield row


_DIMENSIONS = ("owner_id", "source", "client_kind", "currency")


def _closed_in_both(deals: Any, status: str, period: Period) -> Any:
    """The deals closed with ``status`` in the period or the one before, marked ``current``
    for the period's. One status a query: with a list SQLite takes the index that starts
    with the status and reads every owner's deals."""
    return (
        deals.filter(
            status=status, closed_at__gte=period.previous().start_at, closed_at__lt=period.end_at
        )
        .annotate(current=_in_period("closed_at", period.start_at))
        .order_by()
    )


def _read_won(groups: _Groups, deals: Any, period: Period, bucket: str) -> None:
    """Both periods' deals won per currency, deals lost and median cycles (the deals' own
    columns: index-only reads), then the period's deals won in one ``GROUP BY`` (bucket,
    owner, source, client type, currency)."""
    won = _closed_in_both(deals, DealStatus.WON, period)
    for total in won.values("current", "currency").annotate(count=Count("*"), amount=Sum("amount")):
        summary = groups.summary if total["current"] else groups.before
        summary.won_count += total["count"]
        _add(summary.won, total["currency"], total["amount"])
        summary.average[total["currency"]] = (total["amount"] or Decimal(0)) / total["count"]
    lost = _closed_in_both(deals, DealStatus.LOST, period)
    for total in lost.values("current").annotate(count=Count("*")):
        (groups.summary if total["current"] else groups.before).lost_count = total["count"]
    cycles = won.annotate(cycle=seconds_between("created_at", "closed_at"))
    medians = percentiles(cycles, value="cycle", fractions=(0.5,), group="current")
    for current, summary in ((1, groups.summary), (0, groups.before)):
        median = medians.get(current)
        summary.median_cycle_days = median[0.5] / 86400 if median else None
    zone = period.zone
    for group in (
        _won(deals, period)
        .annotate(client_kind=_client_kind())
        .values(
            *_DIMENSIONS, bucket=Trunc("closed_at", bucket, output_field=DateField(), tzinfo=zone)
        )
        .annotate(count=Count("*"), amount=Sum("amount"))
    ):
        for row in groups.rows_of(group):
            row.won_count += group["count"]
            _add(row.won, group["currency"], group["amount"])


def _read_received(groups: _Groups, deals: Any, period: Period, bucket: str) -> None:
    """The payments received in the period and the one before in one ``GROUP BY``
    (which period, and the rows' dimensions with the day received giving the bucket): the
    deals joined to their payments, a plain join so the deals' conditions apply to it and
    the scope's deals are read once."""
    received = deals.filter(
        payments__status=PaymentStatus.RECEIVED,
        payments__paid_on__gte=period.previous().start,
        payments__paid_on__lte=period.end,
    ).order_by()
    before = Q(payments__paid_on__lt=period.start)
    for group in (
        received.annotate(client_kind=_client_kind(unless=before))
        .values(
            *_DIMENSIONS,
            current=_in_period("payments__paid_on", period.start),
            bucket=Trunc("payments__paid_on", bucket, output_field=DateField()),
        )
        .annotate(amount=Sum("payments__amount"))
    ):
        if not group["current"]:
            _add(groups.before.received, group["currency"], group["amount"])
            continue
        _add(groups.summary.received, group["currency"], group["amount"])
        for row in groups.rows_of(group):
            _add(row.received, group["currency"], group["amount"])


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
    for group in bare.values("currency").annotate(count=Count("*"), amount=Sum("amount")):
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
    deals = filters.deals(viewer, Deal.objects.visible_to_resolved(viewer))
    groups = _Groups()
    _read_won(groups, deals, period, bucket)
    _read_received(groups, deals, period, bucket)
    timeline = []
    for start in _bucket_starts(period, bucket):
        row = groups.in_time.get(start) or SalesRow(start, "")
        row.key, row.label = start, start.isoformat()
        timeline.append(row)
    names = {user.pk: str(user) for user in User.objects.filter(pk__in=list(groups.by_manager))}
    return SalesReport(
        period=period,
        bucket=bucket,
        summary=groups.summary,
        before=groups.before,
        timeline=timeline,
        by_manager=_labelled(groups.by_manager, names),
        by_source=_labelled(groups.by_source, {key: str(label) for key, label in Channel.choices}),
        by_client_type=_labelled(
            groups.by_client_type, {key: str(label) for key, label in ClientType.choices}
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
