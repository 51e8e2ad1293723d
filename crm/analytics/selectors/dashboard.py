"""The home dashboard: this month's figures of the viewer (a manager), of each manager of
the viewer's teams (a head of sales) or of every manager (an administrator)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm.accounts.models import User
from crm.analytics.periods import Period, unit_period, user_time_zone
from crm.core.percentiles import percentiles, seconds_between
from crm.core.permissions import Role
from crm.leads.choices import OPEN_STATUSES
from crm.leads.models import Lead
from crm.planner.choices import TaskStatus
from crm.planner.selectors import overdue_filter, tasks_visible_to_resolved
from crm.sales.choices import DealStatus
from crm.sales.models import Deal, Stage

Money = dict[str, Decimal]


@dataclass
class ManagerFigures:
    """One manager's figures (or, with ``user`` None, the sum of the rows)."""

    user: User | None
    won_count: int = 0
    revenue: Money = field(default_factory=dict)
    open_count: int = 0
    open_amount: Money = field(default_factory=dict)
    leads_waiting: int = 0
    waiting_since: dt.datetime | None = None
    tasks_today: int = 0
    tasks_overdue: int = 0
    median_response_seconds: float | None = None
    revenue_plan: Decimal | None = None
    plan_currency: str = ""
    deals_plan: Decimal | None = None

    @property
    def plan_revenue(self) -> Decimal:
        """This month's revenue won in the plan's currency."""
        return self.revenue.get(self.plan_currency, Decimal(0))

    @property
    def revenue_done(self) -> float | None:
        """The share of the revenue plan done (``None`` without a plan)."""
        if not self.revenue_plan:
            return None
        return float(self.plan_revenue / self.revenue_plan)

    @property
    def deals_done(self) -> float | None:
        """The share of the deals-won plan done (``None`` without a plan)."""
        return float(self.won_count / self.deals_plan) if self.deals_plan else None

    def add(self, other: ManagerFigures) -> None:
        self.won_count += other.won_count
        self.open_count += other.open_count
        for mine, theirs in ((self.revenue, other.revenue), (self.open_amount, other.open_amount)):
            for currency, amount in theirs.items():
                mine[currency] = mine.get(currency, Decimal(0)) + amount
        self.leads_waiting += other.leads_waiting
        if other.waiting_since and (
            self.waiting_since is None or other.waiting_since < self.waiting_since
        ):
            self.waiting_since = other.waiting_since
        self.tasks_today += other.tasks_today
        self.tasks_overdue += other.tasks_overdue


@dataclass
class StageFigures:
    """Open deals in one stage: how many and their sums per currency."""

    stage_id: int
    stage: str
    pipeline: str
    count: int = 0
    amount: Money = field(default_factory=dict)


@dataclass
class Dashboard:
    period: Period
    now: dt.datetime
    rows: list[ManagerFigures]
    total: ManagerFigures
    stages: list[StageFigures]
    is_team: bool

    @property
    def oldest_wait(self) -> dt.timedelta | None:
        since = self.total.waiting_since
        return self.now - since if since else None


def dashboard_people(viewer: User) -> list[User]:
    """Whose rows a viewer's dashboard shows: their own for a manager, the active managers
    and heads of their scope for a head of sales, every active one for an administrator."""
    if viewer.role == Role.MANAGER:
        return [viewer]
    people = User.objects.filter(is_active=True, role__in=[Role.MANAGER, Role.HEAD])
    if viewer.role != Role.ADMIN:
        people = people.filter(pk__in=sorted(viewer.scope_owner_ids))
    return list(people.order_by("last_name", "first_name", "username"))


def _add_money(money: Money, currency: str, amount: Decimal | None) -> None:
    money[currency] = money.get(currency, Decimal(0)) + (amount or Decimal(0))


def _money(rows: Any, key: str, into: dict[int, ManagerFigures], target: str) -> None:
    for row in rows:
        figures = into[row["owner_id"]]
        _add_money(getattr(figures, target), row["currency"], row["amount"])
        setattr(figures, key, getattr(figures, key) + row["count"])


def _done_key(done: float | None) -> float:
    return -1.0 if done is None else done


def _plans(figures: dict[int, ManagerFigures], month: dt.date) -> None:
    """Each row's plans in force this month: revenue won (in the first currency planned)
    and deals won."""
    from crm.analytics.selectors.plans import plans_in_force

    for (_kind, owner, metric, currency), plan in sorted(
        plans_in_force(month, managers=list(figures)).items()
    ):
        row = figures[owner]
        if metric == "revenue_won" and row.revenue_plan is None:
            row.revenue_plan, row.plan_currency = plan.target, currency
        elif metric == "deals_won":
            row.deals_plan = plan.target


def clock() -> dt.datetime:
    """The current moment (a seam for tests of the pages, which cannot pass ``now``)."""
    return timezone.now()


def dashboard_for(*, viewer: User, now: dt.datetime | None = None) -> Dashboard:
    """The viewer's dashboard for the current month in their time zone.

    Every count reads through the domain scopes (``Deal.objects.visible_to``, the lead and
    task policies) and is limited to the rows' owners, so the total is the sum of the rows.
    A constant number of queries, whatever the number of managers and records.
    """
    now = now or clock()
    zone = user_time_zone(viewer)
    local_today = now.astimezone(zone).date()
    period = unit_period("month", local_today, zone)
    people = dashboard_people(viewer)
    ids = sorted(person.pk for person in people)
    figures = {person.pk: ManagerFigures(person) for person in people}

    deals = Deal.objects.visible_to_resolved(viewer).filter(owner_id__in=ids).order_by()
    won = deals.filter(
        status=DealStatus.WON, closed_at__gte=period.start_at, closed_at__lt=period.end_at
    )
    money = {"count": Count("*"), "amount": Sum("amount")}
    _money(won.values("owner_id", "currency").annotate(**money), "won_count", figures, "revenue")
    # Open deals grouped once by owner, stage and currency: the rows' and the stages'
    # figures both add up these few groups (no join, one scan).
    opened = deals.filter(status=DealStatus.OPEN)
    stages: dict[int, StageFigures] = {}
    groups = list(
        opened.values("owner_id", "stage_id", "currency").annotate(
            count=Count("id"), amount=Sum("amount")
        )
    )
    _money(groups, "open_count", figures, "open_amount")
    names = Stage.objects.filter(pk__in={group["stage_id"] for group in groups}).select_related(
        "pipeline"
    )
    for stage_row in names.order_by("pipeline__position", "pipeline_id", "position", "id"):
        stages[stage_row.pk] = StageFigures(stage_row.pk, stage_row.name, stage_row.pipeline.name)
    for group in groups:
        stage = stages[group["stage_id"]]
        stage.count += group["count"]
        _add_money(stage.amount, group["currency"], group["amount"])

    leads = Lead.objects.visible_to_resolved(viewer).filter(owner_id__in=ids).order_by()
    waiting = leads.filter(status__in=OPEN_STATUSES, responded_at__isnull=True)
    for lead_row in waiting.values("owner_id").annotate(
        count=Count("id"), since=Min(Coalesce("assigned_at", "created_at"))
    ):
        figures[lead_row["owner_id"]].leads_waiting = lead_row["count"]
        figures[lead_row["owner_id"]].waiting_since = lead_row["since"]

    day_start = dt.datetime.combine(local_today, dt.time.min, zone)
    tasks = tasks_visible_to_resolved(viewer).filter(owner_id__in=ids).order_by()
    for task_row in tasks.values("owner_id").annotate(
        today=Count(
            "id",
            filter=Q(
                status=TaskStatus.OPEN,
                due_at__gte=day_start,
                due_at__lt=day_start + dt.timedelta(days=1),
            ),
        ),
        overdue=Count("id", filter=overdue_filter(now)),
    ):
        figures[task_row["owner_id"]].tasks_today = task_row["today"]
        figures[task_row["owner_id"]].tasks_overdue = task_row["overdue"]

    answered = leads.filter(
        responded_at__gte=period.start_at, responded_at__lt=period.end_at
    ).annotate(wait=seconds_between(Coalesce("assigned_at", "created_at"), "responded_at"))
    for owner_id, values in percentiles(
        answered, value="wait", fractions=(0.5,), group="owner_id"
    ).items():
        figures[int(str(owner_id))].median_response_seconds = values[0.5]
    overall = percentiles(answered, value="wait", fractions=(0.5,)).get(None)

    _plans(figures, period.start)

    total = ManagerFigures(None)
    for person_figures in figures.values():
        total.add(person_figures)
    total.median_response_seconds = overall[0.5] if overall else None
    rows = sorted(
        figures.values(),
        key=lambda row: (-_done_key(row.revenue_done), -row.won_count, str(row.user)),
    )
    return Dashboard(
        period=period,
        now=now,
        rows=rows,
        total=total,
        stages=list(stages.values()),
        is_team=viewer.role != Role.MANAGER,
    )
