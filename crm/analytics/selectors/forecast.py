"""The forecast: open deals by expected close month, weighted two ways side by side, and
how good each weighting was on the past.

Definitions (what each figure counts):

- The deals are the viewer's (``Deal.objects.visible_to`` and the report filters). The
  forecast takes the open deals whose expected close date falls in the period, grouped by
  month and by manager; the amount is the deals' amount per currency (never summed across
  currencies).
- *By probability* weighs each deal's amount by its stage's probability.
- *By conversion* weighs it by the conversion measured from its stage over the last
  ``months`` months before the moment of the forecast: of the distinct deals that entered
  the stage in that window and later (before that moment) entered a won or lost stage,
  the share that entered a won one. A deal that moved back or was reopened counts once per
  stage; a won visit counts even if the deal was reopened after it. A stage with no
  decided deal in the window has no measured conversion and weighs nothing.
- The check on the past: for each of the last six whole months, the forecast as it would
  have been made at its first moment (in the viewer's zone): the deals then sitting in an
  open stage (reconstructed from the stage visits) whose expected close date falls in that
  month, weighted by their stage's probability and by the conversion measured up to that
  moment; against the deals that entered a won stage during the month (all of them, and
  those of the forecast). The expected close date and the amount are today's values: the
  history of those two fields is not recorded.
- Overdue: open deals whose expected close date is before the viewer's today.
- The plan next to it is the managers' revenue plan (metric ``revenue_won``, per currency)
  in force in each month, for the managers and heads the report shows; a month the period
  covers only in part counts its plan for the days covered (a week of a 30-day month: 7/30
  of the month's plan). A manager with a plan and no open deal still gets a row.

All counting is SQL ``GROUP BY``; Python only multiplies the grouped sums by the rates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, Count, DateField, F, Max, Q, QuerySet, Sum, When, Window
from django.db.models.functions import Trunc
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.analytics.filters import ReportFilters
from crm.analytics.models import Plan
from crm.analytics.periods import Period, add_months
from crm.analytics.selectors import dashboard as dashboard_selectors
from crm.analytics.selectors.plans import in_force, report_people
from crm.core.errors import ValidationFailed
from crm.core.sql import compiled
from crm.sales.choices import DealStatus, StageKind
from crm.sales.models import Deal, Stage, StageVisit

Money = dict[str, Decimal]
DEFAULT_MONTHS = 6
MAX_MONTHS = 36
BACKTEST_MONTHS = 6
OVERDUE_SHOWN = 100
HUNDRED = Decimal(100)


@dataclass
class ForecastRow:
    """One group of open deals: their amount and the two weighted forecasts."""

    key: Hashable
    label: str
    deals: int = 0
    amount: Money = field(default_factory=dict)
    by_probability: Money = field(default_factory=dict)
    by_conversion: Money = field(default_factory=dict)
    # The revenue plan of the group for the period (None: no plan is set for it).
    plan: Money | None = None
    # The expected close dates the group covers (for the link to the deal list).
    close_from: dt.date | None = None
    close_to: dt.date | None = None


@dataclass
class StageRate:
    """A stage's probability and its measured conversion to won."""

    stage: Stage
    probability: Decimal
    decided: int
    won: int

    @property
    def conversion(self) -> Decimal | None:
        return Decimal(self.won) / Decimal(self.decided) if self.decided else None


@dataclass
class PastMonth:
    """The forecast made at the start of ``month`` against what was won in it."""

    month: dt.date
    forecast: ForecastRow
    won_count: int = 0
    won: Money = field(default_factory=dict)
    won_forecast_deals: Money = field(default_factory=dict)


@dataclass
class OverdueDeal:
    pk: int
    title: str
    owner: str
    stage: str
    expected_close: dt.date
    days_overdue: int
    amount: Decimal | None
    currency: str

    @property
    def money(self) -> Money:
        return {self.currency: self.amount} if self.amount is not None else {}


@dataclass
class ForecastReport:
    period: Period
    months: int
    today: dt.date
    total: ForecastRow
    by_month: list[ForecastRow]
    by_manager: list[ForecastRow]
    rates: list[StageRate]
    past: list[PastMonth]
    overdue: list[OverdueDeal]
    overdue_count: int
    currencies: list[str]

    def error(self, currency: str, attribute: str) -> Decimal | None:
        """The mean absolute gap, over the past months, between a weighting's forecast
        (``by_probability`` or ``by_conversion``) and what was won, in ``currency``."""
        if not self.past:
            return None
        gaps = [
            abs(
                getattr(row.forecast, attribute).get(currency, Decimal(0))
                - row.won.get(currency, Decimal(0))
            )
            for row in self.past
        ]
        return sum(gaps, Decimal(0)) / len(gaps)

    @property
    def errors(self) -> list[tuple[str, Decimal | None, Decimal | None]]:
        """Per currency: the mean gap of the probability and of the conversion forecast."""
        return [
            (
                currency,
                self.error(currency, "by_probability"),
                self.error(currency, "by_conversion"),
            )
            for currency in self.currencies
        ]


def months_parse(value: Any) -> int:
    """The window of the measured conversion in months: ``DEFAULT_MONTHS`` when absent,
    otherwise a whole number from 1 to ``MAX_MONTHS``."""
    if value in (None, ""):
        return DEFAULT_MONTHS
    raw = str(value).strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_MONTHS:
        raise ValidationFailed(
            field_errors={
                "months": [
                    _("Enter a whole number of months from 1 to %(most)d.") % {"most": MAX_MONTHS}
                ]
            }
        )
    return int(raw)


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same moment ``months`` calendar months earlier (the day clamped to the month's
    last)."""
    first = add_months(moment.date().replace(day=1), -months)
    last_day = (add_months(first, 1) - dt.timedelta(days=1)).day
    return moment.replace(year=first.year, month=first.month, day=min(moment.day, last_day))


def _add(money: Money, currency: str, amount: Decimal | None) -> None:
    money[currency] = money.get(currency, Decimal(0)) + (amount or Decimal(0))


def _weigh(
    row: ForecastRow,
    *,
    currency: str,
    count: int,
    amount: Decimal | None,
    probability: Decimal,
    conversion: Decimal | None,
) -> None:
    row.deals += count
    _add(row.amount, currency, amount)
    _add(row.by_probability, currency, (amount or Decimal(0)) * probability / HUNDRED)
    _add(row.by_conversion, currency, (amount or Decimal(0)) * (conversion or Decimal(0)))


def stage_rates(deals: QuerySet[Deal], *, until: dt.datetime, months: int) -> dict[int, StageRate]:
    """Per open stage the deals of ``deals`` entered in the ``months`` months before
    ``until``: how many were decided (entered a won or lost stage later, before ``until``)
    and how many of those were won (see the module's docstring).

    One pass over the window's visits: a visit is followed by a won (decided) one exactly
    when its deal's latest won (won or lost) entry in the window is later than it, so the
    latest is a window function per deal, not a correlated ``EXISTS`` per visit (seconds
    per month at 1,000,000 deals). Any later entry before ``until`` is in the window too."""
    since = months_before(until, months)
    per_deal = [F("deal_id")]
    visits = (
        StageVisit.objects.filter(
            deal__in=deals.values("pk"), entered_at__gte=since, entered_at__lt=until
        )
        .order_by()
        .annotate(
            won_at=Window(
                Max(Case(When(stage__kind=StageKind.WON, then=F("entered_at")))),
                partition_by=per_deal,
            ),
            decided_at=Window(
                Max(
                    Case(
                        When(
                            stage__kind__in=[StageKind.WON, StageKind.LOST],
                            then=F("entered_at"),
                        )
                    )
                ),
                partition_by=per_deal,
            ),
        )
        .values("deal_id", "stage_id", "entered_at", "won_at", "decided_at", kind=F("stage__kind"))
    )
    counts: dict[int, tuple[int, int]] = {}
    query = compiled(visits)  # None: the scope or the filters leave no deal
    if query is not None:
        sql, params = query
        # The windowed query is the ORM's, compiled with its parameters apart; only the
        # outer grouping is written here.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT stage_id, "  # noqa: S608
                "COUNT(DISTINCT CASE WHEN decided_at > entered_at THEN deal_id END), "
                "COUNT(DISTINCT CASE WHEN won_at > entered_at THEN deal_id END) "
                f"FROM ({sql}) visits WHERE kind = %s GROUP BY stage_id",
                [*params, StageKind.OPEN.value],
            )
            counts = {stage: (decided, won) for stage, decided, won in cursor.fetchall()}
    stages = Stage.objects.filter(kind=StageKind.OPEN).select_related("pipeline")
    return {
        stage.pk: StageRate(stage, Decimal(stage.probability), *counts.get(stage.pk, (0, 0)))
        for stage in stages
    }


def _scoped(viewer: User, filters: ReportFilters) -> QuerySet[Deal]:
    return filters.deals(viewer, Deal.objects.visible_to(viewer)).order_by()


def _current(
    deals: QuerySet[Deal], period: Period, rates: dict[int, StageRate]
) -> tuple[ForecastRow, dict[dt.date, ForecastRow], dict[int, ForecastRow]]:
    total = ForecastRow("total", _("Total"))
    months: dict[dt.date, ForecastRow] = {}
    managers: dict[int, ForecastRow] = {}
    grouped = (
        deals.filter(
            status=DealStatus.OPEN,
            expected_close__gte=period.start,
            expected_close__lte=period.end,
        )
        .values(
            "owner_id",
            "stage_id",
            "currency",
            month=Trunc("expected_close", "month", output_field=DateField()),
        )
        .annotate(count=Count("pk"), amount=Sum("amount"))
    )
    for row in grouped:
        rate = rates.get(row["stage_id"])
        weights = {
            "currency": row["currency"],
            "count": row["count"],
            "amount": row["amount"],
            "probability": rate.probability if rate else Decimal(0),
            "conversion": rate.conversion if rate else None,
        }
        month = row["month"]
        if isinstance(month, dt.datetime):
            month = month.date()
        _weigh(total, **weights)
        _weigh(months.setdefault(month, ForecastRow(month, month.isoformat())), **weights)
        owner = row["owner_id"]
        _weigh(managers.setdefault(owner, ForecastRow(owner, "")), **weights)
    return total, months, managers


def _month_starts(period: Period) -> list[dt.date]:
    day, starts = period.start.replace(day=1), []
    while day <= period.end:
        starts.append(day)
        day = add_months(day, 1)
    return starts


def _past_month(deals: QuerySet[Deal], month: dt.date, zone: Any, months: int) -> PastMonth:
    start = dt.datetime.combine(month, dt.time.min, zone)
    end = dt.datetime.combine(add_months(month, 1), dt.time.min, zone)
    rates = stage_rates(deals, until=start, months=months)
    row = PastMonth(month, ForecastRow(month, month.isoformat()))
    open_then = StageVisit.objects.filter(
        deal__in=deals.filter(
            expected_close__gte=month, expected_close__lt=add_months(month, 1)
        ).values("pk"),
        stage__kind=StageKind.OPEN,
        entered_at__lt=start,
    ).filter(Q(left_at__isnull=True) | Q(left_at__gte=start))
    for group in (
        open_then.order_by()
        .values("stage_id", currency=F("deal__currency"))
        .annotate(count=Count("deal", distinct=True), amount=Sum("deal__amount"))
    ):
        rate = rates.get(group["stage_id"])
        _weigh(
            row.forecast,
            currency=group["currency"],
            count=group["count"],
            amount=group["amount"],
            probability=rate.probability if rate else Decimal(0),
            conversion=rate.conversion if rate else None,
        )
    won_visits = StageVisit.objects.filter(
        stage__kind=StageKind.WON, entered_at__gte=start, entered_at__lt=end
    )
    won = deals.filter(pk__in=won_visits.values("deal"))
    for sums in won.values("currency").annotate(count=Count("pk"), amount=Sum("amount")):
        row.won_count += sums["count"]
        _add(row.won, sums["currency"], sums["amount"])
    for foreseen in (
        won.filter(pk__in=open_then.values("deal"))
        .values("currency")
        .annotate(amount=Sum("amount"))
    ):
        _add(row.won_forecast_deals, foreseen["currency"], foreseen["amount"])
    return row


def _overdue(deals: QuerySet[Deal], today: dt.date) -> tuple[list[OverdueDeal], int]:
    late = deals.filter(status=DealStatus.OPEN, expected_close__lt=today)
    shown = [
        OverdueDeal(
            pk=deal.pk,
            title=deal.title,
            owner=str(deal.owner) if deal.owner else "",
            stage=deal.stage.name,
            expected_close=deal.expected_close or today,
            days_overdue=(today - (deal.expected_close or today)).days,
            amount=deal.amount,
            currency=deal.currency,
        )
        for deal in late.select_related("owner", "stage").order_by("expected_close", "pk")[
            :OVERDUE_SHOWN
        ]
    ]
    return shown, late.count()


def _currencies(rows: Iterable[ForecastRow], past: Iterable[PastMonth]) -> list[str]:
    found = {currency for row in rows for currency in row.amount}
    for month in past:
        found |= set(month.won) | set(month.forecast.amount)
    return sorted(found)


def forecast_report(
    *,
    viewer: User,
    period: Period,
    filters: ReportFilters,
    months: int = DEFAULT_MONTHS,
    now: dt.datetime | None = None,
) -> ForecastReport:
    """The forecast of ``period`` for ``viewer`` (see the module's docstring), with the
    conversion measured over ``months`` months; a fixed number of queries whatever the
    number of deals."""
    moment = (now or dashboard_selectors.clock()).astimezone(period.zone)
    deals = _scoped(viewer, filters)
    rates = stage_rates(deals, until=moment, months=months)
    total, by_month, by_manager = _current(deals, period, rates)
    month_rows = [
        by_month.get(start) or ForecastRow(start, start.isoformat())
        for start in _month_starts(period)
    ]
    for row in month_rows:
        start = row.key if isinstance(row.key, dt.date) else period.start
        row.close_from = max(start, period.start)
        row.close_to = min(add_months(start, 1) - dt.timedelta(days=1), period.end)
    for row in [total, *by_manager.values()]:
        row.close_from, row.close_to = period.start, period.end
    names = {user.pk: str(user) for user in User.objects.filter(pk__in=list(by_manager))}
    for key, row in by_manager.items():
        row.label = names.get(key, str(_("Not set")))
    _plans(period, report_people(viewer, filters), total, month_rows, by_manager)
    this_month = moment.date().replace(day=1)
    past = [
        _past_month(deals, add_months(this_month, -back), period.zone, months)
        for back in range(BACKTEST_MONTHS, 0, -1)
    ]
    overdue, overdue_count = _overdue(deals, moment.date())
    used = set(deals.filter(status=DealStatus.OPEN).values_list("stage_id", flat=True).distinct())
    return ForecastReport(
        period=period,
        months=months,
        today=moment.date(),
        total=total,
        by_month=month_rows,
        by_manager=sorted(by_manager.values(), key=lambda row: row.label),
        rates=[rate for key, rate in rates.items() if key in used],
        past=past,
        overdue=overdue,
        overdue_count=overdue_count,
        currencies=_currencies([total], past),
    )


def _add_plan(row: ForecastRow, currency: str, amount: Decimal) -> None:
    row.plan = row.plan if row.plan is not None else {}
    row.plan[currency] = row.plan.get(currency, Decimal(0)) + amount


def _plans(
    period: Period,
    people: list[User],
    total: ForecastRow,
    by_month: list[ForecastRow],
    by_manager: dict[int, ForecastRow],
) -> None:
    """Put the revenue plans of ``people`` in force in the period's months next to the
    forecast (see the module's docstring); one query whatever the number of months."""
    versions = list(
        Plan.objects.filter(
            metric="revenue_won",
            manager_id__in=[person.pk for person in people],
            effective_from__lte=period.end,
        )
    )
    names = {person.pk: str(person) for person in people}
    for row in by_month:
        month = row.key if isinstance(row.key, dt.date) else period.start
        month_end = add_months(month, 1) - dt.timedelta(days=1)
        covered = (min(month_end, period.end) - max(month, period.start)).days + 1
        share = Decimal(covered) / Decimal((month_end - month).days + 1)
        chosen = in_force(
            (version for version in versions if version.effective_from <= month),
            lambda plan: (plan.manager_id, plan.currency),
        )
        for plan in chosen.values():
            assert isinstance(plan, Plan) and plan.manager_id is not None
            amount = (plan.target * share).quantize(Decimal("0.01"))
            manager = by_manager.get(plan.manager_id)
            if manager is None:
                manager = by_manager[plan.manager_id] = ForecastRow(
                    plan.manager_id, names.get(plan.manager_id, "")
                )
                manager.close_from, manager.close_to = period.start, period.end
            for group in (row, manager, total):
                _add_plan(group, plan.currency, amount)


def forecast_chart(report: ForecastReport) -> dict[str, Any]:
    """The page's chart: per currency, the two weighted forecasts per month of the period,
    then the past months' forecasts against what was won."""
    series = []
    for currency in report.currencies:
        for name, attribute in (
            (_("By probability"), "by_probability"),
            (_("By measured conversion"), "by_conversion"),
        ):
            series.append(
                {
                    "name": f"{name}, {currency}",
                    "values": [
                        float(getattr(row, attribute).get(currency, 0)) for row in report.by_month
                    ],
                }
            )
    past = []
    for currency in report.currencies:
        for name, values in (
            (_("By probability"), [row.forecast.by_probability for row in report.past]),
            (_("By measured conversion"), [row.forecast.by_conversion for row in report.past]),
            (_("Won"), [row.won for row in report.past]),
        ):
            past.append(
                {
                    "name": f"{name}, {currency}",
                    "values": [float(money.get(currency, 0)) for money in values],
                }
            )
    return {
        "labels": [row.label for row in report.by_month],
        "series": series,
        "past_labels": [row.month.isoformat() for row in report.past],
        "past_series": past,
    }
