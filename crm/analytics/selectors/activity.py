"""The managers' activity and KPI report: per manager and period, the calls they made and
took (logged by hand and from telephony; outgoing, incoming, missed; total talk time), the
meetings, e-mails and notes they recorded, their tasks completed on time or late in the
period and overdue now, the leads given to them in the period and answered in time, their
deals won and the revenue per currency (never added across currencies).

Visibility: a timeline entry counts only when the viewer may see the record it hangs on
(each record kind's policy, through the registry), tasks, leads and deals through their
own policies; the rows are the managers the viewer may report on (``managers_for``),
narrowed by the team or manager filter. So a manager never counts a colleague's private
records, and a figure never includes a record its reader may not open. The source filter
limits leads (their channel) and deals (their source); pipeline and client type limit the
deals only. Every figure is one SQL ``GROUP BY`` per table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, F, Model, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from crm.accounts.models import User
from crm.activities.choices import CallDirection, EntryKind
from crm.activities.models import TimelineEntry
from crm.analytics.filters import ReportFilters, managers_for
from crm.analytics.periods import Period
from crm.analytics.selectors import dashboard
from crm.core.permissions import Role
from crm.core.records import registry
from crm.leads.models import Lead
from crm.planner.choices import TaskStatus
from crm.planner.selectors import overdue_filter, tasks_visible_to_resolved
from crm.sales.choices import DealStatus
from crm.sales.models import Deal

Money = dict[str, Decimal]
Scopes = dict[type[Model], QuerySet[Any]]
"""Per model, the rows a viewer may see (``record_scopes``)."""


@dataclass
class ActivityRow:
    """One manager's figures (with ``user`` None: the sum of the rows)."""

    user: User | None
    calls_out: int = 0
    calls_in: int = 0
    calls_missed: int = 0
    calls_logged: int = 0
    calls_telephony: int = 0
    talk_seconds: int = 0
    meetings: int = 0
    emails: int = 0
    notes: int = 0
    tasks_on_time: int = 0
    tasks_late: int = 0
    tasks_overdue: int = 0
    leads_taken: int = 0
    leads_in_time: int = 0
    won_count: int = 0
    revenue: Money = field(default_factory=dict)

    COUNTS = (
        "calls_out",
        "calls_in",
        "calls_missed",
        "calls_logged",
        "calls_telephony",
        "talk_seconds",
        "meetings",
        "emails",
        "notes",
        "tasks_on_time",
        "tasks_late",
        "tasks_overdue",
        "leads_taken",
        "leads_in_time",
        "won_count",
    )

    @property
    def calls(self) -> int:
        return self.calls_out + self.calls_in + self.calls_missed

    @property
    def label(self) -> str:
        return str(self.user) if self.user is not None else ""

    def add(self, other: ActivityRow) -> None:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for currency, amount in other.revenue.items():
            self.revenue[currency] = self.revenue.get(currency, Decimal(0)) + amount


@dataclass
class ActivityReport:
    period: Period
    now: dt.datetime
    rows: list[ActivityRow]
    total: ActivityRow


def activity_people(viewer: User, filters: ReportFilters) -> list[User]:
    """Whose rows the report shows: the active managers and heads the viewer may report on
    (only themselves for a manager), narrowed by the team or manager filter."""
    people = managers_for(viewer).filter(is_active=True)
    if viewer.role == Role.MANAGER:
        people = people.filter(pk=viewer.pk)
    else:
        people = people.filter(role__in=[Role.MANAGER, Role.HEAD])
    owners = filters.owner_ids(viewer)
    if owners is not None:
        people = people.filter(pk__in=sorted(owners))
    return list(people)


IS_CALL = Q(kind=EntryKind.CALL)
CALL_MADE = IS_CALL & Q(direction=CallDirection.OUTGOING)
"""An outgoing call, logged by hand or from telephony: the "calls made" of the report and
of the plans (``metrics.calls_made``)."""


def record_scopes(viewer: User) -> Scopes:
    """The records ``viewer`` may see, per record kind with a timeline: each scope read once
    (``visible_to_resolved``: the shared ids as values, so the owner-leading indexes serve)
    and reused by every query of a report."""
    return {kind.model: kind.visible_to_resolved(viewer) for kind in registry.with_timeline()}


def authored_entries(
    viewer: User,
    ids: Collection[int],
    period: Period,
    scopes: Scopes | None = None,
) -> list[QuerySet[TimelineEntry]]:
    """The timeline entries the users ``ids`` authored in ``period`` on records the viewer
    may see, unordered (to group by ``author_id``): one query per record kind with a
    timeline, each keeping the entries on that kind's records the viewer sees (a plain
    semi-join on ``scopes``, the report's ``record_scopes``, read here when not given). One
    query with the kinds ``OR``-ed made PostgreSQL test each entry against a list of every
    visible deal, scanned linearly: over 15 minutes at 1,000,000 deals (bench/RESULTS.md)."""
    scopes = scopes if scopes is not None else record_scopes(viewer)
    return [
        TimelineEntry.objects.filter(
            subject_type=ContentType.objects.get_for_model(model),
            subject_id__in=records.values("pk"),
            author_id__in=sorted(ids),
            occurred_at__gte=period.start_at,
            occurred_at__lt=period.end_at,
        ).order_by()
        for model, records in scopes.items()
    ]


def _entries(
    viewer: User,
    ids: list[int],
    period: Period,
    scopes: Scopes,
    rows: dict[int, ActivityRow],
) -> None:
    """The period's timeline entries by ``ids``, counted per author (``authored_entries``:
    a query per record kind, summed)."""
    is_call = IS_CALL
    telephony = is_call & Q(data__has_key="call_id")
    for entries in authored_entries(viewer, ids, period, scopes):
        for row in entries.values("author_id").annotate(
            calls_out=Count("pk", filter=CALL_MADE),
            calls_in=Count("pk", filter=is_call & Q(direction=CallDirection.INCOMING)),
            calls_missed=Count("pk", filter=is_call & Q(direction=CallDirection.MISSED)),
            calls_telephony=Count("pk", filter=telephony),
            calls_logged=Count("pk", filter=is_call & ~Q(data__has_key="call_id")),
            talk=Sum("duration_seconds", filter=is_call),
            meetings=Count("pk", filter=Q(kind=EntryKind.MEETING)),
            emails=Count("pk", filter=Q(kind=EntryKind.EMAIL)),
            notes=Count("pk", filter=Q(kind=EntryKind.NOTE)),
        ):
            target = rows[row["author_id"]]
            for name in (
                "calls_out",
                "calls_in",
                "calls_missed",
                "calls_telephony",
                "calls_logged",
                "meetings",
                "emails",
                "notes",
            ):
                setattr(target, name, getattr(target, name) + row[name])
            target.talk_seconds += row["talk"] or 0


def _tasks(
    viewer: User, ids: list[int], period: Period, now: dt.datetime, rows: dict[int, ActivityRow]
) -> None:
    done = Q(
        status=TaskStatus.DONE,
        completed_at__gte=period.start_at,
        completed_at__lt=period.end_at,
    )
    late = done & Q(due_at__isnull=False, completed_at__gt=F("due_at"))
    for row in (
        tasks_visible_to_resolved(viewer)
        .filter(owner_id__in=ids)
        .order_by()
        .values("owner_id")
        .annotate(
            done=Count("pk", filter=done),
            late=Count("pk", filter=late),
            overdue=Count("pk", filter=overdue_filter(now)),
        )
    ):
        target = rows[row["owner_id"]]
        target.tasks_on_time = row["done"] - row["late"]
        target.tasks_late = row["late"]
        target.tasks_overdue = row["overdue"]


def _scope(viewer: User, scopes: Scopes, model: Any) -> QuerySet[Any]:
    """``model``'s rows ``viewer`` may see: the report's scope when it holds the model."""
    if model in scopes:
        return scopes[model]
    scope: QuerySet[Any] = model.objects.visible_to_resolved(viewer)
    return scope


def _leads(
    viewer: User, ids: list[int], period: Period, filters: ReportFilters, scopes: Scopes, rows: Any
) -> None:
    leads = _scope(viewer, scopes, Lead).filter(
        owner_id__in=ids, assigned_at__gte=period.start_at, assigned_at__lt=period.end_at
    )
    if filters.source:
        leads = leads.filter(channel=filters.source)
    in_time = Q(respond_by__isnull=False, responded_at__lte=F("respond_by"))
    for row in (
        leads.order_by()
        .values("owner_id")
        .annotate(taken=Count("pk"), in_time=Count("pk", filter=in_time))
    ):
        rows[row["owner_id"]].leads_taken = row["taken"]
        rows[row["owner_id"]].leads_in_time = row["in_time"]


def _deals(
    viewer: User, ids: list[int], period: Period, filters: ReportFilters, scopes: Scopes, rows: Any
) -> None:
    deals = filters.deals(viewer, _scope(viewer, scopes, Deal)).filter(
        owner_id__in=ids,
        status=DealStatus.WON,
        closed_at__gte=period.start_at,
        closed_at__lt=period.end_at,
    )
    for row in (
        deals.order_by()
        .values("owner_id", "currency")
        .annotate(count=Count("*"), amount=Sum("amount"))
    ):
        target = rows[row["owner_id"]]
        target.won_count += row["count"]
        target.revenue[row["currency"]] = target.revenue.get(row["currency"], Decimal(0)) + (
            row["amount"] or Decimal(0)
        )


def activity_report(
    *, viewer: User, period: Period, filters: ReportFilters, now: dt.datetime | None = None
) -> ActivityReport:
    """The activity and KPI report of ``period`` for ``viewer`` (see the module's
    docstring): one row per manager, sorted by deals won then name, and their sum. "Overdue
    now" is counted at ``now``; the rest within the period. A fixed number of queries."""
    now = now or dashboard.clock()
    people = activity_people(viewer, filters)
    ids = sorted(person.pk for person in people)
    rows = {person.pk: ActivityRow(person) for person in people}
    if ids:
        scopes = record_scopes(viewer)
        _entries(viewer, ids, period, scopes, rows)
        _tasks(viewer, ids, period, now, rows)
        _leads(viewer, ids, period, filters, scopes, rows)
        _deals(viewer, ids, period, filters, scopes, rows)
    total = ActivityRow(None)
    for row in rows.values():
        total.add(row)
    ordered = sorted(rows.values(), key=lambda row: (-row.won_count, -row.calls, row.label))
    return ActivityReport(period=period, now=now, rows=ordered, total=total)


def activity_chart(report: ActivityReport) -> dict[str, Any]:
    """The figures of the page's chart: per manager, calls by direction, meetings and
    e-mails (stacked bars of one kind of work each)."""
    figures = [
        (_("Outgoing calls"), "calls", "calls_out"),
        (_("Incoming calls"), "calls", "calls_in"),
        (_("Missed calls"), "calls", "calls_missed"),
        (_("Meetings"), "meetings", "meetings"),
        (_("E-mails"), "emails", "emails"),
        (_("Tasks done"), "tasks", "tasks_on_time"),
        (_("Tasks done late"), "tasks", "tasks_late"),
    ]
    return {
        "labels": [row.label for row in report.rows],
        "series": [
            {"name": name, "stack": stack, "values": [getattr(row, key) for row in report.rows]}
            for name, stack, key in figures
        ],
    }
