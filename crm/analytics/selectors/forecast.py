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
  of the month's plan). A manager with a plan and no open deal still gets a row. Plans are
  per manager, not per product: with the product filter no plan is shown.

All counting is SQL ``GROUP BY``; Python only multiplies the grouped sums by the rates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateField,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
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
CENTS = Decimal("0.01")


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
    # Plans are set per manager, not per product: with a product filter none is shown.
    plan_shown: bool = True

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


def stage_rates(
    visits: QuerySet[StageVisit], *, untils: list[dt.datetime], months: int
) -> list[dict[int, StageRate]]:
    """For each moment of ``untils``, per open stage the deals whose ``visits`` (the viewer's,
    under the report's filters: ``_scoped_visits``) show that they entered it in the ``months`` months before the moment: how many were
    decided (entered a won or lost stage later, before the moment) and how many of those
    were won (see the module's docstring).

    One query for all the moments (the report measures seven), a single grouping by stage
    over the viewer's decided open visits, read from the index that starts with the owner
    (the visit keeps a copy of its deal's owner). Each visit carries when its deal was next decided and
    next won (``decided_at``, ``won_at``), so no visit is joined to later ones; both only
    grow from one visit of a deal's stage to the next, so a deal that entered the stage in
    a window was decided (won) in it exactly when its first visit there in the window was,
    and that visit is the one whose deal had not entered the stage since the window began
    (``prior_entered_at``): a deal counts once per stage with no grouping per deal."""
    windows = [(months_before(until, months), until) for until in untils]
    counts: list[dict[int, tuple[int, int]]] = [{} for _ in windows]
    first, last = min(since for since, _ in windows), max(until for _, until in windows)
    sums: dict[str, Any] = {}
    for number, (since, until) in enumerate(windows):
        first_here = Q(entered_at__gte=since) & (
            Q(prior_entered_at__isnull=True) | Q(prior_entered_at__lt=since)
        )
        sums[f"decided_{number}"] = Count("deal_id", filter=first_here & Q(decided_at__lt=until))
        sums[f"won_{number}"] = Count("deal_id", filter=first_here & Q(won_at__lt=until))
    grouped: QuerySet[Any] = (
        visits.filter(
            decided_at__gte=first,
            decided_at__lt=last,
            entered_at__gte=first,
            stage__kind=StageKind.OPEN,
        )
        .order_by()
        .values("stage_id")
        .annotate(**sums)
    )
    for row in grouped:
        for number in range(len(windows)):
            decided, won = row[f"decided_{number}"], row[f"won_{number}"]
            if decided:
                counts[number][row["stage_id"]] = (decided, won)
    stages = list(Stage.objects.filter(kind=StageKind.OPEN).select_related("pipeline"))
    return [
        {
            stage.pk: StageRate(stage, Decimal(stage.probability), *found.get(stage.pk, (0, 0)))
            for stage in stages
        }
        for found in counts
    ]


def _scoped(viewer: User, filters: ReportFilters) -> QuerySet[Deal]:
    """The viewer's deals under the filters, the scope resolved once to literal owners and
    shared ids so that every query of the report can start from the owner's indexes."""
    return filters.deals(viewer, Deal.objects.visible_to_resolved(viewer)).order_by()


def _scoped_visits(viewer: User, filters: ReportFilters) -> QuerySet[StageVisit]:
    """The stage visits of the deals ``_scoped`` gives, by the visits' own copy of the owner
    (``StageVisit.objects.visible_to_resolved``), with no join to the deals unless a filter
    needs one."""
    return filters.visits(viewer, StageVisit.objects.visible_to_resolved(viewer)).order_by()


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


def _month_start(month: dt.date, zone: Any) -> dt.datetime:
    return dt.datetime.combine(month, dt.time.min, zone)


def _past_months(
    deals: QuerySet[Deal],
    visits: QuerySet[StageVisit],
    months: list[dt.date],
    zone: Any,
    rates: list[dict[int, StageRate]],
) -> list[PastMonth]:
    """The check on the past for each of ``months`` (consecutive, oldest first), weighted
    by ``rates`` measured at each month's start: the deals sitting in an open stage at the
    start with an expected close in the month, and the deals won during it (see the
    module's docstring).

    Two queries whatever the number of months: each row carries the number of its month
    (a ``CASE`` on the expected close date, or on the won entry's moment), so one grouping
    serves all the months. The deals foreseen start from the deals (``deals``), whose
    owners and expected close dates pick them from the deal's owner index, and join their
    visits; the deals won start from the viewer's won visits (``visits``), read from the
    visit's owner index, and join their deals."""
    rows = [PastMonth(month, ForecastRow(month, month.isoformat())) for month in months]
    starts = [_month_start(month, zone) for month in [*months, add_months(months[-1], 1)]]
    numbers = range(len(months))

    def closes_in(number: int) -> Q:
        month = months[number]
        return Q(expected_close__gte=month, expected_close__lt=add_months(month, 1))

    def open_at_start(number: int) -> Q:
        start = starts[number]
        return (
            closes_in(number)
            & Q(visits__entered_at__lt=start)
            & Q(Q(visits__left_at__isnull=True) | Q(visits__left_at__gte=start))
        )

    # One ``filter`` call, so that every condition on the visits is on the same visit.
    open_then = (
        deals.filter(
            Q(expected_close__gte=months[0], expected_close__lt=add_months(months[-1], 1))
            & Q(visits__stage__kind=StageKind.OPEN)
            & Q.create([open_at_start(number) for number in numbers], connector=Q.OR)
        )
        .order_by()
        .annotate(back=Case(*(When(closes_in(number), then=Value(number)) for number in numbers)))
    )
    for group in open_then.values("back", "currency", visited=F("visits__stage_id")).annotate(
        count=Count("pk", distinct=True), amount=Sum("amount")
    ):
        rate = rates[group["back"]].get(group["visited"])
        _weigh(
            rows[group["back"]].forecast,
            currency=group["currency"],
            count=group["count"],
            amount=group["amount"],
            probability=rate.probability if rate else Decimal(0),
            conversion=rate.conversion if rate else None,
        )
    won = (
        visits.filter(
            stage__kind=StageKind.WON, entered_at__gte=starts[0], entered_at__lt=starts[-1]
        )
        .values(
            "deal_id",
            currency=F("deal__currency"),
            amount=F("deal__amount"),
            back=Case(
                *(
                    When(
                        entered_at__gte=starts[number],
                        entered_at__lt=starts[number + 1],
                        then=Value(number),
                    )
                    for number in numbers
                )
            ),
        )
        .distinct()
    )
    won_query = compiled(won)
    foreseen_query = compiled(open_then.values("back", deal=F("pk")).distinct())
    if won_query is None or foreseen_query is None:  # the scope or the filters leave no deal
        return rows
    # Both inner queries are the ORM's, compiled with their parameters apart; only the
    # join of the won deals to those foreseen and the grouping are written here.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT won.back, won.currency, COUNT(*), SUM(won.amount), "  # noqa: S608
            "COUNT(foreseen.deal), "
            "SUM(CASE WHEN foreseen.deal IS NOT NULL THEN won.amount END) "
            f"FROM ({won_query[0]}) won LEFT JOIN ({foreseen_query[0]}) foreseen "
            "ON foreseen.back = won.back AND foreseen.deal = won.deal_id "
            "GROUP BY won.back, won.currency",
            [*won_query[1], *foreseen_query[1]],
        )
        for back, currency, count, amount, foreseen_count, foreseen_amount in cursor.fetchall():
            row = rows[back]
            row.won_count += count
            _add(row.won, currency, _decimal(amount))
            if foreseen_count:
                _add(row.won_forecast_deals, currency, _decimal(foreseen_amount))
    return rows


def _decimal(value: Any) -> Decimal | None:
    """A sum of amounts read by a raw cursor, as the ORM reads it: a ``Decimal`` to the
    amount's cents (SQLite sums numbers as floats)."""
    return None if value is None else Decimal(str(value)).quantize(CENTS)


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
    this_month = moment.date().replace(day=1)
    past_months = [add_months(this_month, -back) for back in range(BACKTEST_MONTHS, 0, -1)]
    visits = _scoped_visits(viewer, filters)
    rates, *past_rates = stage_rates(
        visits,
        untils=[moment, *(_month_start(month, period.zone) for month in past_months)],
        months=months,
    )
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
    plan_shown = filters.product is None
    if plan_shown:
        _plans(period, report_people(viewer, filters), total, month_rows, by_manager)
    past = _past_months(deals, visits, past_months, period.zone, past_rates)
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
        plan_shown=plan_shown,
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
