"""The clients' stored last touch (``last_touch_at``) against its definition: every write
that can move it (timeline entries one by one and in bulk, deal activity, a deal moved to
another client, merges and their undo) leaves it equal to the latest of the creation, the
last timeline entry and the last activity on any of the client's deals, computed here the
way the report did before the column (the oracle)."""

from __future__ import annotations

import datetime as dt
from importlib import import_module
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db.models import Max, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from crm.activities.models import TimelineEntry
from crm.activities.services import timeline_bulk_record, timeline_entry_build, timeline_record
from crm.analytics.filters import ReportFilters
from crm.analytics.selectors.clients import untouched_clients
from crm.customers.models import Company, Contact
from crm.customers.services.merge import company_merge, contact_merge, merge_undo
from crm.customers.services.touch import clients_touch_recompute
from crm.customers.tests.factories import make_company, make_contact
from crm.sales.models import Deal, Pipeline, Stage
from crm.sales.services.deals import deal_create, deal_touch, deal_update

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 1, 10, 9, 0, tzinfo=dt.UTC)


def oracle(model: Any, deal_column: str) -> dict[int, dt.datetime]:
    """The last touch of every ``model`` row as the report computed it before the column."""
    subject = ContentType.objects.get_for_model(model)
    entries = (
        TimelineEntry.objects.filter(subject_type=subject, subject_id=OuterRef("pk"))
        .order_by()
        .values("subject_id")
        .annotate(last=Max("occurred_at"))
        .values("last")
    )
    deals = (
        Deal.objects.filter(**{deal_column: OuterRef("pk")})
        .order_by()
        .values(deal_column)
        .annotate(last=Max("last_activity_at"))
        .values("last")
    )
    touch = Greatest(
        "created_at",
        Coalesce(Subquery(entries), "created_at"),
        Coalesce(Subquery(deals), "created_at"),
    )
    return dict(model.objects.annotate(touch=touch).values_list("pk", "touch"))


def stored(model: Any) -> dict[int, dt.datetime]:
    return dict(model.objects.values_list("pk", "last_touch_at"))


def assert_exact() -> None:
    assert stored(Contact) == oracle(Contact, "contact")
    assert stored(Company) == oracle(Company, "company")


class Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = START
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def day(self, number: int) -> dt.datetime:
        self.now = START + dt.timedelta(days=number)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def touch_of(record: Any) -> dt.datetime:
    return type(record).objects.values_list("last_touch_at", flat=True).get(pk=record.pk)


def test_a_new_client_is_touched_by_its_creation_also_in_bulk(org, clock):
    contact = make_contact(org.manager, first_name="Анна")
    assert touch_of(contact) == START
    Contact.objects.bulk_create(
        [Contact(owner=org.manager, first_name="Борис", created_by=org.manager)]
    )
    assert_exact()


def test_a_timeline_entry_moves_it_forward_never_back(org, clock):
    contact = make_contact(org.manager, first_name="Анна")
    clock.day(5)
    timeline_record(subject=contact, kind="note", body="…")
    assert touch_of(contact) == START + dt.timedelta(days=5)
    timeline_record(subject=contact, kind="note", body="…", occurred_at=START)
    assert touch_of(contact) == START + dt.timedelta(days=5)
    assert_exact()


def test_entries_in_bulk_move_each_subject_to_its_latest(org, clock):
    first = make_contact(org.manager, first_name="Анна")
    second = make_contact(org.manager, first_name="Борис")
    company = make_company(org.manager, legal_name="Альфа")
    clock.day(3)
    entries = [
        timeline_entry_build(subject_model=Contact, subject_id=first.pk, kind="note"),
        timeline_entry_build(subject_model=Company, subject_id=company.pk, kind="note"),
    ]
    clock.day(4)
    entries.append(timeline_entry_build(subject_model=Contact, subject_id=first.pk, kind="note"))
    old = timeline_entry_build(subject_model=Contact, subject_id=second.pk, kind="note")
    old.occurred_at = START - dt.timedelta(days=30)
    timeline_bulk_record(entries=[*entries, old])
    assert touch_of(first) == START + dt.timedelta(days=4)
    assert touch_of(company) == START + dt.timedelta(days=3)
    assert touch_of(second) == START
    assert_exact()


def test_deal_activity_touches_its_contact_and_company(org, clock):
    contact = make_contact(org.manager, first_name="Анна")
    company = make_company(org.manager, legal_name="Альфа")
    clock.day(2)
    deal = deal_create(
        actor=org.manager,
        data={"title": "Кухня", "contact_id": contact.pk, "company_id": company.pk},
    )
    assert touch_of(contact) == touch_of(company) == START + dt.timedelta(days=2)
    clock.day(6)
    deal_touch(deal=deal)
    assert touch_of(contact) == touch_of(company) == START + dt.timedelta(days=6)
    clock.day(7)
    deal_update(actor=org.manager, pk=deal.pk, data={"title": "Кухня и стол"})
    assert touch_of(contact) == START + dt.timedelta(days=7)
    assert_exact()


def test_a_deal_moved_to_another_client_takes_its_activity_along(org, clock):
    leaving = make_contact(org.manager, first_name="Анна")
    joining = make_contact(org.manager, first_name="Борис")
    clock.day(2)
    deal = deal_create(actor=org.manager, data={"title": "Кухня", "contact_id": leaving.pk})
    assert touch_of(leaving) == START + dt.timedelta(days=2)
    clock.day(9)
    deal_update(actor=org.manager, pk=deal.pk, data={"contact_id": joining.pk})
    assert touch_of(leaving) == START  # only its creation is left
    assert touch_of(joining) == START + dt.timedelta(days=9)
    assert_exact()


def test_merge_and_undo_keep_both_exact(org, clock):
    survivor = make_contact(org.manager, first_name="Анна", last_name="Иванова")
    merged = make_contact(org.manager, first_name="Анна", last_name="Иванова")
    big = make_company(org.manager, legal_name="Альфа")
    small = make_company(org.manager, legal_name="Альфа 2")
    clock.day(3)
    deal_create(actor=org.manager, data={"title": "Кухня", "contact_id": merged.pk})
    deal_create(actor=org.manager, data={"title": "Стол", "company_id": small.pk})
    clock.day(4)
    timeline_record(subject=merged, kind="note", body="…")
    clock.day(8)
    merge = contact_merge(actor=org.manager, survivor=survivor, merged=merged, choices={})
    company_merge(actor=org.manager, survivor=big, merged=small, choices={})
    assert touch_of(survivor) == START + dt.timedelta(days=8)
    assert_exact()
    clock.day(10)
    merge_undo(actor=org.manager, merge=merge)
    assert_exact()


def test_the_report_reads_the_column_with_the_old_results(org, clock):
    """Clients touched in every way, some long ago: the report lists exactly those the
    oracle puts before the cut, in the same order."""
    names = ["Анна", "Борис", "Вера", "Глеб", "Дина"]
    contacts = [make_contact(org.manager, first_name=name) for name in names]
    companies = [make_company(org.manager, legal_name=name) for name in names[:3]]
    clock.day(1)
    deal = deal_create(actor=org.manager, data={"title": "Кухня", "contact_id": contacts[0].pk})
    deal_create(actor=org.manager, data={"title": "Стол", "company_id": companies[0].pk})
    clock.day(20)
    timeline_record(subject=contacts[1], kind="note", body="…")
    timeline_record(subject=companies[1], kind="call", body="…", occurred_at=START)
    clock.day(25)
    deal_update(actor=org.manager, pk=deal.pk, data={"contact_id": contacts[2].pk})
    contact_merge(actor=org.manager, survivor=contacts[3], merged=contacts[4], choices={})
    assert_exact()
    cut = START + dt.timedelta(days=22)
    rows = list(untouched_clients(org.manager, ReportFilters(), before=cut))
    expected = sorted(
        [("contact", pk, touch) for pk, touch in oracle(Contact, "contact").items()]
        + [("company", pk, touch) for pk, touch in oracle(Company, "company").items()],
        key=lambda row: (row[2], row[0], row[1]),
    )
    live = {("contact", c.pk) for c in Contact.objects.live()} | {
        ("company", c.pk) for c in Company.objects.live()
    }
    expected = [row for row in expected if row[2] < cut and (row[0], row[1]) in live]
    assert [(row["entity"], row["pk"], row["last_touch"]) for row in rows] == expected
    assert len(expected) >= 3  # the creation alone, an old call, the deal that left


def test_recompute_restores_the_definition(org, clock):
    contact = make_contact(org.manager, first_name="Анна")
    Contact.objects.filter(pk=contact.pk).update(last_touch_at=None)
    clients_touch_recompute(Contact, [contact.pk])
    assert_exact()


def test_the_migration_fills_existing_rows_from_the_definition(org, clock):
    """The data migration's fill (one ``UPDATE`` per table) on rows written past the
    services, their column emptied as before the migration."""
    from django.apps import apps

    fill = import_module("crm.customers.migrations.0012_last_touch").fill
    contact = make_contact(org.manager, first_name="Анна")
    company = make_company(org.manager, legal_name="Альфа")
    Deal.objects.create(
        pipeline=Pipeline.objects.get(name="Розница"),
        stage=Stage.objects.filter(pipeline__name="Розница").order_by("position").first(),
        owner=org.manager,
        title="Кухня",
        company=company,
        stage_entered_at=START,
        last_activity_at=START + dt.timedelta(days=40),
    )
    TimelineEntry.objects.create(
        subject_type=ContentType.objects.get_for_model(Contact),
        subject_id=contact.pk,
        kind="note",
        occurred_at=START + dt.timedelta(days=12),
    )
    Contact.objects.update(last_touch_at=None)
    Company.objects.update(last_touch_at=None)
    fill(apps, None)
    assert touch_of(contact) == START + dt.timedelta(days=12)
    assert touch_of(company) == START + dt.timedelta(days=40)
    assert_exact()
