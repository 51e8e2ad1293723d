"""The plan report of a month: per team and per manager, for each metric with a plan in
force, the plan, the fact, the share done and the forecast to the end of the month at the
current pace; each manager's bonus under their team's rule, with the figures that explain
it.

Plans and rules are read as the versions in force for the month (the latest
``effective_from`` not after it), so a change made later never rewrites a closed month.
Facts are one SQL ``GROUP BY`` owner per metric through the viewer's scopes; a team's fact
is the sum of its members' (within what the viewer may see); money stays per currency.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from django.utils.translation import gettext as _

from crm.accounts.models import Team, TeamMembership, User
from crm.analytics.filters import ReportFilters, managers_for, teams_for
from crm.analytics.metrics import METRICS, Facts, Metric
from crm.analytics.models import BonusRule, Plan
from crm.analytics.periods import Period, unit_period, user_time_zone
from crm.core.permissions import Role

CENT = Decimal("0.01")
Versioned = TypeVar("Versioned", Plan, BonusRule)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class PlanLine:
    """One metric (in one currency) of a row: plan, fact and the forecast."""

    metric: Metric
    currency: str
    target: Decimal | None
    fact: Decimal
    forecast: Decimal | None

    @property
    def done(self) -> float | None:
        """The share of the plan done (``None`` without a plan or with a zero one)."""
        return float(self.fact / self.target) if self.target else None

    @property
    def forecast_done(self) -> float | None:
        if not self.target or self.forecast is None:
            return None
        return float(self.forecast / self.target)


@dataclass
class BonusBreakdown:
    """How a manager's bonus comes out of their team's rule, step by step."""

    rule: BonusRule
    team: Team
    revenue: Decimal
    above: Decimal
    base: Decimal
    plan: Decimal | None
    scale: Decimal
    scaled: Decimal
    capped: bool
    bonus: Decimal


@dataclass
class PlanRow:
    """A manager's row (``user``) or a team's total (``user`` None)."""

    label: str
    user: User | None
    lines: list[PlanLine] = field(default_factory=list)
    bonus: BonusBreakdown | None = None
    bonus_total: dict[str, Decimal] = field(default_factory=dict)

    def line(self, metric: str, currency: str = "") -> PlanLine | None:
        for line in self.lines:
            if line.metric.key == metric and line.currency == currency:
                return line
        return None


@dataclass
class TeamBlock:
    """A team (``team`` None: people of the viewer's scope in none of its teams)."""

    team: Team | None
    total: PlanRow
    members: list[PlanRow]
    rule: BonusRule | None
    columns: list[tuple[Metric, str]]


@dataclass
class PlanReport:
    month: dt.date
    period: Period
    today: dt.date
    elapsed_days: int
    blocks: list[TeamBlock]


def in_force(versions: Iterable[Versioned], key: Any) -> dict[Hashable, Versioned]:
    """Of ``versions`` already limited to those from a month not after the asked one, the
    latest of each target (``key(version)``)."""
    chosen: dict[Hashable, Versioned] = {}
    for version in versions:
        target = key(version)
        if target not in chosen or version.effective_from > chosen[target].effective_from:
            chosen[target] = version
    return chosen


def plans_in_force(
    month: dt.date, *, managers: Collection[int] = (), teams: Collection[int] = ()
) -> dict[tuple[str, int, str, str], Plan]:
    """The plan versions in force in ``month`` of those managers and teams, by (``"user"``
    or ``"team"``, id, metric, currency)."""
    from django.db.models import Q

    rows = Plan.objects.filter(effective_from__lte=month).filter(
        Q(manager_id__in=sorted(managers)) | Q(team_id__in=sorted(teams))
    )

    def key(plan: Plan) -> tuple[str, int, str, str]:
        if plan.manager_id is not None:
            return ("user", plan.manager_id, plan.metric, plan.currency)
        return ("team", int(plan.team_id or 0), plan.metric, plan.currency)

    return in_force(rows, key)  # type: ignore[return-value]


def rules_in_force(month: dt.date, teams: Collection[int]) -> dict[int, BonusRule]:
    """The bonus rule versions in force in ``month`` of those teams, by team id."""
    rows = BonusRule.objects.filter(effective_from__lte=month, team_id__in=sorted(teams))
    return in_force(rows, lambda rule: rule.team_id)  # type: ignore[return-value]


def bonus_for(
    rule: BonusRule, team: Team, revenue: Decimal, plan: Decimal | None
) -> BonusBreakdown:
    """A manager's bonus under ``rule``: ``percent`` of ``revenue`` above the threshold,
    times the share of the revenue ``plan`` done (at most 1; 1 without a plan), at most the
    cap."""
    above = max(revenue - rule.threshold, Decimal(0))
    base = above * rule.percent / 100
    scale = Decimal(1) if not plan else min(revenue / plan, Decimal(1))
    scaled = base * scale
    capped = rule.cap is not None and scaled > rule.cap
    bonus = rule.cap if capped and rule.cap is not None else scaled
    return BonusBreakdown(
        rule=rule,
        team=team,
        revenue=_cents(revenue),
        above=_cents(above),
        base=_cents(base),
        plan=plan,
        scale=scale.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP),
        scaled=_cents(scaled),
        capped=capped,
        bonus=_cents(bonus),
    )


def report_people(viewer: User, filters: ReportFilters) -> list[User]:
    """The managers and heads the report shows: active, in the viewer's scope (everyone
    for an administrator), limited by the manager or team filter."""
    people = managers_for(viewer).filter(is_active=True, role__in=[Role.MANAGER, Role.HEAD])
    owners = filters.owner_ids(viewer)
    if owners is not None:
        people = people.filter(pk__in=sorted(owners))
    return list(people)


def _forecast(fact: Decimal, today: dt.date, period: Period) -> Decimal | None:
    if today > period.end:
        return fact
    if today < period.start:
        return None
    elapsed = (today - period.start).days + 1
    return _cents(fact * period.days / elapsed)


def plan_report(
    *,
    viewer: User,
    month: dt.date,
    filters: ReportFilters,
    today: dt.date | None = None,
    through: dt.date | None = None,
) -> PlanReport:
    """The plan report of ``month`` for ``viewer`` (see the module's docstring). One query
    per metric for the facts, whatever the number of managers and records. ``through``
    (a day of the month) counts the facts up to that day only and is then ``today``: the
    weekly summary's month to date as of its Sunday."""
    zone = user_time_zone(viewer)
    if today is None:
        from crm.analytics.selectors.dashboard import clock

        today = clock().astimezone(zone).date()
    period = unit_period("month", month, zone)
    counted = period
    if through is not None:
        today = through
        counted = Period(period.start, min(max(through, period.start), period.end), zone)
    people = report_people(viewer, filters)
    by_id = {person.pk: person for person in people}
    teams = list(teams_for(viewer).order_by("name"))
    if filters.team is not None:
        teams = [team for team in teams if team.pk == filters.team.pk]
    team_ids = [team.pk for team in teams]
    memberships: dict[int, list[int]] = {team.pk: [] for team in teams}
    first_team: dict[int, int] = {}
    for membership in TeamMembership.objects.filter(
        team_id__in=team_ids, user_id__in=sorted(by_id)
    ).order_by("team__name", "team_id"):
        memberships[membership.team_id].append(membership.user_id)
    plans = plans_in_force(month, managers=list(by_id), teams=team_ids)
    rules = rules_in_force(month, team_ids)
    for team_id in team_ids:
        for user_id in memberships[team_id]:
            if team_id in rules:
                first_team.setdefault(user_id, team_id)

    wanted = {(key[2], key[3]) for key in plans}
    wanted.update(("revenue_won", version.currency) for version in rules.values())
    facts: dict[str, Facts] = {}
    for metric_key in sorted({metric for metric, _currency in wanted}):
        facts[metric_key] = METRICS[metric_key].aggregate(viewer, filters, counted, list(by_id))

    def row_for(label: str, user: User | None, owners: list[int], key: tuple[str, int]) -> PlanRow:
        row = PlanRow(label, user)
        for metric, currency in columns:
            fact = sum(
                (facts[metric.key].get((owner, currency), Decimal(0)) for owner in owners),
                Decimal(0),
            )
            plan = plans.get((*key, metric.key, currency))
            row.lines.append(
                PlanLine(
                    metric,
                    currency,
                    plan.target if plan else None,
                    fact,
                    _forecast(fact, today, period),
                )
            )
        return row

    blocks: list[TeamBlock] = []
    covered: set[int] = set()
    groups: list[tuple[Team | None, list[int]]] = [(team, memberships[team.pk]) for team in teams]
    if filters.team is None:
        groups.append((None, []))
    for team, member_ids in groups:
        if team is None:
            member_ids = [pk for pk in by_id if pk not in covered]
        covered.update(member_ids)
        if team is None and not member_ids:
            continue
        if team is not None and not member_ids and filters.manager is not None:
            continue
        keys = {
            (metric, currency)
            for (kind, owner, metric, currency) in plans
            if (kind == "team" and team is not None and owner == team.pk)
            or (kind == "user" and owner in member_ids)
        }
        rule = rules.get(team.pk) if team is not None else None
        if rule is not None:
            keys.add(("revenue_won", rule.currency))
        columns = [
            (METRICS[metric], currency)
            for metric in METRICS
            for currency in sorted({c for m, c in keys if m == metric})
        ]
        members = [
            row_for(str(by_id[pk]), by_id[pk], [pk], ("user", pk))
            for pk in sorted(member_ids, key=lambda pk: str(by_id[pk]))
        ]
        label = team.name if team is not None else _("Not in a team")
        total = row_for(label, None, member_ids, ("team", team.pk if team else 0))
        if rule is not None and team is not None:
            for row in members:
                assert row.user is not None
                if first_team.get(row.user.pk) != team.pk:
                    continue
                revenue = row.line("revenue_won", rule.currency)
                assert revenue is not None
                row.bonus = bonus_for(rule, team, revenue.fact, revenue.target)
                total.bonus_total[rule.currency] = (
                    total.bonus_total.get(rule.currency, Decimal(0)) + row.bonus.bonus
                )
        members.sort(key=lambda row: (-(_first_done(row)), row.label))
        blocks.append(TeamBlock(team, total, members, rule, columns))
    elapsed = min(max((today - period.start).days + 1, 0), period.days)
    return PlanReport(month, period, today, elapsed, blocks)


def _first_done(row: PlanRow) -> float:
    for line in row.lines:
        if line.done is not None:
            return line.done
    return -1.0


def plan_chart(report: PlanReport) -> dict[str, Any]:
    """The figures of the page's chart: each manager's share done of their first plan."""
    labels: list[str] = []
    values: list[float] = []
    for block in report.blocks:
        for row in block.members:
            done = _first_done(row)
            if done >= 0:
                labels.append(row.label)
                values.append(round(done * 100, 1))
    return {"labels": labels, "series": [{"name": _("Plan done, %"), "values": values}]}
