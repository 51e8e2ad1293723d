"""Several workers at once: one arrival makes one lead, and the round robin hands out
consecutive users, never the same "next" user twice. Real threads, each with its own
database connection, in a transactional test so their commits are real."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection

from conftest import run_together
from crm.accounts.models import Team
from crm.leads.models import Inbound, Lead, RoutingRule
from crm.leads.services import intake
from crm.sales.models import Pipeline, Stage

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # The SQLite test database lives in memory in shared-cache mode, where a second writer
    # fails at once ("table is locked") instead of waiting as it does on the WAL file the
    # product uses; concurrent writers are exercised on PostgreSQL (CI runs both).
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a server database"),
]

WORKERS = 4


@pytest.fixture
def routed(org):
    """The pipeline and the only routing rule: a transactional test starts from the migrated
    rows when it is the first of its database (the default rules of leads/0002) and from
    empty tables after another one, so the defaults are removed either way."""
    RoutingRule.objects.all().delete()
    pipeline = Pipeline.objects.create(name="Розница", client_types=["private"])
    Stage.objects.create(pipeline=pipeline, name="Новая", position=0)
    RoutingRule.objects.create(
        name="Все",
        is_default=True,
        pipeline=pipeline,
        team=Team.objects.get(name="Москва"),
        strategy="round_robin",
    )
    return org


def test_one_arrival_processed_by_several_workers_makes_one_lead(routed):
    inbound, _ = intake.inbound_store(
        channel="api", payload={"phone": "+79123456789"}, process=False
    )
    run_together(intake.inbound_process, [(inbound.pk,)] * WORKERS)
    assert Lead.objects.count() == 1
    assert Inbound.objects.get().status == "processed"


def test_round_robin_under_concurrent_assignment_gives_each_user_a_fair_share(routed):
    org = routed
    rows = [
        intake.inbound_store(
            channel="api",
            payload={"phone": f"+7912000{index:04d}", "client_type": "private"},
            process=False,
        )[0]
        for index in range(WORKERS * 3)
    ]

    def process(batch):
        for inbound_id in batch:
            intake.inbound_process(inbound_id)

    batches = [[row.pk for row in rows[worker::WORKERS]] for worker in range(WORKERS)]
    run_together(process, [(batch,) for batch in batches])
    owners = Counter(Lead.objects.values_list("owner_id", flat=True))
    members = {org.head.pk, org.manager.pk, org.colleague.pk}  # the viewer is read-only
    assert Lead.objects.count() == WORKERS * 3
    assert set(owners) == members
    assert sorted(owners.values()) == [4, 4, 4]


def test_batches_of_concurrent_workers_process_each_arrival_once(routed):
    """Every job of twelve arrivals at once, four workers: the batches take different rows
    (SKIP LOCKED), so each arrival makes one lead and the round robin stays fair."""
    org = routed
    rows = [
        intake.inbound_store(
            channel="api",
            payload={"phone": f"+7912000{index:04d}", "client_type": "private"},
            process=False,
        )[0]
        for index in range(WORKERS * 3)
    ]

    def jobs(batch):
        for inbound_id in batch:
            intake.inbound_process_batch(first_id=inbound_id, size=4)

    batches = [[row.pk for row in rows[worker::WORKERS]] for worker in range(WORKERS)]
    run_together(jobs, [(batch,) for batch in batches])
    statuses = Counter(Inbound.objects.values_list("status", flat=True))
    assert statuses == {"processed": WORKERS * 3}
    assert Lead.objects.count() == WORKERS * 3
    assert Inbound.objects.values("lead").distinct().count() == WORKERS * 3
    owners = Counter(Lead.objects.values_list("owner_id", flat=True))
    assert set(owners) == {org.head.pk, org.manager.pk, org.colleague.pk}
    assert sorted(owners.values()) == [4, 4, 4]


def test_a_clients_arrivals_taken_by_two_workers_at_once_make_one_lead_in_order(routed):
    """Each client writes twice, and the two requests land in two workers' batches at once:
    the later one waits for the earlier (a batch leaves out an arrival whose client has an
    earlier one still pending), so the client gets one lead and its arrivals are handled in
    the order they came."""
    clients = 6
    rows = [
        intake.inbound_store(
            channel="api",
            payload={"phone": f"+7912100{client:04d}", "message": f"{turn}", "name": "Пётр"},
            process=False,
        )[0]
        for turn in range(2)
        for client in range(clients)
    ]

    def jobs(batch):
        for inbound_id in batch:
            intake.inbound_process_batch(first_id=inbound_id, size=2)

    # Worker one starts with the first requests, worker two with the second ones.
    halves = [[row.pk for row in rows[:clients]], [row.pk for row in rows[clients:]]]
    for _round in range(3):  # the rows left waiting are taken by later jobs
        run_together(jobs, [(half,) for half in halves])
    assert Counter(Inbound.objects.values_list("status", flat=True)) == {"processed": 2 * clients}
    assert Lead.objects.count() == clients
    for lead in Lead.objects.all():
        arrivals = list(lead.inbounds.order_by("processed_at", "id"))
        assert [arrival.payload["message"] for arrival in arrivals] == ["0", "1"], lead.phone
