"""The leads and channels report: the leads that arrived in the period (by ``created_at``)
grouped by channel, by web form, by classification and by manager; for each group how many
of each classification, how many became deals, the deals won and their revenue per currency
(money is never added across currencies), the median first-response time (from assignment,
or arrival, to the first answer) and the share answered within the deadline.

Conversion follows the period's cohort: a lead of the period counts as won when its deal is
won, whenever that happened. A deal with several leads is credited once, to its first lead
(by arrival), so the groups' revenue adds up to the total. Every count reads the viewer's
leads (``Lead.objects.visible_to``, read as disjoint parts: ``visible_leads``) and deals
(``Deal.objects.visible_to_resolved``) through the report filters (team and manager on the
lead's responsible, source on its channel, pipeline and client type on its own fields).
All grouping is SQL: one ``GROUP BY`` of every grouping column per part, added up per
grouping here, and the medians under ``GROUPING SETS`` on PostgreSQL.
"""

from __future__ import annotations

import operator
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce
from typing import Any

from django.db import connections
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.analytics.filters import ReportFilters
from crm.analytics.periods import Period
from crm.core.percentiles import percentiles, seconds_between
from crm.core.sql import compiled
from crm.leads.choices import Channel, LeadKind
from crm.leads.models import Lead, WebForm
from crm.sales.choices import DealStatus
from crm.sales.models import Deal

Money = dict[str, Decimal]
KINDS = tuple(LeadKind.values)


@dataclass
class LeadRow:
    """One group of leads (a channel, a form, a classification, a manager, or the total)."""

    key: Hashable
    label: str
    leads: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    converted: int = 0
    won: int = 0
    revenue: Money = field(default_factory=dict)
    median_response_seconds: float | None = None
    with_deadline: int = 0
    in_time: int = 0

    @property
    def won_share(self) -> float | None:
        """Leads whose deal was won, of all leads (spam included: it is what came in)."""
        return self.won / self.leads if self.leads else None

    @property
    def in_time_share(self) -> float | None:
        """Leads answered by their deadline, of those that had one."""
        return self.in_time / self.with_deadline if self.with_deadline else None


@dataclass
class LeadsReport:
    period: Period
    total: LeadRow
    before: LeadRow
    by_channel: list[LeadRow]
    by_form: list[LeadRow]
    by_kind: list[LeadRow]
    by_manager: list[LeadRow]


GROUPINGS = ("channel", "form_id", "kind", "owner_id")
"""The columns the report groups by, each on its own (a group of ``form_id`` is never empty)."""

Figures = dict[str, dict[Hashable, LeadRow]]


@dataclass(frozen=True)
class VisibleLeads:
    """A viewer's leads as disjoint ``parts`` whose figures add up to the whole's (see
    ``visible_leads``), and ``whole``, their conditions joined by ``OR`` (no query more)."""

    whole: QuerySet[Lead]
    parts: Sequence[QuerySet[Lead]]


def visible_leads(viewer: User) -> VisibleLeads:
    """The viewer's leads, and the same as disjoint querysets that hold them all
    (``Lead.objects.visible_parts``): those of the owners in the viewer's
    scope (the owner rule and whom the viewer covers for), the unassigned ones of the teams
    they head and (when something is shared with the viewer) the shared ones of others.

    Under the scope's ``OR`` of the owner and the unassigned team PostgreSQL can only merge
    bitmaps and visit the table's pages (a year of a head's leads: 28,000 pages, 10x the
    time), while a part is read from the covering ``lead_owner_created_report`` index
    alone. That the parts hold exactly the scope's leads is tested for every role, sharing
    and substitute."""
    parts = Lead.objects.visible_parts(viewer)
    return VisibleLeads(reduce(operator.or_, parts), parts)


def report_leads(
    *,
    viewer: User,
    period: Period,
    filters: ReportFilters,
    visible: QuerySet[Lead] | None = None,
) -> QuerySet[Lead]:
    """The viewer's leads that arrived in ``period``, limited by ``filters``; ``visible``
    (by default ``Lead.objects.visible_to(viewer)``) is the viewer's leads or a part of
    them read already."""
    owners = filters.owner_ids(viewer)
    limits = {
        "owner_id__in": sorted(owners) if owners is not None else None,
        "pipeline": filters.pipeline,
        "channel": filters.source or None,
        "client_type": filters.client_type or None,
    }
    scope = visible if visible is not None else Lead.objects.visible_to(viewer)
    leads = scope.filter(
        created_at__gte=period.start_at,
        created_at__lt=period.end_at,
        **{name: value for name, value in limits.items() if value is not None},
    )
    return leads.order_by()


def _first_of_deal() -> Any:
    earlier = Lead.objects.filter(deal_id=OuterRef("deal_id")).filter(
        Q(created_at__lt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
    )
    return ~Exists(earlier)


def _empty_row(key: Hashable) -> LeadRow:
    return LeadRow(key, "", kinds=dict.fromkeys(KINDS, 0))


def _figures(leads: VisibleLeads, won_deals: QuerySet[Deal]) -> tuple[LeadRow, Figures]:
    """The total of ``leads`` and their figures per value of each of ``GROUPINGS``, but
    the medians: per part, two ``GROUP BY`` over all the groupings' columns at once (the
    counts, and the won deals' count and revenue per currency), whose few thousand rows
    are added up here per grouping; every figure is a sum, so the roll-up is exact."""
    total = _empty_row(None)
    groups: Figures = {name: {} for name in GROUPINGS}

    def targets(row: dict[str, Any]) -> list[LeadRow]:
        found = [total]
        for name in GROUPINGS:
            key = row[name]
            if name == "form_id" and key is None:
                continue
            if key not in groups[name]:
                groups[name][key] = _empty_row(key)
            found.append(groups[name][key])
        return found

    in_time = Q(respond_by__isnull=False, responded_at__lte=F("respond_by"))
    for part in leads.parts:
        counted: Any = part.values(*GROUPINGS).annotate(
            count=Count("pk"),
            converted=Count("pk", filter=Q(deal__isnull=False)),
            with_deadline=Count("pk", filter=Q(respond_by__isnull=False)),
            in_time=Count("pk", filter=in_time),
        )
        for row in counted:
            for target in targets(row):
                target.leads += row["count"]
                if row["kind"] in target.kinds:
                    target.kinds[row["kind"]] += row["count"]
                target.converted += row["converted"]
                target.with_deadline += row["with_deadline"]
                target.in_time += row["in_time"]
    for part in leads.parts:
        credited = part.filter(deal__in=won_deals).filter(_first_of_deal())
        money: Any = credited.values(*GROUPINGS, "deal__currency").annotate(
            count=Count("pk"), amount=Sum("deal__amount")
        )
        for row in money:
            currency, amount = row["deal__currency"], row["amount"] or Decimal(0)
            for target in targets(row):
                target.won += row["count"]
                target.revenue[currency] = target.revenue.get(currency, Decimal(0)) + amount
    return total, groups


Medians = dict[str | None, dict[Hashable, float]]


def _answered(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    return leads.filter(responded_at__isnull=False).annotate(
        wait=seconds_between(Coalesce("assigned_at", "created_at"), "responded_at")
    )


def _median_responses(leads: VisibleLeads, groupings: tuple[str, ...]) -> Medians:
    """The median first-response time of ``leads`` in all (under ``None``, key ``None``)
    and per value of each of ``groupings`` (under its name).

    On PostgreSQL one query: ``percentile_cont`` under ``GROUPING SETS`` over the parts
    read apart and put together by ``UNION ALL`` (each from its index range). Elsewhere a
    query per grouping over the whole."""
    connection = connections[leads.whole.db]
    if connection.vendor != "postgresql":
        medians: Medians = {}
        for name in (None, *groupings):
            answered = _answered(
                leads.whole.filter(form__isnull=False) if name == "form_id" else leads.whole
            )
            found = percentiles(answered, value="wait", fractions=(0.5,), group=name)
            medians[name] = {key: values[0.5] for key, values in found.items()}
        return medians
    selects = [
        compiled(_answered(part).values(*GROUPINGS, number=F("wait"))) for part in leads.parts
    ]
    sqls = [select for select in selects if select is not None]
    medians = {name: {} for name in (None, *groupings)}
    if not sqls:
        return medians
    sets = ", ".join([*(f"({name})" for name in groupings), "()"])
    sql = (
        f"SELECT {''.join(f'GROUPING({name}), {name}, ' for name in groupings)}"  # noqa: S608
        " PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY number)"
        f" FROM ({' UNION ALL '.join(f'({part})' for part, _params in sqls)}) AS answered"
        f" GROUP BY GROUPING SETS ({sets})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for _part, params in sqls for value in params])
        for row in cursor.fetchall():
            grouped = [
                (name, row[2 * index + 1])
                for index, name in enumerate(groupings)
                if not row[2 * index]
            ]
            name, key = grouped[0] if grouped else (None, None)
            if row[-1] is not None:
                medians[name][key] = float(row[-1])
    return medians


def _with_medians(rows: dict[Hashable, LeadRow], medians: dict[Hashable, float]) -> None:
    for key, median in medians.items():
        if key in rows:
            rows[key].median_response_seconds = median


def _labelled(rows: dict[Hashable, LeadRow], labels: dict[Any, str]) -> list[LeadRow]:
    for key, row in rows.items():
        row.label = labels.get(key, str(key) if key not in (None, "") else str(_("Not set")))
    return sorted(rows.values(), key=lambda row: (-row.leads, row.label))


def _in_period(
    visible: VisibleLeads, viewer: User, period: Period, filters: ReportFilters
) -> VisibleLeads:
    return VisibleLeads(
        report_leads(viewer=viewer, period=period, filters=filters, visible=visible.whole),
        [
            report_leads(viewer=viewer, period=period, filters=filters, visible=part)
            for part in visible.parts
        ],
    )


def _total(
    leads: VisibleLeads, won_deals: QuerySet[Deal], groupings: tuple[str, ...]
) -> tuple[LeadRow, Figures]:
    """The figures of ``leads`` in all and per grouping, with the medians of ``groupings``."""
    total, groups = _figures(leads, won_deals)
    total.label = str(_("Total"))
    medians = _median_responses(leads, groupings)
    total.median_response_seconds = medians[None].get(None)
    for name in groupings:
        _with_medians(groups[name], medians[name])
    return total, groups


def leads_report(*, viewer: User, period: Period, filters: ReportFilters) -> LeadsReport:
    """The leads and channels report of ``period`` for ``viewer`` (see the module's
    docstring); a fixed number of queries whatever the number of leads, forms or managers.

    The viewer's scopes of leads and deals are read once, the leads' as disjoint parts
    (``visible_leads``) read from an index range each."""
    visible = visible_leads(viewer)
    won_deals = Deal.objects.visible_to_resolved(viewer).filter(status=DealStatus.WON)
    total, groups = _total(_in_period(visible, viewer, period, filters), won_deals, GROUPINGS)
    forms = {form.pk: form.name for form in WebForm.objects.filter(pk__in=list(groups["form_id"]))}
    names: dict[Any, str] = {
        user.pk: str(user) for user in User.objects.filter(pk__in=list(groups["owner_id"]))
    }
    if None in groups["owner_id"]:
        names[None] = str(_("Not assigned"))
    before, _groups = _total(_in_period(visible, viewer, period.previous(), filters), won_deals, ())
    return LeadsReport(
        period=period,
        total=total,
        before=before,
        by_channel=_labelled(
            groups["channel"], {key: str(label) for key, label in Channel.choices}
        ),
        by_form=_labelled(groups["form_id"], forms),
        by_kind=_labelled(groups["kind"], {key: str(label) for key, label in LeadKind.choices}),
        by_manager=_labelled(groups["owner_id"], names),
    )


def leads_chart(report: LeadsReport) -> dict[str, Any]:
    """The figures of the page's chart: per channel, the leads by classification (stacked)
    and the leads whose deal was won."""
    labels = [row.label for row in report.by_channel]
    series = [
        {
            "name": str(label),
            "stack": "kinds",
            "values": [row.kinds.get(kind, 0) for row in report.by_channel],
        }
        for kind, label in LeadKind.choices
    ]
    series.append(
        {"name": _("Deals won"), "stack": "", "values": [row.won for row in report.by_channel]}
    )
    return {"labels": labels, "series": series}
