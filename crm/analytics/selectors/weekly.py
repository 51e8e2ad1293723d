"""The weekly e-mail summary of a head of sales (or of an administrator who asked for it):
for each team they may report on, the month's plan progress, the week's deals won, the
deals stuck now and the slow answers to leads. Every count reads through the recipient's
own scopes (``Deal.objects.visible_to``, ``Lead.objects.visible_to``, the plan report), so
the summary says what their reports say.

Definitions, in the recipient's zone:

- **week**: Monday to Sunday before the Monday the summary is due.
- **plan progress**: the plan report (``plans.plan_report``) of the month holding that
  Sunday, its facts counted up to the Sunday; per manager (and for the team) the metrics
  that have a plan: plan, fact, share done.
- **won**: the team members' deals won (closed) in the week: how many, sums per currency.
- **stuck** (as of the moment the summary is made): open deals past their expected close
  date (before the local today) or in their current stage for more than ``STUCK_DAYS``
  days. Longest stuck first: a deal is stuck since the day after its expected close or
  the day its stay passed ``STUCK_DAYS``, whichever came first.
- **slow answers**, per manager: leads first answered during the week after their
  deadline, and new leads still unanswered past their deadline now (the lead list's
  ``overdue`` filter, which the link opens).

Lists show the first ``TOP`` with the number of the rest. A fixed number of queries
whatever the number of teams, managers, deals and leads.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Q, QuerySet, Sum
from django.urls import reverse

from crm.accounts.models import Team, TeamMembership, User
from crm.analytics.filters import ReportFilters, teams_for
from crm.analytics.links import deals_closed_query
from crm.analytics.periods import Period, unit_period, user_time_zone
from crm.analytics.selectors.plans import PlanRow, plan_report
from crm.leads.choices import LeadStatus
from crm.leads.models import Lead
from crm.notifications.services import absolute_url
from crm.sales.choices import DealStatus
from crm.sales.models import Deal

TOP = 10
STUCK_DAYS = 30

Money = dict[str, Decimal]


@dataclass
class PlanFigure:
    """One metric with a plan: the plan, the fact so far and the share done."""

    label: str
    currency: str
    target: Decimal
    fact: Decimal
    done: float | None


@dataclass
class PlanPerson:
    """A manager's (or the team's) metrics that have a plan."""

    label: str
    figures: list[PlanFigure]


@dataclass
class StuckDeal:
    deal: Deal
    url: str
    days_in_stage: int
    is_overdue: bool
    since: dt.date


@dataclass
class SlowManager:
    """A manager's leads answered late in the week and still waiting past the deadline."""

    user: User
    late: int = 0
    waiting: int = 0
    url: str = ""

    @property
    def total(self) -> int:
        return self.late + self.waiting


@dataclass
class TeamWeek:
    """One team's part of the summary, with the links to the reports behind it."""

    team: Team
    won_count: int = 0
    revenue: Money = field(default_factory=dict)
    won_url: str = ""
    plan_total: PlanPerson | None = None
    plan_people: list[PlanPerson] = field(default_factory=list)
    plan_more: int = 0
    plans_url: str = ""
    stuck: list[StuckDeal] = field(default_factory=list)
    stuck_count: int = 0
    deals_url: str = ""
    slow: list[SlowManager] = field(default_factory=list)
    slow_more: int = 0
    late_count: int = 0
    waiting_count: int = 0
    sales_url: str = ""
    leads_url: str = ""

    @property
    def stuck_more(self) -> int:
        return self.stuck_count - len(self.stuck)


@dataclass
class WeekSummary:
    recipient: User
    week: Period
    month: Period
    through: dt.date
    now: dt.datetime
    teams: list[TeamWeek]
    settings_url: str


def summary_week(now: dt.datetime, zone: ZoneInfo) -> Period:
    """The week a summary made at ``now`` reports on: Monday to Sunday before the local
    Monday of ``now``'s week."""
    today = now.astimezone(zone).date()
    this_monday = today - dt.timedelta(days=today.weekday())
    start = this_monday - dt.timedelta(days=7)
    return Period(start, start + dt.timedelta(days=6), zone, "week", "last_week")


def _link(name: str, query: dict[str, str] | str = "", *args: int) -> str:
    path = reverse(name, args=args or None)
    text = query if isinstance(query, str) else urlencode(query)
    return absolute_url(f"{path}?{text}" if text else path)


def _planned(row: PlanRow) -> PlanPerson | None:
    figures = [
        PlanFigure(str(line.metric.label), line.currency, line.target, line.fact, line.done)
        for line in row.lines
        if line.target is not None
    ]
    return PlanPerson(row.label, figures) if figures else None


def weekly_summary(*, recipient: User, now: dt.datetime) -> WeekSummary:
    """The summary ``recipient`` gets for the week before ``now`` (see the module's
    docstring); ``teams`` is empty when there is no team to report on."""
    zone = user_time_zone(recipient)
    week = summary_week(now, zone)
    month = unit_period("month", week.end, zone)
    today = now.astimezone(zone).date()
    teams = [team for team in teams_for(recipient).order_by("name")]
    members: dict[int, list[User]] = defaultdict(list)
    for membership in (
        TeamMembership.objects.filter(team__in=[team.pk for team in teams])
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
    ):
        members[membership.team_id].append(membership.user)
    teams = [team for team in teams if members[team.pk]]
    owners = sorted({user.pk for team in teams for user in members[team.pk]})
    blocks = {
        block.team.pk: block
        for block in plan_report(
            viewer=recipient, month=month.start, filters=ReportFilters(), through=week.end
        ).blocks
        if block.team is not None
    }
    deals = Deal.objects.visible_to(recipient).filter(owner_id__in=owners).order_by()
    won = deals.filter(
        status=DealStatus.WON, closed_at__gte=week.start_at, closed_at__lt=week.end_at
    )
    won_rows = list(
        won.values("owner_id", "currency").annotate(count=Count("pk"), amount=Sum("amount"))
    )
    stuck_by_owner = _stuck(deals, now=now, today=today, zone=zone)
    slow_by_owner = _slow(recipient, owners, week=week, now=now)

    result: list[TeamWeek] = []
    chosen: list[StuckDeal] = []
    for team in teams:
        ids = {user.pk for user in members[team.pk]}
        part = TeamWeek(team)
        for won_row in won_rows:
            if won_row["owner_id"] in ids:
                currency = won_row["currency"]
                part.won_count += won_row["count"]
                part.revenue[currency] = part.revenue.get(currency, Decimal(0)) + (
                    won_row["amount"] or Decimal(0)
                )
        part.won_url = _link(
            "sales:deal_list", deals_closed_query(week, ReportFilters(team=team), "won")
        )
        block = blocks.get(team.pk)
        if block is not None:
            part.plan_total = _planned(block.total)
            people = [person for row in block.members if (person := _planned(row))]
            part.plan_people, part.plan_more = people[:TOP], max(len(people) - TOP, 0)
        part.plans_url = _link(
            "analytics:plans", {"month": f"{month.start:%Y-%m}", "team": str(team.pk)}
        )
        stuck = sorted(
            (item for owner in ids for item in stuck_by_owner.get(owner, [])),
            key=lambda item: (item[0], item[1]),
        )
        part.stuck_count = len(stuck)
        part.stuck = [StuckDeal(Deal(pk=pk), "", 0, False, since) for since, pk in stuck[:TOP]]
        chosen.extend(part.stuck)
        part.deals_url = _link("sales:deal_list", {"status": DealStatus.OPEN, "team": str(team.pk)})
        slow = [
            SlowManager(user, *slow_by_owner[user.pk])
            for user in members[team.pk]
            if user.pk in slow_by_owner
        ]
        slow.sort(key=lambda manager: (-manager.total, str(manager.user)))
        for manager in slow:
            if manager.waiting:
                query = {"owner": str(manager.user.pk), "overdue": "1"}
                manager.url = _link("leads:lead_list", query)
        part.late_count = sum(manager.late for manager in slow)
        part.waiting_count = sum(manager.waiting for manager in slow)
        part.slow, part.slow_more = slow[:TOP], max(len(slow) - TOP, 0)
        week_query = {
            "period": "custom",
            "date_from": week.start.isoformat(),
            "date_to": week.end.isoformat(),
            "team": str(team.pk),
        }
        part.sales_url = _link("analytics:sales", week_query)
        part.leads_url = _link("analytics:leads", week_query)
        result.append(part)
    _load_stuck(chosen, now=now, today=today)
    return WeekSummary(
        recipient=recipient,
        week=week,
        month=month,
        through=week.end,
        now=now,
        teams=result,
        settings_url=absolute_url(reverse("accounts:time_zone") + "#weekly-summary"),
    )


def _stuck(
    deals: QuerySet[Deal], *, now: dt.datetime, today: dt.date, zone: ZoneInfo
) -> dict[int, list[tuple[dt.date, int]]]:
    """The stuck deals of ``deals`` by owner, each as (stuck since, id): one query of four
    columns, whatever their number."""
    long_ago = now - dt.timedelta(days=STUCK_DAYS)
    rows = deals.filter(
        Q(expected_close__lt=today) | Q(stage_entered_at__lt=long_ago), status=DealStatus.OPEN
    ).values_list("pk", "owner_id", "expected_close", "stage_entered_at")
    found: dict[int, list[tuple[dt.date, int]]] = defaultdict(list)
    for pk, owner_id, expected_close, entered in rows:
        since: list[dt.date] = []
        if expected_close is not None and expected_close < today:
            since.append(expected_close + dt.timedelta(days=1))
        if entered < long_ago:
            since.append((entered + dt.timedelta(days=STUCK_DAYS)).astimezone(zone).date())
        found[owner_id].append((min(since), pk))
    return found


def _load_stuck(items: list[StuckDeal], *, now: dt.datetime, today: dt.date) -> None:
    """Fill the shown stuck deals (one query for every team's)."""
    loaded = Deal.objects.select_related("stage", "owner").in_bulk({item.deal.pk for item in items})
    for item in items:
        deal = loaded[item.deal.pk]
        item.deal = deal
        item.url = _link("sales:deal_detail", "", deal.pk)
        item.days_in_stage = max((now - deal.stage_entered_at).days, 0)
        item.is_overdue = deal.expected_close is not None and deal.expected_close < today


def _slow(
    recipient: User, owners: list[int], *, week: Period, now: dt.datetime
) -> dict[int, tuple[int, int]]:
    """(answered late in the week, waiting past the deadline now) by owner: one query."""
    late = Q(
        responded_at__gte=week.start_at,
        responded_at__lt=week.end_at,
        respond_by__isnull=False,
        responded_at__gt=F("respond_by"),
    )
    waiting = Q(status=LeadStatus.NEW, responded_at__isnull=True, respond_by__lt=now)
    rows = (
        Lead.objects.visible_to(recipient)
        .filter(late | waiting, owner_id__in=owners)
        .order_by()
        .values("owner_id")
        .annotate(late=Count("pk", filter=late), waiting=Count("pk", filter=waiting))
    )
    return {row["owner_id"]: (row["late"], row["waiting"]) for row in rows}
