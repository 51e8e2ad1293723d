"""The leads and channels report: the leads that arrived in the period (by ``created_at``)
grouped by channel, by web form, by classification and by manager; for each group how many
of each classification, how many became deals, the deals won and their revenue per currency
(money is never added across currencies), the median first-response time (from assignment,
or arrival, to the first answer) and the share answered within the deadline.

Conversion follows the period's cohort: a lead of the period counts as won when its deal is
won, whenever that happened. A deal with several leads is credited once, to its first lead
(by arrival), so the groups' revenue adds up to the total. Every count reads the viewer's
leads (``Lead.objects.visible_to``) and deals (``Deal.objects.visible_to``) through the
report filters (team and manager on the lead's responsible, source on its channel, pipeline
and client type on its own fields). All grouping is SQL ``GROUP BY``.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.analytics.filters import ReportFilters
from crm.analytics.periods import Period
from crm.core.percentiles import percentiles, seconds_between
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


def report_leads(*, viewer: User, period: Period, filters: ReportFilters) -> QuerySet[Lead]:
    """The viewer's leads that arrived in ``period``, limited by ``filters``."""
    owners = filters.owner_ids(viewer)
    limits = {
        "owner_id__in": sorted(owners) if owners is not None else None,
        "pipeline": filters.pipeline,
        "channel": filters.source or None,
        "client_type": filters.client_type or None,
    }
    leads = Lead.objects.visible_to(viewer).filter(
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


def _grouped(
    leads: QuerySet[Lead], viewer: User, group: Any, deadline: Q
) -> dict[Hashable, LeadRow]:
    """The figures of ``leads`` per value of ``group`` (an expression; ``None``: one group)."""
    key = group if group is not None else Value(0)
    rows: dict[Hashable, LeadRow] = {}
    counts = {f"kind_{kind}": Count("pk", filter=Q(kind=kind)) for kind in KINDS}
    counted: Any = leads.values(group_key=key)
    for row in counted.annotate(
        count=Count("pk"),
        converted=Count("pk", filter=Q(deal__isnull=False)),
        with_deadline=Count("pk", filter=Q(respond_by__isnull=False)),
        in_time=Count("pk", filter=deadline),
        **counts,
    ):
        rows[row["group_key"]] = LeadRow(
            row["group_key"],
            "",
            leads=row["count"],
            kinds={kind: row[f"kind_{kind}"] for kind in KINDS},
            converted=row["converted"],
            with_deadline=row["with_deadline"],
            in_time=row["in_time"],
        )
    won_deals = Deal.objects.visible_to(viewer).filter(status=DealStatus.WON).values("pk")
    credited = leads.filter(deal_id__in=won_deals).filter(_first_of_deal())
    money: Any = credited.values("deal__currency", group_key=key)
    for row in money.annotate(count=Count("pk"), amount=Sum("deal__amount")):
        target = rows.setdefault(row["group_key"], LeadRow(row["group_key"], ""))
        target.won += row["count"]
        currency = row["deal__currency"]
        target.revenue[currency] = target.revenue.get(currency, Decimal(0)) + (
            row["amount"] or Decimal(0)
        )
    answered = leads.filter(responded_at__isnull=False).annotate(
        group_key=key,
        wait=seconds_between(Coalesce("assigned_at", "created_at"), "responded_at"),
    )
    medians = percentiles(
        answered, value="wait", fractions=(0.5,), group="group_key" if group is not None else None
    )
    for group_key, values in medians.items():
        target_key = group_key if group is not None else 0
        if target_key in rows:
            rows[target_key].median_response_seconds = values[0.5]
    return rows


def _labelled(rows: dict[Hashable, LeadRow], labels: dict[Any, str]) -> list[LeadRow]:
    for key, row in rows.items():
        row.label = labels.get(key, str(key) if key not in (None, "") else str(_("Not set")))
    return sorted(rows.values(), key=lambda row: (-row.leads, row.label))


def _total(leads: QuerySet[Lead], viewer: User, deadline: Q) -> LeadRow:
    rows = _grouped(leads, viewer, None, deadline)
    total = next(iter(rows.values()), LeadRow(None, ""))
    total.key, total.label = None, str(_("Total"))
    total.kinds = {kind: total.kinds.get(kind, 0) for kind in KINDS}
    return total


def leads_report(*, viewer: User, period: Period, filters: ReportFilters) -> LeadsReport:
    """The leads and channels report of ``period`` for ``viewer`` (see the module's
    docstring); a fixed number of queries whatever the number of leads, forms or managers."""
    leads = report_leads(viewer=viewer, period=period, filters=filters)
    deadline = Q(respond_by__isnull=False, responded_at__lte=F("respond_by"))
    by_channel = _grouped(leads, viewer, F("channel"), deadline)
    by_form = _grouped(leads.filter(form__isnull=False), viewer, F("form_id"), deadline)
    by_kind = _grouped(leads, viewer, F("kind"), deadline)
    by_manager = _grouped(leads, viewer, F("owner_id"), deadline)
    forms = {form.pk: form.name for form in WebForm.objects.filter(pk__in=list(by_form))}
    names: dict[Any, str] = {
        user.pk: str(user) for user in User.objects.filter(pk__in=list(by_manager))
    }
    if None in by_manager:
        names[None] = str(_("Not assigned"))
    before = report_leads(viewer=viewer, period=period.previous(), filters=filters)
    return LeadsReport(
        period=period,
        total=_total(leads, viewer, deadline),
        before=_total(before, viewer, deadline),
        by_channel=_labelled(by_channel, {key: str(label) for key, label in Channel.choices}),
        by_form=_labelled(by_form, forms),
        by_kind=_labelled(by_kind, {key: str(label) for key, label in LeadKind.choices}),
        by_manager=_labelled(by_manager, names),
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
