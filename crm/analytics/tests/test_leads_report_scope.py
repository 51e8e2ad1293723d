"""The leads report's scope read in parts and its figures against a count done here from
``Lead.objects.visible_to`` and ``Deal.objects.visible_to``: unassigned leads of a head's
team and of another, leads shared with a manager, a colleague covered while away, a deal
reassigned to an outsider, a deal shared, a deal reopened, a deal whose first lead is
outside the period or out of sight, and leads at the edges of a period in Vladivostok (not
the site's zone). The roll-up of one ``GROUP BY`` and the medians (on PostgreSQL one query
under ``GROUPING SETS`` over the parts) must give exactly these figures."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from crm.accounts.models import User
from crm.analytics.filters import ReportFilters
from crm.analytics.periods import Period, unit_period
from crm.analytics.selectors.leads import LeadRow, leads_report, visible_leads
from crm.analytics.tests.test_dashboard import won
from crm.leads.choices import Channel
from crm.leads.models import Lead, WebForm
from crm.planner.tests.factories import make_absence
from crm.sales.models import Deal

pytestmark = pytest.mark.django_db

UTC = dt.UTC
ZONE = ZoneInfo("Asia/Vladivostok")
DECEMBER = unit_period("month", dt.date(2026, 12, 7), ZONE)


def lead(owner: User | None, at: dt.datetime, channel: str = "web_form", **fields: Any) -> Lead:
    """A lead that arrived ``at`` (assigned then, unless ``assigned_at`` is given)."""
    wait = fields.pop("wait", None)
    assigned_at = fields.pop("assigned_at", at)
    row = Lead.objects.create(
        title="Заявка",
        channel=channel,
        owner=owner,
        responded_at=at + dt.timedelta(minutes=wait) if wait is not None else None,
        **fields,
    )
    Lead.objects.filter(pk=row.pk).update(created_at=at, assigned_at=assigned_at)
    return row


@pytest.fixture
def scene(org):
    """Leads of everyone in December in Vladivostok and around its edges, with deals."""
    form = WebForm.objects.create(key="price", name="Прайс")
    start, end = DECEMBER.start_at, DECEMBER.end_at
    team = org.manager.teams.first()
    other_team = org.outsider.teams.first()
    december_20 = dt.datetime(2026, 12, 20, tzinfo=UTC)
    mine = won(org.manager, "1000", december_20)
    dollars = won(org.colleague, "70", december_20, "USD")
    reassigned = won(org.outsider, "5000", december_20)  # the manager's lead, now not his
    shared_deal = won(org.outsider, "300", december_20)
    shared_deal.shared_with.add(org.manager)
    reopened = won(org.manager, "900", december_20)
    Deal.objects.filter(pk=reopened.pk).update(status="open", closed_at=None)
    early = won(org.manager, "400", december_20)  # its first lead came in November
    hidden_first = won(org.manager, "800", december_20)  # its first lead is the outsider's
    # the edges: the first moment of December in Vladivostok, the last, the next month's
    lead(org.manager, start, form=form, wait=10, respond_by=start, deal=mine)
    lead(org.manager, start + dt.timedelta(hours=2), kind="repeat", wait=30, deal=mine)
    lead(org.manager, end - dt.timedelta(microseconds=1), "phone", wait=5, deal=reassigned)
    lead(org.manager, end, "phone", wait=1)
    lead(org.manager, start - dt.timedelta(seconds=1), deal=early, wait=7)
    lead(org.manager, start + dt.timedelta(days=1), deal=early, wait=8, kind="repeat")
    lead(org.manager, start + dt.timedelta(days=2), "email", deal=shared_deal, wait=60)
    lead(org.manager, start + dt.timedelta(days=3), "email", deal=reopened, form=form)
    lead(org.outsider, start + dt.timedelta(days=4), deal=hidden_first, wait=3)
    lead(org.manager, start + dt.timedelta(days=5), deal=hidden_first, wait=4)
    later = start + dt.timedelta(days=6)
    lead(org.colleague, later, "phone", deal=dollars, wait=12, respond_by=later, kind="partner")
    lead(org.colleague, start + dt.timedelta(days=7), wait=2, assigned_at=None, kind="spam")
    deadline = start + dt.timedelta(days=8, hours=1)
    lead(org.head, start + dt.timedelta(days=8), form=form, wait=20, respond_by=deadline)
    lead(None, start + dt.timedelta(days=9), "phone", team=team, wait=15)
    lead(None, start + dt.timedelta(days=9), "phone", team=other_team)
    lead(org.outsider, start + dt.timedelta(days=10), "email", wait=25)
    lead(org.outsider, start + dt.timedelta(days=11), "email").shared_with.add(org.manager)
    covered = lead(org.colleague, start + dt.timedelta(days=12), wait=9)
    covered.shared_with.add(org.manager)  # shared, and seen as covered while away
    make_absence(org.colleague, substitute=org.manager, starts_on=timezone.localdate())
    return org


def expected_rows(viewer: User, period: Period, **limits: Any) -> dict[str, dict[Any, LeadRow]]:
    """The report's figures counted here, lead by lead, from the scopes' querysets."""
    visible = Lead.objects.visible_to(viewer).filter(
        created_at__gte=period.start_at, created_at__lt=period.end_at, **limits
    )
    won_deals = set(
        Deal.objects.visible_to(viewer).filter(status="won").values_list("pk", flat=True)
    )
    first_of_deal = {}
    for row in Lead.objects.exclude(deal=None).order_by("created_at", "pk"):
        first_of_deal.setdefault(row.deal_id, row.pk)
    groups: dict[str, dict[Any, LeadRow]] = defaultdict(dict)
    waits: dict[tuple[str, Any], list[float]] = defaultdict(list)
    for row in visible.select_related("deal"):
        keys = {"total": None, "channel": row.channel, "kind": row.kind, "owner": row.owner_id}
        if row.form_id is not None:
            keys["form"] = row.form_id
        for name, key in keys.items():
            target = groups[name].setdefault(key, LeadRow(key, ""))
            target.leads += 1
            target.kinds[row.kind] = target.kinds.get(row.kind, 0) + 1
            target.converted += row.deal_id is not None
            target.with_deadline += row.respond_by is not None
            target.in_time += bool(
                row.respond_by and row.responded_at and row.responded_at <= row.respond_by
            )
            if row.deal_id in won_deals and first_of_deal[row.deal_id] == row.pk:
                target.won += 1
                currency = row.deal.currency
                target.revenue[currency] = (
                    target.revenue.get(currency, Decimal(0)) + row.deal.amount
                )
            if row.responded_at is not None:
                waits[name, key].append(
                    (row.responded_at - (row.assigned_at or row.created_at)).total_seconds()
                )
    for (name, key), values in waits.items():
        groups[name][key].median_response_seconds = statistics.median(values)
    return groups


def figures(row: LeadRow) -> tuple[Any, ...]:
    median = row.median_response_seconds
    kinds = {kind: count for kind, count in row.kinds.items() if count}
    return (
        row.leads,
        kinds,
        row.converted,
        row.won,
        row.revenue,
        round(median, 1) if median is not None else None,
        row.with_deadline,
        row.in_time,
    )


def test_the_parts_of_the_scope_are_disjoint_and_hold_every_visible_lead(scene):
    for user in User.objects.all():
        parts = [set(part) for part in visible_leads(user).parts]
        assert sum(len(part) for part in parts) == len(set().union(*parts)), user
        assert set().union(*parts) == set(Lead.objects.visible_to(user)), user
    scene.outsider.is_active = False
    scene.outsider.save(update_fields=["is_active"])
    gone = User.objects.get(pk=scene.outsider.pk)
    assert not any(set(part) for part in visible_leads(gone).parts)


@pytest.mark.parametrize(
    ("who", "manager"),
    [
        ("manager", None),
        ("head", None),
        ("admin", None),
        ("outsider", None),
        ("viewer", None),
        ("colleague", None),
        ("head", "colleague"),
        ("manager", "colleague"),
    ],
)
def test_the_figures_are_those_counted_lead_by_lead(scene, who, manager):
    viewer = User.objects.get(username=who)
    chosen = User.objects.get(username=manager) if manager else None
    result = leads_report(viewer=viewer, period=DECEMBER, filters=ReportFilters(manager=chosen))
    limits = {"owner": chosen} if chosen else {}
    expected = expected_rows(viewer, DECEMBER, **limits)
    total = expected["total"].get(None, LeadRow(None, ""))
    assert figures(result.total) == figures(total)
    for name, rows in (
        ("channel", result.by_channel),
        ("form", result.by_form),
        ("kind", result.by_kind),
        ("owner", result.by_manager),
    ):
        assert {row.key: figures(row) for row in rows} == {
            key: figures(row) for key, row in expected[name].items()
        }, name
    before = expected_rows(viewer, DECEMBER.previous(), **limits)["total"].get(
        None, LeadRow(None, "")
    )
    assert figures(result.before) == figures(before)


def test_what_the_manager_is_credited_with(scene):
    # the manager's own deal once, the deal shared with him, the deal of the colleague he
    # covers for; not the reassigned deal, the reopened one, the one whose first lead was
    # in November or is the outsider's
    result = leads_report(
        viewer=User.objects.get(pk=scene.manager.pk), period=DECEMBER, filters=ReportFilters()
    )
    assert result.total.won == 3
    assert result.total.revenue == {"RUB": Decimal("1300"), "USD": Decimal("70")}
    assert {row.key for row in result.by_channel} == {
        Channel.WEB_FORM,
        Channel.PHONE,
        Channel.EMAIL,
    }
    assert (result.before.leads, result.before.won) == (1, 1)  # the early deal, in November


def test_a_head_counts_the_unassigned_lead_of_the_team_they_lead_only(scene):
    result = leads_report(
        viewer=User.objects.get(pk=scene.head.pk), period=DECEMBER, filters=ReportFilters()
    )
    unassigned = {row.key: row for row in result.by_manager}[None]
    assert unassigned.leads == 1 and unassigned.median_response_seconds == 15 * 60
